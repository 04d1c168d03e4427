"""Synthetic alphanumeric strings in captcha styles; a sample is a pure function of (seed, index).

For a base model that knows letters before a user's hundred labels arrive. Characters
come from the DejaVu fonts matplotlib ships (sans, serif and mono, upright, bold and
oblique), each drawn alone at its own size, turned and sheared, then laid out with
gaps or overlaps on a light background. Letters are drawn in either case and labelled
as the charset writes them (lower case by default), as sites label mixed-case
captchas. The styles add what captcha generators add:

- lines: noise lines and arcs across the text, and dots;
- hatching: the background hatched (or cross-hatched) with thin lines, some
  characters drawn in outline;
- warp: the whole line bent by a sine wave, with speckle;
- overlap: neighbours overlapping by up to 40% of a character, each in its own colour.

`grid` is kept out of training: a checkered background and characters with a drop
shadow, the style the few-shot benchmark learns from a user's labels alone. Text is
coloured or grey, per string or per character.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from seqocr.data.fonts import shipped_font
from seqocr.errors import SeqocrError

ALNUM = "0123456789abcdefghijklmnopqrstuvwxyz"
TRAIN_STYLES = ("lines", "hatching", "warp", "overlap")
HELD_OUT_STYLES = ("grid",)
STYLES = TRAIN_STYLES + HELD_OUT_STYLES
FONT_FILES = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
)


@dataclass(frozen=True)
class TextSynthConfig:
    seed: int = 0
    charset: str = ALNUM  # the characters drawn (and their labels)
    min_len: int = 4
    max_len: int = 6
    styles: tuple[str, ...] = TRAIN_STYLES  # one is drawn per string
    mixed_case: bool = True  # a letter is drawn in upper case half the time, labelled as in `charset`


class TextSynth:
    """Renders alphanumeric strings of `config.charset` in the configured styles."""

    def __init__(self, config: TextSynthConfig):
        unknown = sorted(set(config.styles) - set(STYLES))
        if unknown or not config.styles:
            raise SeqocrError(f"unknown text style {unknown[:1] or ['(none)']}; choose from: {', '.join(STYLES)}")
        if not config.charset or not 1 <= config.min_len <= config.max_len:
            raise SeqocrError("text synthesis needs a charset and 1 <= min_len <= max_len")
        self.config = config

    def sample(self, index: int) -> tuple[np.ndarray, str]:
        """The image (H, W, 3) uint8 and the text of sample `index`."""
        rng = np.random.default_rng([self.config.seed, index, 31])
        length = int(rng.integers(self.config.min_len, self.config.max_len + 1))
        text = "".join(self.config.charset[int(i)] for i in rng.integers(0, len(self.config.charset), size=length))
        style = self.config.styles[int(rng.integers(len(self.config.styles)))]
        return _render(text, style, rng, self.config.mixed_case), text

    def samples(self, count: int) -> list[tuple[np.ndarray, str]]:
        return [self.sample(i) for i in range(count)]


def _render(text: str, style: str, rng: np.random.Generator, mixed_case: bool) -> np.ndarray:
    size = int(rng.integers(26, 42))
    paper = _light(rng)
    per_char = style == "overlap" or rng.random() < 0.3
    string_ink = _ink(rng)
    glyphs = []
    for char in text:
        shown = char.upper() if mixed_case and char.isalpha() and rng.random() < 0.5 else char
        ink = _ink(rng) if per_char else string_ink
        outline = style == "hatching" and rng.random() < 0.3
        glyphs.append(_glyph(shown, size, ink, paper, outline, rng))
    gap = (-0.4, -0.1) if style == "overlap" else (-0.15, 0.25)
    canvas = _layout(glyphs, size, paper, gap, style, rng)
    draw = ImageDraw.Draw(canvas)
    if style == "lines":
        _noise_lines(draw, canvas.size, string_ink, rng)
    elif style == "warp":
        canvas = _sine_warp(canvas, rng)
        _speckle(draw, canvas.size, string_ink, rng, count=int(rng.integers(30, 120)))
    if rng.random() < 0.3:
        canvas = canvas.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.9)))
    pixels = np.asarray(canvas, dtype=np.float32)
    pixels += rng.uniform(0, 8) * rng.standard_normal(pixels.shape, dtype=np.float32)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def _glyph(char: str, size: int, ink: tuple[int, int, int], paper: tuple[int, int, int], outline: bool,
           rng: np.random.Generator) -> Image.Image:  # fmt: skip
    """One character alone (RGBA, transparent around it), turned and sheared."""
    font = shipped_font(FONT_FILES[int(rng.integers(len(FONT_FILES)))], int(size * rng.uniform(0.85, 1.2)))
    left, top, right, bottom = (int(v) for v in font.getbbox(char))
    pad = size // 2
    image = Image.new("RGBA", (right - left + 2 * pad, bottom - top + 2 * pad), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if outline:
        draw.text(
            (pad - left, pad - top), char, font=font, fill=paper + (255,), stroke_width=2, stroke_fill=ink + (255,)
        )
    else:
        draw.text((pad - left, pad - top), char, font=font, fill=ink + (255,))
    shear = rng.uniform(-0.3, 0.3)
    w, h = image.size
    image = image.transform(
        (w, h), Image.Transform.AFFINE, (1, shear, -shear * h / 2, 0, 1, 0), Image.Resampling.BICUBIC
    )
    image = image.rotate(rng.uniform(-25, 25), Image.Resampling.BICUBIC, expand=True)
    box = image.getchannel("A").getbbox()
    return image.crop(box) if box else image


def _layout(glyphs: list[Image.Image], size: int, paper: tuple[int, int, int], gap: tuple[float, float], style: str,
            rng: np.random.Generator) -> Image.Image:  # fmt: skip
    """The glyphs left to right on the background, each at its own height."""
    margin = int(size * rng.uniform(0.2, 0.6))
    height = max(g.height for g in glyphs) + 2 * margin + int(size * 0.3)
    xs, x = [], margin
    for g in glyphs:
        xs.append(x)
        x += g.width + int(rng.uniform(*gap) * g.width)
    width = max(x0 + g.width for x0, g in zip(xs, glyphs, strict=True)) + margin
    canvas = _background((width, height), paper, style, rng)
    for x0, g in zip(xs, glyphs, strict=True):
        centre = (height - g.height) / 2 + rng.normal(0, 0.1 * size)  # centred, each a little up or down
        y0 = int(np.clip(centre, 0, height - g.height))
        if style == "grid":  # a drop shadow under each character
            shadow = Image.new("RGBA", g.size, (60, 60, 60, 0))
            shadow.putalpha(g.getchannel("A").point(lambda a: a // 2))
            canvas.paste(shadow, (x0 + 2, y0 + 2), shadow)
        canvas.paste(g, (x0, y0), g)
    return canvas.convert("RGB")


def _background(
    size: tuple[int, int], paper: tuple[int, int, int], style: str, rng: np.random.Generator
) -> Image.Image:
    canvas = Image.new("RGBA", size, paper + (255,))
    draw = ImageDraw.Draw(canvas)
    w, h = size
    if style == "hatching":
        shade = tuple(int(c * rng.uniform(0.55, 0.8)) for c in paper) + (255,)
        for angle in rng.choice([45, -45, 30, -60, 0, 90], size=int(rng.integers(1, 3)), replace=False):
            step = int(rng.integers(3, 8))
            dx = np.tan(np.radians(float(angle))) * h if abs(angle) != 90 else 0
            if angle == 0:
                for y in range(0, h, step):
                    draw.line([(0, y), (w, y)], fill=shade, width=1)
                continue
            for x in range(-int(abs(dx)) - h, w + int(abs(dx)) + h, step):
                draw.line([(x, 0), (x + dx, h)], fill=shade, width=1)
    elif style == "grid":
        cell = int(rng.integers(6, 14))
        other = tuple(int(c * rng.uniform(0.8, 0.92)) for c in paper) + (255,)
        for y in range(0, h, cell):
            for x in range((y // cell) % 2 * cell, w, 2 * cell):
                draw.rectangle([x, y, x + cell - 1, y + cell - 1], fill=other)
    return canvas


def _noise_lines(draw: ImageDraw.ImageDraw, size: tuple[int, int], ink: tuple[int, int, int],
                 rng: np.random.Generator) -> None:  # fmt: skip
    w, h = size
    for _ in range(int(rng.integers(1, 5))):
        if rng.random() < 0.5:
            draw.line([(rng.uniform(0, w * 0.3), rng.uniform(0, h)), (rng.uniform(w * 0.7, w), rng.uniform(0, h))],
                      fill=ink, width=int(rng.integers(1, 4)))  # fmt: skip
        else:
            x0, y0 = rng.uniform(-w * 0.2, w * 0.3), rng.uniform(-h * 0.5, h * 0.5)
            box = [x0, y0, x0 + rng.uniform(w * 0.5, w * 1.2), y0 + rng.uniform(h * 0.6, h * 1.5)]
            start = rng.uniform(0, 180)
            draw.arc(box, start, start + rng.uniform(60, 200), fill=ink, width=int(rng.integers(1, 4)))
    _speckle(draw, size, ink, rng, count=int(rng.integers(0, 60)))


def _speckle(draw: ImageDraw.ImageDraw, size: tuple[int, int], ink: tuple[int, int, int], rng: np.random.Generator,
             count: int) -> None:  # fmt: skip
    w, h = size
    for x, y in zip(rng.uniform(0, w, count), rng.uniform(0, h, count), strict=True):
        r = rng.uniform(0.5, 1.6)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=ink)


def _sine_warp(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Each column moved up or down along a sine wave."""
    pixels = np.asarray(image)
    h, w = pixels.shape[:2]
    amplitude, period, phase = rng.uniform(2, 0.12 * h), rng.uniform(0.5, 1.5) * w, rng.uniform(0, 2 * np.pi)
    shifts = np.round(amplitude * np.sin(2 * np.pi * np.arange(w) / period + phase)).astype(int)
    rows = (np.arange(h)[:, None] - shifts[None, :]) % h
    return Image.fromarray(pixels[rows, np.arange(w)[None, :]])


def _light(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(205, 256, size=3))  # type: ignore[return-value]


def _ink(rng: np.random.Generator) -> tuple[int, int, int]:
    if rng.random() < 0.4:  # grey letters
        g = int(rng.integers(20, 150))
        return g, g, g
    return tuple(int(v) for v in rng.integers(0, 170, size=3))  # type: ignore[return-value]
