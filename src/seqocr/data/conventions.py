"""Writers' conventions MNIST's and USPS's American writers rarely use, drawn into training glyphs.

Each convention is an effect of data/effects.py, drawn per digit of its kind with its
probability: strokes added to a real glyph (a 1's flag and foot, a 7's crossbar, a 0's
loop) or a glyph drawn from strokes in its place (an open or closed 4, a 9 with a
straight tail). Glyphs are light on black at MNIST's scale (about 20 px tall); strokes
are drawn at four times that size and reduced, so their edges are as soft as the
scanned ones. The `writers` test suite (data/writers_suite.py) draws these
conventions with code of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw

from seqocr.data.handwriting import ink_crop

SUPERSAMPLE = 4
INK = 100  # glyph pixels above this are the stroke's core when finding where to attach a stroke
Point = tuple[float, float]


def flag_one(glyph: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A continental 1: a lead-in flag from the top of the stem, down to the left; a foot
    across the bottom half of the time."""
    ink = np.asarray(glyph)
    h = ink.shape[0]
    top_x, top_y = _end(ink, top=True)
    length, angle = h * rng.uniform(0.28, 0.5), np.radians(rng.uniform(20, 60))
    end = (top_x - length * np.cos(angle), top_y + length * np.sin(angle))
    bend = ((top_x + end[0]) / 2 + rng.normal(0, 0.03 * h), (top_y + end[1]) / 2 - rng.uniform(0, 0.06) * h)
    strokes = [[end, bend, (top_x, top_y)]]
    if rng.random() < 0.5:
        foot_x, foot_y = _end(ink, top=False)
        half = h * rng.uniform(0.15, 0.3)
        tilt = rng.normal(0, 0.03 * h)
        strokes.append([(foot_x - half, foot_y + tilt), (foot_x + half, foot_y - tilt)])
    return _with_strokes(glyph, strokes, _width(h, rng))


