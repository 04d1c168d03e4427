"""Synthetic digit strings from MNIST digits; a sample is a pure function of (seed, index).

Two styles:
- "default": realistic variety so a model trained on it reads real scans: random gaps
  including slight overlaps, per-digit scale and vertical jitter, slant, stroke width,
  both polarities, contrast, blur, noise, and any output size.
- "notebook": what the seed notebooks make: 28 px tall, light on black, the 28x28 MNIST
  cells side by side with no gap.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from seqocr.config import SynthConfig
from seqocr.data.mnist import Digits, load_split
from seqocr.errors import SeqocrError

STYLES = ("default", "notebook")
INK_THRESHOLD = 24  # MNIST pixels above this count as ink when cropping a digit
MESH_CELLS = 2  # the elastic warp moves the vertices of a 2x2 mesh over each digit
DISTORT_PROBABILITY = 0.8  # some digits stay as written: the test digits are not distorted


class DigitStringSynth:
    """Renders digit strings from the digits of one MNIST split."""

    def __init__(self, config: SynthConfig, digits: Digits | None = None, data_dir: str | Path | None = None):
        if config.style not in STYLES:
            raise SeqocrError(f"unknown synth style {config.style!r}; choose one of: {', '.join(STYLES)}")
        if not 1 <= config.min_len <= config.max_len:
            raise SeqocrError(f"need 1 <= min_len <= max_len, got {config.min_len} and {config.max_len}")
        self.config = config
        self.digits = digits if digits is not None else load_split(config.split, data_dir)
        self._crops: list[Image.Image | None] = [None] * len(self.digits)

    def sample(self, index: int) -> tuple[np.ndarray, str]:
        """The image (H, W) uint8 and the text of sample `index`."""
        rng = np.random.default_rng([self.config.seed, index])
        length = int(rng.integers(self.config.min_len, self.config.max_len + 1))
        picks = rng.integers(0, len(self.digits), size=length)
        text = "".join(str(int(self.digits.labels[i])) for i in picks)
        if self.config.style == "notebook":
            cells = [
                _mnist_cell(distort(self._crop(int(i)), rng))
                if self.config.augment and rng.random() < DISTORT_PROBABILITY
                else self.digits.images[i]
                for i in picks
            ]
            return np.hstack(cells), text
        glyphs = [self._crop(int(i)) for i in picks]
        if self.config.augment:
            glyphs = [distort(g, rng) if rng.random() < DISTORT_PROBABILITY else g for g in glyphs]
        return render_default(glyphs, rng), text

    def samples(self, count: int) -> list[tuple[np.ndarray, str]]:
        """Samples 0..count-1: a fixed test set for a given seed."""
        return [self.sample(i) for i in range(count)]

    def _crop(self, i: int) -> Image.Image:
        """Digit `i` cropped to its ink; cached because cropping costs more than drawing."""
        crop = self._crops[i]
        if crop is None:
            crop = self._crops[i] = Image.fromarray(_ink_crop(self.digits.images[i]))
        return crop


def render_default(glyphs: list[Image.Image], rng: np.random.Generator) -> np.ndarray:
    """Compose cropped MNIST glyphs (light on black) into one realistic string image."""
    size = rng.uniform(20.0, 30.0)  # digit height in pixels before the final resize
    spacing = rng.uniform(0.0, 0.40) * size  # this writer's typical gap
    crops = [_scale(g, size * rng.uniform(0.88, 1.1) / 20.0) for g in glyphs]

    top_margin = rng.uniform(0.1, 0.35) * size
    height = int(np.ceil(top_margin * 2 + max(c.shape[0] for c in crops) + 0.25 * size))
    x = rng.uniform(0.05, 0.6) * size
    placed = []
    for crop in crops:
        y = top_margin + rng.normal(0.0, 0.05 * size)
        y = float(np.clip(y, 0, height - crop.shape[0]))
        placed.append((int(round(x)), int(round(y)), crop))
        gap = max(spacing + rng.normal(0.0, 0.07 * size), -0.04 * size)  # at most a slight overlap
        x += crop.shape[1] + gap
    width = int(np.ceil(max(px + c.shape[1] for px, _, c in placed) + rng.uniform(0.05, 0.6) * size))

    canvas = np.zeros((height, width), dtype=np.uint8)
    for px, py, crop in placed:
        h, w = crop.shape
        region = canvas[py : py + h, px : px + w]
        np.maximum(region, crop[: region.shape[0], : region.shape[1]], out=region)
    return _style(Image.fromarray(canvas), rng)


def distort(glyph: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A new writer's version of a cropped glyph: rotation, shear, aspect and a local
    elastic warp, in one resampling (a PIL mesh whose vertices are moved)."""
    w, h = glyph.size
    pad = int(0.3 * max(w, h)) + 2
    out_w, out_h = w + 2 * pad, h + 2 * pad
    angle, shear = rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2)
    scale_x, scale_y = rng.uniform(0.8, 1.15), rng.uniform(0.9, 1.1)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    to_source = rotation @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag([1 / scale_x, 1 / scale_y])
    steps = np.arange(MESH_CELLS + 1) / MESH_CELLS
    xs, ys = steps * out_w, steps * out_h
    grid = np.stack(np.meshgrid(xs, ys), axis=-1)  # (rows, cols, 2) output vertices
    source = (grid - [out_w / 2, out_h / 2]) @ to_source.T + [w / 2, h / 2]
    source += rng.normal(0.0, 0.035 * max(w, h), size=source.shape)  # the elastic part
    # PIL wants, per output cell, its box and the source quad (upper-left, lower-left,
    # lower-right, upper-right corners)
    quads = np.concatenate([source[:-1, :-1], source[1:, :-1], source[1:, 1:], source[:-1, 1:]], axis=-1)
    cells = [(r, c) for r in range(MESH_CELLS) for c in range(MESH_CELLS)]
    boxes = [(int(xs[c]), int(ys[r]), int(xs[c + 1]), int(ys[r + 1])) for r, c in cells]
    mesh = list(zip(boxes, map(tuple, quads.reshape(-1, 8).tolist()), strict=True))
    warped = glyph.transform((out_w, out_h), Image.Transform.MESH, mesh, Image.Resampling.BILINEAR)
    return Image.fromarray(_ink_crop(np.asarray(warped)))


