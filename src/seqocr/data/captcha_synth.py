"""Synthetic captchas in the style of captcha_images_v2: more examples of each symbol
than a few hundred real captchas hold.

Each image is 200x50: a grey gradient, characters of a sans-serif font drawn several
times with small offsets (the set's hatched strokes), touching or overlapping, each
rotated a little, and a dark line drawn through them. A model that has seen these
learns what the symbols look like under overlap and strike-through; the real images
then teach it the set's own font.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from seqocr.errors import SeqocrError

SIZE = (200, 50)
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path("/Library/Fonts"), Path("C:/Windows/Fonts"))
SANS_NAMES = ("LiberationSans-Regular", "LiberationSans-Bold", "DejaVuSans", "DejaVuSans-Bold", "Arial", "arial")


@lru_cache(maxsize=1)
def sans_fonts() -> tuple[str, ...]:
    """Sans-serif TrueType files on this machine; empty when there are none."""
    found = []
    for folder in FONT_DIRS:
        if folder.is_dir():
            found += sorted(str(p) for p in folder.rglob("*.ttf") if p.stem in SANS_NAMES)
    return tuple(found)


@lru_cache(maxsize=64)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size)


class CaptchaSynth:
    """Deterministic: sample `i` of a given seed is always the same image and text."""

    def __init__(self, charset: str, length: tuple[int, int] = (5, 5), seed: int = 0):
        if not charset:
            raise SeqocrError("synthetic captchas need a charset")
        self.charset, self.length, self.seed = charset, length, seed
        self.fonts = sans_fonts() or ("",)  # Pillow's own scalable font when the system has none

    def sample(self, index: int) -> tuple[Image.Image, str]:
        rng = np.random.default_rng((self.seed, index))
        n = int(rng.integers(self.length[0], self.length[1] + 1))
        text = "".join(rng.choice(list(self.charset), size=n))
        return self.render(text, rng), text

    def render(self, text: str, rng: np.random.Generator) -> Image.Image:
        w, h = SIZE
        light = rng.uniform(225, 255)
        ramp = np.linspace(rng.uniform(150, 215), light, w, dtype=np.float32)
        if rng.random() < 0.5:
            ramp = ramp[::-1]
        image = Image.fromarray(np.tile(ramp, (h, 1)).astype(np.uint8))
        font = _font(str(rng.choice(self.fonts)), int(rng.integers(34, 42)))
        ink = Image.new("L", SIZE, 0)
        x = rng.uniform(18, 34)
        baseline = rng.uniform(0.62, 0.78) * h
        step = rng.uniform(0.62, 0.85)  # advance per character, x its width: they touch
        for char in text:
            glyph, ascent = _glyph(char, font, rng)
            ink.paste(255, (int(x), int(baseline - ascent + rng.uniform(-2, 2))), glyph)
            x += step * glyph.width * rng.uniform(0.9, 1.1)
        _strike(ink, rng)
        image.paste(int(rng.uniform(0, 25)), (0, 0), ink)
        return image.filter(ImageFilter.GaussianBlur(rng.uniform(0.0, 0.5)))


def _glyph(
    char: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, rng: np.random.Generator
) -> tuple[Image.Image, int]:
    """One character as a mask, drawn 3-6 times with offsets of about a pixel (hatching)
    and rotated a little; and the mask row of its baseline."""
    left, top, right, bottom = font.getbbox(char, anchor="ls")  # relative to the baseline
    pad = 4
    mask = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    draw = ImageDraw.Draw(mask)
    for _ in range(int(rng.integers(3, 7))):
        dx, dy = rng.uniform(-1.5, 1.5, size=2)
        draw.text((pad - left + dx, pad - top + dy), char, fill=int(rng.uniform(200, 255)), font=font, anchor="ls")
    rotated = mask.rotate(rng.uniform(-10, 10), resample=Image.Resampling.BILINEAR, expand=True)
    return rotated, pad - top + (rotated.height - mask.height) // 2


def _strike(ink: Image.Image, rng: np.random.Generator) -> None:
    """A line of 2-4 px through the text: a gentle curve from the left edge to the right."""
    w, h = ink.size
    x0, x1 = rng.uniform(10, 40), rng.uniform(120, 190)
    y0, y1 = rng.uniform(0.2, 0.8, size=2) * h
    bend = rng.uniform(-8, 8)
    points = []
    for t in np.linspace(0, 1, 24):
        points.append((x0 + t * (x1 - x0), y0 + t * (y1 - y0) + bend * math.sin(math.pi * t)))
    ImageDraw.Draw(ink).line(points, fill=255, width=int(rng.integers(2, 5)))
