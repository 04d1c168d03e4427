"""The `writers` test suite: strings in the conventions of writers outside MNIST's population.

Drawn apart from training (data/conventions.py draws them with Pillow's pen on training
digits): here strokes are rasterised from their distance field onto MNIST *test*
digits, with shapes of this module's own:

- a continental 1: a flag from the top of the stem, a foot in half of them;
- a 7 with a bar across its stem;
- a 0 with a loop or a hook where the stroke closes;
- a 4 drawn closed, or open with the stem standing clear of the left stroke;
- a 9 drawn with a straight tail.

Two in three digits are 0, 1, 4, 7 or 9, and two in three of those are written in a
convention. A string holds 4 to 8 digits, dark ink on light paper; a third of them have
a thousands separator ("." "," or "'") or a trailing "-", drawn but not in the label.
A pure function of the seed, the index and the digits.
"""

from __future__ import annotations

import numpy as np

from seqocr.data.mnist import Digits

WRITERS_SEED = 20_261_203
CONVENTION_DIGITS = (0, 1, 4, 7, 9)
Point = tuple[float, float]
CORE = 128  # MNIST pixels above this are a stroke's core, where added strokes attach


def writers_suite(digits: Digits, count: int, seed: int = WRITERS_SEED) -> list[tuple[np.ndarray, str]]:
    """`count` (image (H, W) uint8, text) pairs."""
    return [writers_string(digits, seed, i) for i in range(count)]


def writers_string(digits: Digits, seed: int, index: int) -> tuple[np.ndarray, str]:
    rng = np.random.default_rng([seed, index, 23])
    length = int(rng.integers(4, 9))
    labels = [
        int(rng.choice(CONVENTION_DIGITS)) if rng.random() < 2 / 3 else int(rng.integers(0, 10)) for _ in range(length)
    ]
    cells = [_glyph(digits, label, rng) for label in labels]
    marks: dict[int, np.ndarray] = {}
    if rng.random() < 1 / 3:
        if length > 3 and rng.random() < 0.6:
            kind = "'.,"[int(rng.integers(3))]
            for cut in range(length - 3, 0, -3):
                marks[cut] = _mark(kind, rng)
        else:
            marks[length] = _mark("-", rng)
    pieces: list[tuple[np.ndarray, int]] = []  # (ink, vertical offset)
    for k, cell in enumerate(cells):
        if k in marks:
            pieces.append((marks[k], 0))
        pieces.append((cell, int(rng.integers(0, 4))))
    if length in marks:
        pieces.append((marks[length], 0))
    return _compose(pieces, rng), "".join(map(str, labels))


def _glyph(digits: Digits, label: int, rng: np.random.Generator) -> np.ndarray:
    """A 28x28-scale ink image (float, 0-1) of `label`: an MNIST test digit, or one in a convention."""
    written = label in CONVENTION_DIGITS and rng.random() < 2 / 3
    if written and label in (4, 9):
        return _drawn_four(rng) if label == 4 else _drawn_nine(rng)
    choices = np.flatnonzero(digits.labels == label)
    ink = np.pad(digits.images[int(choices[rng.integers(len(choices))])].astype(np.float32) / 255.0, 3)  # 34x34
    if not written:
        return ink
    core = np.argwhere(ink > CORE / 255.0)  # (row, col) of the core pixels
    top, bottom = core[core[:, 0] == core[:, 0].min()], core[core[:, 0] == core[:, 0].max()]
    (ty, tx), (by, bx) = top.mean(axis=0), bottom.mean(axis=0)
    if label == 1:
        segments = [((tx, ty), (tx - rng.uniform(5, 9), ty + rng.uniform(3, 7)))]
        if rng.random() < 0.5:
            reach = rng.uniform(3, 6)
            segments.append(((bx - reach, by), (bx + reach, by + rng.uniform(-1, 1))))
    elif label == 7:
        y = ty + (by - ty) * rng.uniform(0.45, 0.6)
        row = np.flatnonzero(ink[round(y)] > CORE / 255.0)
        x = row.mean() if len(row) else (tx + bx) / 2
        reach = rng.uniform(3, 6)
        segments = [((x - reach, y + rng.uniform(-1, 1)), (x + reach, y + rng.uniform(-1, 1)))]
    else:  # 0: where the stroke closes, a small loop (a polygon) or a hook
        r = rng.uniform(1.5, 2.8)
        if rng.random() < 0.5:
            angles = np.linspace(0, 2 * np.pi, 9)
            ring = [(tx + r + r * np.cos(a), ty - r * 0.8 + r * np.sin(a)) for a in angles]
            segments = list(zip(ring, ring[1:], strict=False))
        else:
            segments = [((tx, ty + 1), (tx + rng.uniform(-5, 5), ty - rng.uniform(2, 3.5)))]
    return np.maximum(ink, _rasterise(ink.shape, segments, rng.uniform(1.8, 2.8)))


