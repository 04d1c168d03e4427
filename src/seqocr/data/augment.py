"""Augmentation for small labelled datasets (captchas, scans): training only.

A few hundred images are too few to learn a reader from as they are, so every epoch
shows each image changed a little, in ways real captures differ and that never change
what is written:
- geometric: rotation up to 3 degrees, horizontal shear up to 0.15, scale 0.92-1.08,
  a shift of up to 4% of the size, each with the image's own border colour;
- photometric: brightness and contrast up to 25%, a Gaussian blur (p = 0.25),
  pixel noise (p = 0.3).
Larger rotations or crops are avoided on purpose: they can push a character out of
the frame or make one character look like another (b/d, 6/9 under rotation).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from seqocr.data.transform import flatten_alpha


def augment_image(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A randomly changed copy of `image` (any mode); the label stays true."""
    image = flatten_alpha(image)
    image = image.convert("RGB" if image.mode not in ("L", "RGB") else image.mode)
    image = _geometric(image, rng)
    return _photometric(image, rng)


def _geometric(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    w, h = image.size
    angle = np.deg2rad(rng.uniform(-3.0, 3.0))
    shear = rng.uniform(-0.15, 0.15)
    scale = rng.uniform(0.92, 1.08)
    shift = rng.uniform(-0.04, 0.04, size=2) * (w, h)
    # PIL maps each output pixel back to its source: invert rotation, shear and scale
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    to_source = np.linalg.inv(rotation @ np.array([[1.0, shear], [0.0, 1.0]]) * scale)
    centre = np.array([w / 2, h / 2])
    offset = centre - to_source @ (centre + shift)
    coefficients = (*to_source[0], offset[0], *to_source[1], offset[1])
    return image.transform(
        (w, h), Image.Transform.AFFINE, coefficients, Image.Resampling.BILINEAR, fillcolor=_border_colour(image)
    )


def _border_colour(image: Image.Image) -> int | tuple[int, ...]:
    """The median colour of the outermost pixels: what the background most likely is."""
    pixels = np.asarray(image)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    median = np.median(border, axis=0)
    return int(median) if np.ndim(median) == 0 else tuple(int(v) for v in median)


def _photometric(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    pixels = np.asarray(image, dtype=np.float32)
    mean = pixels.mean()
    pixels = (pixels - mean) * rng.uniform(0.75, 1.25) + mean * rng.uniform(0.75, 1.25)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    if rng.random() < 0.25:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    if rng.random() < 0.3:
        noisy = np.asarray(image, dtype=np.float32)
        noisy = noisy + rng.uniform(2.0, 10.0) * rng.standard_normal(noisy.shape, dtype=np.float32)
        image = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    return image