def _mnist_cell(glyph: Image.Image) -> np.ndarray:
    """A cropped glyph as MNIST draws one: fitted into 20x20, centred in a 28x28 cell."""
    scale = 20 / max(glyph.size)
    size = (max(1, round(glyph.width * scale)), max(1, round(glyph.height * scale)))
    fitted = glyph.resize(size, Image.Resampling.BILINEAR)
    cell = Image.new("L", (28, 28))
    cell.paste(fitted, ((28 - fitted.width) // 2, (28 - fitted.height) // 2))
    return np.asarray(cell)


def _ink_crop(glyph: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero(glyph.max(axis=1) > INK_THRESHOLD)
    cols = np.flatnonzero(glyph.max(axis=0) > INK_THRESHOLD)
    if len(rows) == 0:  # an empty glyph never happens in MNIST, but keep it drawable
        return glyph
    return glyph[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _scale(crop: Image.Image, scale: float) -> np.ndarray:
    w, h = crop.size
    new = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(crop.resize(new, Image.Resampling.BILINEAR))


def _style(image: Image.Image, rng: np.random.Generator) -> np.ndarray:
    """Slant, stroke width, contrast, polarity, blur, noise and output size."""
    if rng.random() < 0.4:  # slant (italic or back-slanted writing)
        shear = rng.uniform(-0.25, 0.25)
        w, h = image.size
        extra = int(abs(shear) * h) + 1
        image = image.transform(
            (w + extra, h),
            Image.Transform.AFFINE,
            (1, shear, -extra if shear > 0 else 0, 0, 1, 0),
            Image.Resampling.BILINEAR,
        )
    if rng.random() < 0.15:  # a thicker pen
        image = image.filter(ImageFilter.MaxFilter(3))
    ink = np.asarray(image, dtype=np.float32) / 255.0
    background = rng.uniform(0.0, 0.3)
    foreground = rng.uniform(0.7, 1.0)
    pixels = background + (foreground - background) * ink
    if rng.random() < 0.5:  # dark ink on light paper
        pixels = 1.0 - pixels
    image = Image.fromarray((pixels * 255).astype(np.uint8))
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.1)))
    if rng.random() < 0.5:  # rescale to another resolution: any height and width
        w, h = image.size
        factor = rng.uniform(24.0, 72.0) / h
        image = image.resize((max(1, round(w * factor)), max(1, round(h * factor))), Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.float32)
    if rng.random() < 0.5:
        pixels = pixels + rng.uniform(2.0, 12.0) * rng.standard_normal(pixels.shape, dtype=np.float32)
    return np.clip(pixels, 0, 255).astype(np.uint8)