def _drawn_four(rng: np.random.Generator) -> np.ndarray:
    x0, bar, stem, width = 6.0, rng.uniform(17, 20), rng.uniform(15, 18), rng.uniform(19, 22)
    if rng.random() < 0.5:  # closed: a diagonal from the stem's top to the bar
        segments = [((stem, 6), (x0, bar)), ((x0, bar), (width + 3, bar)), ((stem, 6), (stem - 1, 26))]
    else:  # open: a short upright, the bar, a stem standing apart
        left = x0 + rng.uniform(0, 3)
        segments = [((left, 6), (x0, bar)), ((x0, bar), (width + 3, bar)), ((stem + 1, 7), (stem - 1, 26))]
    return _rasterise((34, 34), segments, rng.uniform(1.8, 2.8))


def _drawn_nine(rng: np.random.Generator) -> np.ndarray:
    cx, cy, rx, ry = 14.0, 11.0, rng.uniform(4.5, 6.5), rng.uniform(4.0, 5.0)
    angles = np.linspace(0, 2 * np.pi, 15)
    ring = [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in angles]
    segments = list(zip(ring, ring[1:], strict=False))
    segments.append(((cx + rx, cy), (cx + rx - rng.uniform(-1, 3), 27.0)))
    return _rasterise((34, 34), segments, rng.uniform(1.8, 2.8))


def _mark(kind: str, rng: np.random.Generator) -> np.ndarray:
    """A separator or a dash on a canvas as tall as a digit's, where it sits on the line."""
    segments: list[tuple[Point, Point]]
    if kind == "-":
        segments = [((2.0, 19.0), (2 + rng.uniform(7, 11), 19 + rng.uniform(-1, 1)))]
    elif kind == "'":
        segments = [((4.0, 5.0), (3.0, 10.0))]
    else:
        segments = [((3.0, 25.0), (3.5, 25.5))] + ([((4.0, 25.5), (2.5, 29.0))] if kind == "," else [])
    return _rasterise((34, 15 if kind == "-" else 8), segments, rng.uniform(2.2, 3.0))


def _rasterise(shape: tuple[int, int], segments: list[tuple[Point, Point]], width: float) -> np.ndarray:
    """Ink (float, 0-1) of line segments ((x0, y0), (x1, y1)) of a round pen `width` wide,
    from each pixel's distance to the nearest segment: anti-aliased by construction."""
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    nearest = np.full(shape, np.inf, dtype=np.float32)
    for (x0, y0), (x1, y1) in segments:
        dx, dy = x1 - x0, y1 - y0
        t = np.clip(((xs - x0) * dx + (ys - y0) * dy) / max(dx * dx + dy * dy, 1e-6), 0.0, 1.0)
        nearest = np.minimum(nearest, np.hypot(xs - (x0 + t * dx), ys - (y0 + t * dy)))
    return np.clip(width / 2 + 0.5 - nearest, 0.0, 1.0)


def _compose(pieces: list[tuple[np.ndarray, int]], rng: np.random.Generator) -> np.ndarray:
    """The pieces side by side at their ink, 1-5 px apart, dark ink on light paper."""
    height = max(p.shape[0] for p, _ in pieces) + 6
    placed, x = [], 3
    for ink, dy in pieces:
        cols = np.flatnonzero(ink.max(axis=0) > 0.1)
        ink = ink[:, cols[0] : cols[-1] + 1] if len(cols) else ink
        placed.append((ink, x, dy))
        x += ink.shape[1] + int(rng.integers(1, 6))
    canvas = np.zeros((height, x + 3), dtype=np.float32)
    for ink, px, dy in placed:
        region = canvas[dy : dy + ink.shape[0], px : px + ink.shape[1]]
        np.maximum(region, ink[: region.shape[0], : region.shape[1]], out=region)
    paper, dark = rng.uniform(200, 250), rng.uniform(10, 70)
    pixels = paper - (paper - dark) * canvas + rng.uniform(0, 5) * rng.standard_normal(canvas.shape)
    return np.clip(pixels, 0, 255).astype(np.uint8)
