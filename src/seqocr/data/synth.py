"""Synthetic digit strings from MNIST digits; a sample is a pure function of (seed, index).

Styles:
- "default": realistic variety: random gaps including slight overlaps, per-digit scale
  and vertical jitter, slant, stroke width, both polarities, contrast, blur, noise, and
  any output size.
- "notebook": what the seed notebooks make: 28 px tall, light on black, the 28x28 MNIST
  cells side by side with no gap.
- "touching", "document": a line as it reaches a scanner (data/handwriting.py), with
  the effects of data/effects.py at that style's probabilities: tight, touching and
  overlapping digits only; or marks, paper, pen and capture.
- "mixed": the training mix of the bundled `digits` model: a quarter of the strings in
  the default style, a tenth in the notebook style, the rest drawn like "document" with
  the `mixed` probabilities (touching neighbours in 45% of them, USPS digits in a quarter
  of the training digits, continental 1s, crossed 7s, looped 0s, open and closed 4s and
  straight-tailed 9s in about a third of the digits of their kind).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from seqocr.config import SynthConfig
from seqocr.data.conventions import convention
from seqocr.data.effects import probabilities
from seqocr.data.handwriting import ink_crop, render_line
from seqocr.data.mnist import Digits, load_split
from seqocr.data.usps import load_usps
from seqocr.errors import SeqocrError

STYLES = ("default", "notebook", "touching", "document", "mixed")
MIXED_DEFAULT, MIXED_NOTEBOOK = 0.25, 0.10  # shares of the mixed style drawn in the older styles
EFFECT_STREAM = 1  # the effects draw from their own stream: older styles render as they always did
INK_THRESHOLD = 24  # MNIST pixels above this count as ink when cropping a digit
MESH_CELLS = 2  # the elastic warp moves the vertices of a 2x2 mesh over each digit
MESH_STEPS = np.arange(MESH_CELLS + 1) / MESH_CELLS
MESH_ORDER = [(r, c) for r in range(MESH_CELLS) for c in range(MESH_CELLS)]
DISTORT_PROBABILITY = 0.8  # some digits stay as written: the test digits are not distorted


class DigitStringSynth:
    """Renders digit strings from the digits of one MNIST split."""

    def __init__(self, config: SynthConfig, digits: Digits | None = None, data_dir: str | Path | None = None):
        if config.style not in STYLES:
            raise SeqocrError(f"unknown synth style {config.style!r}; choose one of: {', '.join(STYLES)}")
        if not 1 <= config.min_len <= config.max_len:
            raise SeqocrError(f"need 1 <= min_len <= max_len, got {config.min_len} and {config.max_len}")
        self.config = config
        self.effects = probabilities(config.style, config.effects)
        self.digits = digits if digits is not None else load_split(config.split, data_dir)
        self._crops: list[Image.Image | None] = [None] * len(self.digits)
        # other writers' digits for training strings only: validation and tests stay MNIST
        self.usps = load_usps("train") if self.effects["usps"] > 0 and config.split == "train" else None
        self._usps_crops: dict[int, Image.Image] = {}

    def sample(self, index: int) -> tuple[np.ndarray, str]:
        """The image (H, W) uint8 and the text of sample `index`."""
        rng = np.random.default_rng([self.config.seed, index])
        length = int(rng.integers(self.config.min_len, self.config.max_len + 1))
        picks = rng.integers(0, len(self.digits), size=length)
        text = "".join(str(int(self.digits.labels[i])) for i in picks)
        style = self.config.style
        if style == "mixed":
            draw = rng.random()
            style = "default" if draw < MIXED_DEFAULT else "notebook" if draw < MIXED_DEFAULT + MIXED_NOTEBOOK else ""
        if style in ("touching", "document", "mixed", ""):
            return self._line(picks, text, np.random.default_rng([self.config.seed, index, EFFECT_STREAM]))
        if style == "notebook":
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

    def _line(self, picks: np.ndarray, text: str, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        """A string drawn by data/handwriting.py, some digits from USPS when it is loaded,
        some in a writers' convention (data/conventions.py)."""
        glyphs = []
        for i, char in zip(picks, text, strict=True):
            if self.usps is not None and rng.random() < self.effects["usps"]:
                glyph = self._usps_glyph(char, rng)
            else:
                glyph = self._crop(int(i))
            glyph = convention(glyph, char, rng, self.effects)
            glyphs.append(distort(glyph, rng) if self.config.augment and rng.random() < DISTORT_PROBABILITY else glyph)
        return render_line(glyphs, text, rng, self.effects, keep=self.config.marks)

    def _usps_glyph(self, char: str, rng: np.random.Generator) -> Image.Image:
        """A USPS digit showing `char`, its ink at MNIST's scale (20 px tall) and given back
        a writer's aspect: USPS stretched every digit to fill its 16x16 box."""
        assert self.usps is not None
        choices = np.flatnonzero(self.usps.labels == int(char))
        i = int(choices[rng.integers(len(choices))])
        glyph = self._usps_crops.get(i)
        if glyph is None:
            ink = Image.fromarray(ink_crop(self.usps.images[i], threshold=100))
            aspect = 1.0 if char == "1" else 0.72
            size = (max(1, round(ink.width * 20 / 16 * aspect)), max(1, round(ink.height * 20 / 16)))
            glyph = self._usps_crops[i] = ink.resize(size, Image.Resampling.BILINEAR)
        return glyph

    def _crop(self, i: int) -> Image.Image:
        """Digit `i` cropped to its ink; cached because cropping costs more than drawing."""
        crop = self._crops[i]
        if crop is None:
            crop = self._crops[i] = Image.fromarray(ink_crop(self.digits.images[i], INK_THRESHOLD))
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
    xs, ys = MESH_STEPS * out_w, MESH_STEPS * out_h
    grid = np.empty((MESH_CELLS + 1, MESH_CELLS + 1, 2))  # (rows, cols, 2) output vertices
    grid[..., 0], grid[..., 1] = xs, ys[:, None]
    source = (grid - [out_w / 2, out_h / 2]) @ to_source.T + [w / 2, h / 2]
    source += rng.normal(0.0, 0.035 * max(w, h), size=source.shape)  # the elastic part
    # PIL wants, per output cell, its box and the source quad (upper-left, lower-left,
    # lower-right, upper-right corners)
    quads = np.concatenate([source[:-1, :-1], source[1:, :-1], source[1:, 1:], source[:-1, 1:]], axis=-1)
    cols, rows = xs.astype(int).tolist(), ys.astype(int).tolist()
    boxes = [(cols[c], rows[r], cols[c + 1], rows[r + 1]) for r, c in MESH_ORDER]
    mesh = list(zip(boxes, map(tuple, quads.reshape(-1, 8).tolist()), strict=True))
    warped = glyph.transform((out_w, out_h), Image.Transform.MESH, mesh, Image.Resampling.BILINEAR)
    return Image.fromarray(ink_crop(np.asarray(warped), INK_THRESHOLD))


def _mnist_cell(glyph: Image.Image) -> np.ndarray:
    """A cropped glyph as MNIST draws one: fitted into 20x20, centred in a 28x28 cell."""
    scale = 20 / max(glyph.size)
    size = (max(1, round(glyph.width * scale)), max(1, round(glyph.height * scale)))
    fitted = glyph.resize(size, Image.Resampling.BILINEAR)
    cell = Image.new("L", (28, 28))
    cell.paste(fitted, ((28 - fitted.width) // 2, (28 - fitted.height) // 2))
    return np.asarray(cell)


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