def crossed_seven(glyph: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A 7 with a bar across its stem, a little below the middle."""
    ink = np.asarray(glyph)
    h = ink.shape[0]
    y = round(h * rng.uniform(0.45, 0.62))
    x = _centre_of_row(ink, y)
    half, tilt = h * rng.uniform(0.14, 0.28), rng.normal(0, 0.03 * h)
    shift = rng.normal(0, 0.04 * h)
    return _with_strokes(glyph, [[(x - half + shift, y + tilt), (x + half + shift, y - tilt)]], _width(h, rng))


def looped_zero(glyph: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A 0 whose stroke, back at its start, runs on: a small loop on top, or an overshoot."""
    ink = np.asarray(glyph)
    h, w = ink.shape
    x, y = _end(ink, top=True)
    if rng.random() < 0.5:  # a small loop where the stroke crosses its start (kept small: not an 8)
        rx, ry = w * rng.uniform(0.08, 0.15), h * rng.uniform(0.05, 0.1)
        cx, cy = x + rng.uniform(0.0, 0.8) * rx, y - ry * rng.uniform(0.2, 0.7)
        turns = np.linspace(0, 2 * np.pi, 16) + np.pi / 2
        loop = [(cx + rx * np.cos(t), cy + ry * np.sin(t)) for t in turns]
        return _with_strokes(glyph, [loop], _width(h, rng))
    reach = h * rng.uniform(0.12, 0.25)
    direction = rng.choice([-1.0, 1.0])
    tail = [(x, y + 0.05 * h), (x + direction * reach * 0.6, y - reach * 0.4), (x + direction * reach, y - reach)]
    return _with_strokes(glyph, [tail], _width(h, rng))


def drawn_four(glyph: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A 4 drawn from strokes, the size of the glyph it replaces: closed (a triangle on
    the bar) or open (two uprights), the stem crossing the bar."""
    h = glyph.height
    w = h * rng.uniform(0.55, 0.8)
    stem_x, bar_y = w * rng.uniform(0.6, 0.8), h * rng.uniform(0.55, 0.72)
    lean = h * rng.uniform(-0.05, 0.15)  # the stem's foot to the left of its top
    j = _jitter(rng, 0.03 * h)
    if rng.random() < 0.5:
        upper = [(stem_x + j(), j()), (j(), bar_y + j()), (w + j(), bar_y + j())]
        stem = [(stem_x + j(), j()), (stem_x - lean, h)]
    else:
        left = w * rng.uniform(0.0, 0.2)
        upper = [(left + j(), j()), (left * 0.5 + j(), bar_y + j()), (w + j(), bar_y + j())]
        stem = [(stem_x + j(), h * rng.uniform(0.0, 0.2)), (stem_x - lean, h)]
    return _drawn(h, w, [upper, stem], _width(h, rng))


def straight_nine(glyph: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A 9 drawn from strokes: an oval head and a straight tail down from its right side."""
    h = glyph.height
    head_h = h * rng.uniform(0.38, 0.5)
    head_w = head_h * rng.uniform(0.9, 1.3)
    lean = h * rng.uniform(-0.05, 0.15)
    x0 = max(0.0, lean)
    turns = np.linspace(0, 2 * np.pi * rng.uniform(1.0, 1.1), 20)
    head = [(x0 + head_w / 2 * (1 + np.cos(t)), head_h / 2 * (1 - np.sin(t))) for t in turns]
    tail = [(x0 + head_w, head_h * rng.uniform(0.2, 0.6)), (x0 + head_w - lean, h)]
    return _drawn(h, x0 + head_w + 1, [head, tail], _width(h, rng))


CONVENTIONS: dict[str, tuple[str, Callable[[Image.Image, np.random.Generator], Image.Image]]] = {
    "1": ("flag_one", flag_one),
    "7": ("crossed_seven", crossed_seven),
    "0": ("looped_zero", looped_zero),
    "4": ("drawn_four", drawn_four),
    "9": ("straight_nine", straight_nine),
}


def convention(glyph: Image.Image, char: str, rng: np.random.Generator, p: dict[str, float]) -> Image.Image:
    """`glyph` written by a writer of `char`'s convention, with its effect's probability.
    Draws nothing from `rng` when that probability is 0, so styles without conventions
    render as they always did."""
    if char not in CONVENTIONS:
        return glyph
    name, draw = CONVENTIONS[char]
    if p[name] <= 0 or rng.random() >= p[name]:
        return glyph
    return draw(glyph, rng)


def _end(ink: np.ndarray, top: bool) -> Point:
    """Where the stroke reaches the glyph's top (or bottom): the middle of its core pixels there."""
    rows = np.flatnonzero(ink.max(axis=1) > INK)
    if len(rows) == 0:
        return ink.shape[1] / 2, 0.0 if top else ink.shape[0] - 1.0
    y = int(rows[0] if top else rows[-1])
    return _centre_of_row(ink, y), float(y)


def _centre_of_row(ink: np.ndarray, y: int) -> float:
    y = min(max(y, 0), ink.shape[0] - 1)
    cols = np.flatnonzero(ink[y] > INK)
    return float(cols.mean()) if len(cols) else ink.shape[1] / 2


def _width(height: int, rng: np.random.Generator) -> float:
    return max(1.5, height * rng.uniform(0.09, 0.15))


def _jitter(rng: np.random.Generator, scale: float) -> Callable[[], float]:
    return lambda: float(rng.normal(0, scale))


def _with_strokes(glyph: Image.Image, strokes: Sequence[Sequence[Point]], width: float) -> Image.Image:
    """`glyph` with `strokes` (in its coordinates, which may run outside it) drawn on."""
    ink = np.asarray(glyph)
    xs = [x for stroke in strokes for x, _ in stroke]
    ys = [y for stroke in strokes for _, y in stroke]
    pad = int(np.ceil(width)) + 1
    left = pad + max(0, int(np.ceil(-min(xs))))
    top = pad + max(0, int(np.ceil(-min(ys))))
    canvas_w = left + max(ink.shape[1], int(np.ceil(max(xs))) + 1) + pad
    canvas_h = top + max(ink.shape[0], int(np.ceil(max(ys))) + 1) + pad
    moved = [[(x + left, y + top) for x, y in stroke] for stroke in strokes]
    drawn = _strokes(canvas_w, canvas_h, moved, width)
    drawn[top : top + ink.shape[0], left : left + ink.shape[1]] = np.maximum(
        drawn[top : top + ink.shape[0], left : left + ink.shape[1]], ink
    )
    return Image.fromarray(ink_crop(drawn, 24))


def _drawn(height: float, width: float, strokes: Sequence[Sequence[Point]], stroke_width: float) -> Image.Image:
    """A glyph of strokes alone, in a box of `width` x `height` plus the strokes' width."""
    pad = int(np.ceil(stroke_width)) + 1
    moved = [[(x + pad, y + pad) for x, y in stroke] for stroke in strokes]
    drawn = _strokes(int(np.ceil(width)) + 2 * pad, int(np.ceil(height)) + 2 * pad, moved, stroke_width)
    return Image.fromarray(ink_crop(drawn, 24))


def _strokes(width: int, height: int, strokes: Sequence[Sequence[Point]], stroke_width: float) -> np.ndarray:
    """Polylines (H, W) uint8, light on black, drawn large and reduced for soft edges."""
    s = SUPERSAMPLE
    big = Image.new("L", (width * s, height * s))
    draw = ImageDraw.Draw(big)
    pen = max(1, round(stroke_width * s))
    for stroke in strokes:
        points = [(x * s, y * s) for x, y in stroke]
        draw.line(points, fill=255, width=pen, joint="curve")
        for x, y in (points[0], points[-1]):  # round ends, as a pen leaves them
            draw.ellipse([x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2], fill=255)
    return np.array(big.resize((width, height), Image.Resampling.BOX))
