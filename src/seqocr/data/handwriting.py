"""A line of handwritten digits as it reaches a scanner or a phone: spacing, marks, pen and paper.

`render_line` lays out cropped glyphs (light on black, as MNIST stores them) with the
effects of `data/effects.py`, composes dark ink on paper and hands the picture to the
capture effects of `data/augment.py`. Marks that are not in `keep` (the charset's
characters) are drawn but left out of the label, so the `digits` model learns to skip
separators, dashes and boxes, and a dataset whose charset holds `/` learns to read it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from seqocr.data.augment import capture, linear_ramp
from seqocr.data.effects import CONVENTIONS

SEPARATORS = ".,'"
ENDINGS = ("-", "/-", "=", "--", ".-")
CURRENCIES = "$€£"
MARKS = frozenset(SEPARATORS + "".join(ENDINGS) + CURRENCIES)  # what may be drawn besides digits
PRINT_DARKNESS = (0.15, 0.5)  # how dark printed lines and patterns are, against the ink's 0.65-1.0


@dataclass
class Item:
    """One thing written on the line: a digit or a mark, its ink (H, W) in [0, 1], and
    where it sits vertically ("digit", "base", "mid", "top" or "full")."""

    char: str
    ink: np.ndarray
    anchor: str = "digit"
    x: int = 0
    y: int = 0


def render_line(
    glyphs: list[Image.Image], text: str, rng: np.random.Generator, p: dict[str, float], keep: str = ""
) -> tuple[np.ndarray, str]:
    """The image (H, W) uint8, dark ink on light paper, and its label: `text` with the
    drawn marks that `keep` holds."""
    # the glyph conventions are drawn per digit before; left out here, the line's random
    # stream stays what it was before they existed
    on = {name: rng.random() < probability for name, probability in p.items() if name not in CONVENTIONS}
    size = rng.uniform(20.0, 30.0)  # digit height in pixels before capture
    stroke = max(1, round(size * rng.uniform(0.07, 0.12)))
    items = [Item(c, _scale(g, size * rng.uniform(0.86, 1.12) / 20.0)) for c, g in zip(text, glyphs, strict=True)]
    if on["boxes"]:  # digits written into a comb of printed boxes: no marks between them
        on["separators"] = on["ligature"] = on["tight"] = False
    items = _with_marks(items, on, size, stroke, rng)
    margin = rng.uniform(0.3, 0.55 if on["ruled"] or on["underline"] or on["field_box"] else 0.35) * size
    height, width, cells = _place(items, on, size, margin, rng)

    ink = np.zeros((height, width), dtype=np.float32)
    for item in items:
        h, w = item.ink.shape
        region = ink[item.y : item.y + h, item.x : item.x + w]
        np.maximum(region, item.ink[: region.shape[0], : region.shape[1]], out=region)
    drawn = Image.fromarray((ink * 255).astype(np.uint8))
    draw = ImageDraw.Draw(drawn)
    digits = [item for item in items if item.anchor == "digit"]
    if p["ligature"] > 0 and not on["boxes"]:  # digits in boxes are written apart
        for left, right in zip(digits, digits[1:], strict=False):
            if rng.random() < p["ligature"]:
                _join(draw, left, right, stroke, rng)
    if on["underline"]:
        y = margin + size * rng.uniform(1.05, 1.25)
        x0, x1 = (
            items[0].x - rng.uniform(0, 0.3) * size,
            items[-1].x + items[-1].ink.shape[1] + rng.uniform(0, 0.3) * size,
        )
        draw.line([(x0, y + rng.normal(0, 0.05 * size)), (x1, y + rng.normal(0, 0.05 * size))], fill=255, width=stroke)
    ink = _pen(np.asarray(drawn, dtype=np.float32) / 255.0, on, rng)

    printed = _printed(height, width, on, size, margin, cells, rng)
    paper = _paper(height, width, on, rng)
    darkness = rng.uniform(0.25, 0.5) if on["faint"] else rng.uniform(0.65, 1.0)
    pixels = paper * (1.0 - rng.uniform(*PRINT_DARKNESS) * printed) * (1.0 - darkness * ink)
    if on["show_through"]:  # the other side of the page: mirrored, blurred, faint
        back = Image.fromarray((ink[::-1, ::-1] * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.2))
        pixels *= 1.0 - rng.uniform(0.08, 0.2) * np.asarray(back, dtype=np.float32) / 255.0
    image = Image.fromarray((np.clip(pixels, 0.0, 1.0) * 255).astype(np.uint8))
    image = capture(image, rng, on, text_height=size)
    label = "".join(item.char for item in items if item.anchor == "digit" or item.char in keep)
    return np.asarray(image), label


def _with_marks(
    items: list[Item], on: dict[str, bool], size: float, stroke: int, rng: np.random.Generator
) -> list[Item]:
    """Separators between digit groups, a currency sign before, an ending after."""
    out = list(items)
    if on["separators"] and len(items) > 1:
        mark = SEPARATORS[int(rng.integers(len(SEPARATORS)))]
        if rng.random() < 0.5 and len(items) > 3:  # thousands: every third digit from the right
            cuts = list(range(len(items) - 3, 0, -3))
        else:  # a decimal mark before the last one or two digits
            cuts = [len(items) - int(rng.integers(1, 3))] if len(items) > 2 else [1]
        for cut in sorted(cuts, reverse=True):
            out.insert(cut, _mark(mark, size, stroke, rng))
    if on["currency"]:
        out.insert(0, _mark(CURRENCIES[int(rng.integers(len(CURRENCIES)))], size, stroke, rng))
    if on["dash"]:
        for char in ENDINGS[int(rng.integers(len(ENDINGS)))]:
            out.append(_mark(char, size, stroke, rng))
    return out


def _mark(char: str, size: float, stroke: int, rng: np.random.Generator) -> Item:
    """A mark drawn by hand (a dot, a comma, a stroke) or a sign from a font, as ink."""
    if char == "$":  # from Pillow's bundled font, which has no euro or pound sign
        font = ImageFont.load_default(size=max(8, round(size * rng.uniform(1.0, 1.25))))
        box = font.getbbox(char)
        image = Image.new("L", (int(box[2]) + 2, int(box[3]) + 2))
        ImageDraw.Draw(image).text((1, 1), char, fill=255, font=font)
        return Item(char, _ink(image), "full")
    if char in "€£":  # by hand: an open arc with two bars, or a hook, a stem and a base
        r, o = size * rng.uniform(0.3, 0.4), stroke + 1
        image = Image.new("L", (round(2.2 * r + 2 * o), round(2 * r + 0.2 * size + 2 * o)))
        draw = ImageDraw.Draw(image)
        if char == "€":
            draw.arc([o + 0.3 * r, o, o + 2.3 * r, o + 2 * r], 45, 315, fill=255, width=stroke)
            for y in (o + 0.75 * r, o + 1.2 * r):
                draw.line([(o, y), (o + 1.5 * r, y)], fill=255, width=max(1, stroke - 1))
        else:
            draw.arc([o + 0.6 * r, o, o + 1.8 * r, o + 1.2 * r], 180, 360, fill=255, width=stroke)
            draw.line([(o + 0.6 * r, o + 0.6 * r), (o + 0.6 * r, o + 2 * r)], fill=255, width=stroke)
            draw.line([(o, o + 2 * r), (o + 2 * r, o + 2 * r)], fill=255, width=stroke)
            draw.line([(o, o + 1.1 * r), (o + 1.3 * r, o + 1.1 * r)], fill=255, width=max(1, stroke - 1))
        return Item(char, _ink(image), "full")
    w = {"-": rng.uniform(0.3, 0.6), "=": rng.uniform(0.3, 0.55), "/": rng.uniform(0.3, 0.6)}.get(char, 0.25) * size
    h = {"/": size, "=": size * 0.35, "'": size * 0.35, ",": size * 0.4}.get(char, stroke * 2.0)
    image = Image.new("L", (round(w) + 2 * stroke + 2, round(h) + 2 * stroke + 2))
    draw = ImageDraw.Draw(image)
    o = stroke + 1
    if char in ".,":
        r = stroke * rng.uniform(0.6, 1.1)
        draw.ellipse([o, o, o + 2 * r, o + 2 * r], fill=255)
        if char == ",":
            draw.line([(o + 2 * r, o + r), (o + r * 0.5, o + h)], fill=255, width=stroke)
    elif char == "'":
        draw.line([(o + w * 0.7, o), (o + w * 0.3, o + h)], fill=255, width=stroke)
    elif char == "-":
        draw.line([(o, o + rng.uniform(0, h)), (o + w, o + rng.uniform(0, h))], fill=255, width=stroke)
    elif char == "=":
        draw.line([(o, o), (o + w, o)], fill=255, width=stroke)
        draw.line([(o, o + h), (o + w, o + h)], fill=255, width=stroke)
    elif char == "/":
        draw.line([(o, o + h), (o + w, o)], fill=255, width=stroke)
    anchor = {".": "base", ",": "base", "'": "top", "-": "mid", "=": "mid", "/": "full"}[char]
    return Item(char, _ink(image), anchor)


def _place(
    items: list[Item], on: dict[str, bool], size: float, margin: float, rng: np.random.Generator
) -> tuple[int, int, list[tuple[float, float]]]:
    """Set every item's (x, y); the canvas (height, width) and the boxes' columns."""
    # tight: from a small gap to an overlap of 30% of the digit height
    spacing = (rng.uniform(-0.3, 0.02) if on["tight"] else rng.uniform(0.0, 0.45)) * size
    cell = size * rng.uniform(1.0, 1.4)
    x = margin + rng.uniform(0.0, 0.3) * size
    cells = []
    previous: Item | None = None
    for item in items:
        h, w = item.ink.shape
        if on["boxes"] and item.anchor == "digit":
            cells.append((x, x + cell))
            item.x = round(x + (cell - w) / 2 + rng.normal(0, 0.05 * size))
            x += cell
        else:
            if previous is not None:
                gap = spacing + rng.normal(0.0, 0.06 * size)
                if item.anchor == "digit" and previous.anchor == "digit":
                    # never hide more than 45% of either neighbour
                    gap = max(gap, -0.45 * min(w, previous.ink.shape[1]), -0.04 * size if not on["tight"] else -size)
                else:
                    gap = max(gap, rng.uniform(0.0, 0.25) * size)
                x += gap
            item.x = round(max(x, 0.0))
            x = item.x + w
        top = margin + rng.normal(0.0, 0.04 * size)
        item.y = round(
            max(
                0.0,
                {
                    "digit": top,
                    "full": top,
                    "top": top - 0.05 * size,
                    "mid": top + 0.5 * size - h / 2,
                    "base": top + size - 0.6 * h,
                }[item.anchor],
            )
        )
        previous = item
    height = int(np.ceil(max(i.y + i.ink.shape[0] for i in items) + margin))
    width = int(np.ceil(max(i.x + i.ink.shape[1] for i in items) + margin))
    return height, width, cells


def _join(draw: ImageDraw.ImageDraw, left: Item, right: Item, stroke: int, rng: np.random.Generator) -> None:
    """A joining stroke from low on the right edge of `left` to the left edge of `right`."""
    lh, lw = left.ink.shape
    rh = right.ink.shape[0]
    start = (left.x + lw - 1, left.y + lh * rng.uniform(0.55, 0.9))
    end = (right.x + 1, right.y + rh * rng.uniform(0.3, 0.8))
    sag = rng.uniform(0.0, 0.25) * lh
    t = np.linspace(0.0, 1.0, 8)
    xs = start[0] + (end[0] - start[0]) * t
    ys = start[1] + (end[1] - start[1]) * t + sag * 4 * t * (1 - t)
    draw.line(list(zip(xs.tolist(), ys.tolist(), strict=True)), fill=255, width=max(1, stroke - 1))


def _pen(ink: np.ndarray, on: dict[str, bool], rng: np.random.Generator) -> np.ndarray:
    """A marker, a pencil or a pen that skips."""
    if on["thick"]:
        grown = Image.fromarray((ink * 255).astype(np.uint8)).filter(
            ImageFilter.MaxFilter(3 if rng.random() < 0.6 else 5)
        )
        ink = np.asarray(grown, dtype=np.float32) / 255.0
    elif on["thin"]:  # pencil: the stroke's soft edges fade, what is left is grey and grainy
        ink = ink**2.5 * rng.uniform(0.45, 0.75) * (1.0 - 0.35 * rng.random(ink.shape, dtype=np.float32))
    if on["broken"]:
        gaps = _smooth_noise(ink.shape, cell=3, rng=rng) > rng.uniform(0.2, 0.32)
        ink = ink * gaps
    return ink


def _printed(
    height: int, width: int, on: dict[str, bool], size: float, margin: float, cells: list, rng: np.random.Generator
) -> np.ndarray:
    """Printed lines and patterns (H, W) in [0, 1]: ruled lines, boxes, a security pattern."""
    image = Image.new("L", (width, height))
    draw = ImageDraw.Draw(image)
    if on["guilloche"]:
        xs = np.arange(0, width + 4, 2, dtype=np.float64)
        count = int(rng.integers(5, 14))
        period1, period2 = rng.uniform(0.6, 3.0, size=2) * size
        for k in range(count):
            centre = height * (k + rng.uniform(0.0, 1.0)) / count
            ys = (
                centre
                + rng.uniform(0.1, 0.4) * size * np.sin(2 * np.pi * xs / period1 + rng.uniform(0, 2 * np.pi))
                + rng.uniform(0.05, 0.2) * size * np.sin(2 * np.pi * xs / period2 + k)
            )
            draw.line(list(zip(xs.tolist(), ys.tolist(), strict=True)), fill=int(rng.integers(120, 256)), width=1)
    if on["ruled"]:
        for y in (margin + size * rng.uniform(1.0, 1.15), margin - size * rng.uniform(0.1, 0.3)):
            if rng.random() < 0.8:
                draw.line([(0, y), (width, y + rng.normal(0, 0.5))], fill=255, width=1 + int(rng.random() < 0.3))
    if on["boxes"] and cells:
        top, bottom = margin - size * rng.uniform(0.1, 0.25), margin + size * rng.uniform(1.05, 1.25)
        for left, right in cells:
            draw.rectangle([left, top, right, bottom], outline=255, width=1)
    if on["field_box"]:
        pad = size * rng.uniform(0.1, 0.3)
        draw.rectangle([pad, pad, width - 1 - pad, height - 1 - pad], outline=255, width=1 + int(rng.random() < 0.4))
    return np.asarray(image, dtype=np.float32) / 255.0


def _paper(height: int, width: int, on: dict[str, bool], rng: np.random.Generator) -> np.ndarray:
    """The paper's brightness (H, W) in [0, 1]: its tone, grain, light and stains."""
    paper = np.full((height, width), rng.uniform(0.78, 1.0), dtype=np.float32)
    if on["texture"]:
        paper *= 1.0 - rng.uniform(0.03, 0.12) * _smooth_noise((height, width), cell=6, rng=rng)
        paper *= 1.0 - 0.04 * rng.random((height, width), dtype=np.float32)
    if on["gradient"] or on["shadow"]:
        ramp = linear_ramp(height, width, rng.uniform(0, 2 * np.pi))
        if on["gradient"]:
            paper *= 1.0 - rng.uniform(0.1, 0.3) * ramp
        if on["shadow"]:  # a soft edge that covers the last 10-40% of the paper
            edge = rng.uniform(0.6, 0.9)
            paper *= 1.0 - rng.uniform(0.2, 0.5) * np.clip((ramp - edge) / 0.1, 0.0, 1.0)
    if on["stain"]:
        for _ in range(int(rng.integers(1, 4))):
            blot = Image.new("L", (width, height))
            cx, cy = rng.uniform(0, width), rng.uniform(0, height)
            r = rng.uniform(0.2, 0.8) * height
            ImageDraw.Draw(blot).ellipse([cx - r * 1.5, cy - r, cx + r * 1.5, cy + r], fill=255)
            blot = blot.filter(ImageFilter.GaussianBlur(r / 3))
            paper *= 1.0 - rng.uniform(0.1, 0.3) * np.asarray(blot, dtype=np.float32) / 255.0
    return paper


def _smooth_noise(shape: tuple[int, int], cell: int, rng: np.random.Generator) -> np.ndarray:
    """Noise (H, W) in [0, 1] that varies over about `cell` pixels."""
    h, w = shape
    coarse = rng.random((h // cell + 2, w // cell + 2), dtype=np.float32)
    image = Image.fromarray(coarse, mode="F").resize((w, h), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.float32)


def _scale(glyph: Image.Image, scale: float) -> np.ndarray:
    w, h = glyph.size
    resized = glyph.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.float32) / 255.0


def _ink(image: Image.Image) -> np.ndarray:
    """A drawn mark (8-bit, light on black) cropped to its ink, as floats in [0, 1]."""
    return ink_crop(np.asarray(image), threshold=25).astype(np.float32) / 255.0


def ink_crop(glyph: np.ndarray, threshold: int) -> np.ndarray:
    """`glyph` (light on black) cropped to the rows and columns holding a pixel above
    `threshold`; an empty glyph is kept whole, so that it stays drawable."""
    ink = glyph > threshold
    rows = np.flatnonzero(ink.any(axis=1))
    if len(rows) == 0:
        return glyph
    cols = np.flatnonzero(ink.any(axis=0))
    return glyph[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
