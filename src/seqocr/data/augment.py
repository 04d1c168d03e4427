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

`capture` is how a scanner or a phone sees a synthetic page (data/handwriting.py): the
line turned and seen at an angle, uneven light, blur, a low resolution, JPEG artefacts.
"""

from __future__ import annotations

import io

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


def capture(image: Image.Image, rng: np.random.Generator, on: dict[str, bool], text_height: float) -> Image.Image:
    """How a scanner or a phone sees an 8-bit grey page (`on` names the effects drawn;
    data/effects.py gives their ranges): the line turned and seen at an angle, uneven
    light, defocus or motion blur, a low resolution, JPEG artefacts; `text_height` is
    the digits' height in `image`'s pixels."""
    fill = _border_colour(image)
    if on.get("rotate"):
        image = image.rotate(rng.uniform(-4.0, 4.0), Image.Resampling.BILINEAR, expand=True, fillcolor=fill)
    if on.get("perspective"):
        image = _perspective(image, rng, fill)
    if on.get("uneven_light"):
        w, h = image.size
        ramp = linear_ramp(h, w, rng.uniform(0, 2 * np.pi))
        lit = np.asarray(image, dtype=np.float32) * (1.0 - (1.0 - rng.uniform(0.55, 0.9)) * ramp)
        image = Image.fromarray(lit.astype(np.uint8))
    if on.get("defocus"):
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5)))
    if on.get("motion_blur"):
        image = image.filter(_streak(rng.uniform(0, np.pi)))
    if on.get("downscale"):
        factor = rng.uniform(14.0, 22.0) / text_height
    elif rng.random() < 0.5:  # any other resolution
        factor = rng.uniform(22.0, 60.0) / text_height
    else:
        factor = 1.0
    if factor != 1.0:
        w, h = image.size
        image = image.resize((max(1, round(w * factor)), max(1, round(h * factor))), Image.Resampling.BILINEAR)
    if rng.random() < 0.4:
        image = _photometric(image, rng)
    if on.get("jpeg"):
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=int(rng.integers(15, 61)))
        image = Image.open(io.BytesIO(buffer.getvalue())).convert("L")
    return image


def linear_ramp(height: int, width: int, angle: float) -> np.ndarray:
    """(H, W) values rising from 0 to 1 across the image in the direction `angle`: where
    light falls off, a gradient darkens the paper or a shadow's edge lies."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = xs * np.cos(angle) / width + ys * np.sin(angle) / height
    return (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)


def _perspective(image: Image.Image, rng: np.random.Generator, fill: int | tuple[int, ...]) -> Image.Image:
    """The image seen at an angle: each corner moved by up to 6% of the image's size."""
    w, h = image.size
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    moved = corners + rng.uniform(-0.06, 0.06, size=(4, 2)) * [w, h]
    # PIL maps each output pixel (x, y) to (a x + b y + c, d x + e y + f) / (g x + h y + 1)
    rows = []
    for (x, y), (u, v) in zip(corners, moved, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    coefficients = np.linalg.solve(np.array(rows), moved.reshape(-1))
    return image.transform(
        (w, h), Image.Transform.PERSPECTIVE, tuple(coefficients), Image.Resampling.BILINEAR, fillcolor=fill
    )


def _streak(angle: float) -> ImageFilter.Kernel:
    """A 5x5 kernel that smears along a line at `angle`: a camera moved while exposing."""
    kernel = np.zeros((5, 5), dtype=np.float64)
    for t in np.linspace(-2.0, 2.0, 9):
        kernel[round(2 + t * np.sin(angle)), round(2 + t * np.cos(angle))] += 1.0
    return ImageFilter.Kernel((5, 5), (kernel / kernel.sum()).reshape(-1).tolist(), scale=1)
