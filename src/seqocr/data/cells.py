"""Synthetic cells and fields: digit strings where people have them, with their true boxes.

The locator (models/locator.py) learns from these. A sample is a pure function of
(seed, index): a canvas of paper, one or more digit strings drawn by the string
synthesis (`DigitStringSynth`, default and touching styles) placed anywhere at 5-100%
of the canvas height, and around them what cells cut from forms and registers carry:

- a scanner band on one side, the cell's borders, ruled lines and table rules, some
  crossing or touching the digits, an underline;
- printed labels, headers and printed numbers (Pillow's built-in face; in training also
  the fonts matplotlib ships), which are not targets;
- stamps, stray strokes, a trailing dot, cross or plus after the number;
- a piece of the neighbouring cell's handwriting cut off at an edge (not a target);
- either polarity, colour ink and paper, uneven light, blur, noise and JPEG (photos).

Layouts: a register cell, a form field with its label, a register row of several
strings between table rules, and a near-tight crop. The `cells` test suite
(data/cell_suite.py) is drawn by other code, from MNIST test digits only.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from seqocr.boxes import Box, overlaps
from seqocr.config import SynthConfig
from seqocr.data.fonts import shipped_font
from seqocr.data.synth import DigitStringSynth

LAYOUTS = (("cell", 0.5), ("field", 0.2), ("row", 0.15), ("tight", 0.15))
LABELS = (
    "Amount",
    "No.",
    "Total",
    "Date",
    "Qty",
    "$",
    "Rs.",
    "Account",
    "Ref.",
    "Nr.",
    "Betrag",
    "Sum",
    "Page",
    "Tel.",
    "Invoice",
    "Balance",
    "USD",
    "EUR",
    "Code",
    "ID",
    "Reg. No",
    "Signature",
)
HEADERS = (  # training only: longer printed words, a form's header or a caption under a photo's number
    "Total amount",
    "Amount due",
    "Customer number",
    "Serial No.",
    "Order number",
    "Counter No.",
    "Account holder",
    "Date of birth",
    "Pay to the order of",
    "Kilowatt hours",
    "Invoice total",
    "Postal code",
    "Units used",
    "Net weight",
    "Please write clearly",
)
PRINT_FONTS = (  # training only; None is Pillow's built-in face, the rest are shipped with matplotlib
    None,
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSansMono.ttf",
    "STIXGeneral.ttf",
    "STIXGeneralBol.ttf",
    "cmr10.ttf",
    "cmss10.ttf",
)
ALPHA_INK = 0.4  # a string's pixels above this share of its ink range belong to its box


@dataclass
class Cell:
    """One synthetic image (H, W, 3) uint8 and the boxes of the digit strings in it."""

    image: np.ndarray
    boxes: list[Box] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


class CellSynth:
    """Cells, fields and register rows of handwritten digit strings; `split` picks the
    MNIST digits ("train": training digits, augmented; "val": held-out ones)."""

    def __init__(self, seed: int = 0, split: str = "train"):
        self.seed = seed
        self.train = split == "train"
        augment = self.train
        self.strings = [
            DigitStringSynth(SynthConfig(split=split, seed=seed, min_len=1, max_len=10, augment=augment)),
            DigitStringSynth(
                SynthConfig(split=split, seed=seed + 1, min_len=2, max_len=10, style="touching", augment=augment)
            ),
            # training only: more short numbers (a single large digit is the hardest string to find whole)
            DigitStringSynth(SynthConfig(split=split, seed=seed + 2, min_len=1, max_len=3, augment=augment)),
        ]

    def sample(self, index: int) -> Cell:
        rng = np.random.default_rng([self.seed, index, 7])
        layout = LAYOUTS[int(rng.choice(len(LAYOUTS), p=[p for _, p in LAYOUTS]))][0]
        cell = _compose(layout, lambda k: self._string(index, k, rng), rng, varied_print=self.train)
        if self.train:  # a photo taken a little askew, out of focus: training only (validation stays as it was)
            cell = _photo(cell, np.random.default_rng([self.seed, index, 8]))
        return cell

    def _string(self, index: int, k: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        """The k-th string of sample `index` as ink alpha (h, w) in [0, 1], cropped to its ink."""
        pick = int(rng.random() < 0.3)
        if self.train and k == 0 and rng.random() < SHORT_NUMBERS:
            pick = 2
        image, text = self.strings[pick].sample(index * 8 + k)
        return ink_alpha(image), text


SHORT_NUMBERS = 0.25  # training cells whose number is drawn from the 1-3 digit synthesis
PHOTO = 0.25  # training cells turned a little and blurred, as a phone sees a page


def _photo(cell: Cell, rng: np.random.Generator) -> Cell:
    """With probability PHOTO: turned by up to 4 degrees about the centre (boxes follow:
    the box of the turned box), blurred by up to 2 px; the corners turned in show the
    paper or, in 40% of them, a darker table beyond the page's edge."""
    if rng.random() >= PHOTO:
        return cell
    height, width = cell.image.shape[:2]
    angle = rng.uniform(-4, 4)
    fill = tuple(int(v) for v in np.median(cell.image.reshape(-1, 3), axis=0))
    if rng.random() < 0.4:
        fill = tuple(int(v) for v in rng.uniform(30, 130) + rng.uniform(-15, 15, size=3))
    image = Image.fromarray(cell.image).rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=fill)
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 2.0)))
    turn = np.deg2rad(angle)
    cos, sin = np.cos(turn), np.sin(turn)
    cx, cy = width / 2, height / 2
    boxes = []
    for x0, y0, x1, y1 in cell.boxes:
        corners = np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]]) - [cx, cy]
        # PIL turns counter-clockwise for a positive angle, with y pointing down
        turned = np.stack([corners[:, 0] * cos + corners[:, 1] * sin, -corners[:, 0] * sin + corners[:, 1] * cos], 1)
        turned += [cx, cy]
        box = (max(0.0, turned[:, 0].min()), max(0.0, turned[:, 1].min()), min(float(width), turned[:, 0].max()),
               min(float(height), turned[:, 1].max()))  # fmt: skip
        boxes.append(tuple(float(v) for v in box))
    return Cell(np.asarray(image), boxes, cell.texts)  # type: ignore[arg-type]


def ink_alpha(image: np.ndarray) -> np.ndarray:
    """A rendered string (either polarity, any paper) as ink coverage in [0, 1], cropped to its ink."""
    pixels = image.astype(np.float32)
    background = float(np.median(pixels))
    ink = background - pixels if background > 127 else pixels - background
    top = float(np.percentile(ink, 99.5))
    alpha = np.clip((ink - 0.15 * top) / max(0.7 * top, 1.0), 0.0, 1.0)
    rows, cols = np.flatnonzero((alpha > ALPHA_INK).any(axis=1)), np.flatnonzero((alpha > ALPHA_INK).any(axis=0))
    if len(rows) == 0:
        return alpha
    return alpha[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _compose(layout: str, string, rng: np.random.Generator, varied_print: bool = False) -> Cell:  # noqa: ANN001  (k -> (alpha, text))
    """One cell of `layout`; `varied_print` (training) draws printed words in real fonts
    and headers beside the labels (`_label`)."""
    if layout == "row":
        width, height = int(rng.integers(260, 800)), int(rng.integers(36, 110))
    elif layout == "field":
        width, height = int(rng.integers(180, 520)), int(rng.integers(36, 130))
    else:
        width, height = int(rng.integers(70, 340)), int(rng.integers(40, 220))
    paper = rng.uniform(195, 255) - rng.uniform(0, 25, size=3) * (rng.random() < 0.4)
    ink = np.zeros((height, width), np.float32)  # handwriting coverage
    printed = np.zeros((height, width), np.float32)  # printed matter: rules, labels, bands
    cell = Cell(np.zeros((height, width, 3), np.uint8))
    taken: list[Box] = []

    if layout == "row":
        columns = int(rng.integers(2, 5))
        edges = np.sort(rng.uniform(0, width, size=columns - 1)).tolist()
        bounds = list(zip([0.0, *edges], [*edges, float(width)], strict=True))
        for x0, x1 in bounds:
            _draw_rule(printed, (x1, 0, x1, height), rng) if x1 < width else None
            if rng.random() < 0.85 and x1 - x0 > 30:
                _place_string(ink, cell, taken, string(len(cell.boxes)), (x0 + 3, 2, x1 - 3, height - 2), rng, layout)
    elif layout == "tight":
        alpha, text = string(0)
        margin = rng.uniform(0.02, 0.25)
        scale = height * (1 - 2 * margin) / alpha.shape[0]
        width = max(8, round(alpha.shape[1] * scale + 2 * margin * height * rng.uniform(0.3, 1.5)))
        ink = np.zeros((height, width), np.float32)
        printed = np.zeros((height, width), np.float32)
        cell.image = np.zeros((height, width, 3), np.uint8)
        _place_string(ink, cell, taken, (alpha, text), (0, 0, width, height), rng, layout, fill=1 - 2 * margin)
    else:
        region = (0.0, 0.0, float(width), float(height))
        if layout == "field":  # a printed label to the left or above
            label_w = _label(printed, rng, height, width, taken, left_of=True, varied=varied_print)
            region = (label_w + 4, 0.0, float(width), float(height))
        _place_string(ink, cell, taken, string(0), region, rng, layout)

    _clutter(ink, printed, cell, taken, string, rng, layout, varied_print)
    cell.image = _finish(ink, printed, paper, rng)
    return cell


def _place_string(
    ink: np.ndarray,
    cell: Cell,
    taken: list[Box],
    string: tuple[np.ndarray, str],
    region: Box,
    rng: np.random.Generator,
    layout: str,
    fill: float | None = None,
) -> None:
    """Draw the string's ink at a random size and place inside `region`; record its box."""
    alpha, text = string
    x0, y0, x1, y1 = region
    room_w, room_h = max(4.0, x1 - x0), max(4.0, y1 - y0)
    if fill is None:  # the digits' height, as a share of the image's: 5% to 100%
        share = float(np.exp(rng.uniform(np.log(0.05), np.log(0.9)))) if layout != "row" else rng.uniform(0.3, 0.8)
        fill = share * ink.shape[0] / room_h
    target_h = max(5.0, min(fill * room_h, room_h - 2))
    scale = target_h / alpha.shape[0]
    if alpha.shape[1] * scale > room_w - 2:
        scale = (room_w - 2) / alpha.shape[1]
    w, h = max(2, round(alpha.shape[1] * scale)), max(2, round(alpha.shape[0] * scale))
    glyphs = np.asarray(Image.fromarray((alpha * 255).astype(np.uint8)).resize((w, h), Image.Resampling.BILINEAR))
    x = round(x0 + rng.uniform(0, max(0.0, room_w - w)))
    y = round(y0 + rng.uniform(0, max(0.0, room_h - h)))
    region_ink = ink[y : y + h, x : x + w]
    np.maximum(region_ink, glyphs[: region_ink.shape[0], : region_ink.shape[1]] / 255.0, out=region_ink)
    box = (float(x), float(y), float(x + region_ink.shape[1]), float(y + region_ink.shape[0]))
    cell.boxes.append(box)
    cell.texts.append(text)
    taken.append(box)


def _clutter(  # noqa: ANN001
    ink, printed, cell: Cell, taken: list[Box], string, rng: np.random.Generator, layout: str, varied_print: bool
) -> None:
    """Bands, borders, rules, labels, stamps, stray marks and a neighbour's fragment."""
    height, width = ink.shape
    main = cell.boxes[0] if cell.boxes else None
    if layout != "tight" and rng.random() < 0.5:  # the scanner band on one side
        side = int(rng.integers(4))
        depth = int(rng.uniform(0.03, 0.2) * (width if side < 2 else height)) + 1
        _band(printed, side, depth, rng)
    for side in range(4):  # the cell's borders, a little inside the cut
        if layout != "tight" and rng.random() < 0.55:
            inset = rng.uniform(0, 0.08) * (width if side < 2 else height)
            line = {
                0: (inset, 0, inset, height),
                1: (width - 1 - inset, 0, width - 1 - inset, height),
                2: (0, inset, width, inset),
                3: (0, height - 1 - inset, width, height - 1 - inset),
            }[side]
            _draw_rule(printed, line, rng)
    if rng.random() < 0.35:  # ruled lines across the cell, some through the digits
        for _ in range(int(rng.integers(1, 3))):
            y = rng.uniform(0, height)
            if main is not None and rng.random() < 0.4:
                y = rng.uniform(main[1], main[3])
            _draw_rule(printed, (0, y, width, y + rng.normal(0, 1)), rng, thin=True)
    if main is not None and rng.random() < 0.35:  # an underline, handwritten or printed
        y = main[3] + rng.uniform(-0.1, 0.25) * (main[3] - main[1])
        size = main[3] - main[1]
        x0, x1 = main[0] - rng.uniform(0, 0.3) * size, main[2] + rng.uniform(0, 0.3) * size
        target = ink if rng.random() < 0.5 else printed
        _draw_rule(target, (x0, y, x1, y + rng.normal(0, 1.5)), rng, thin=True)
    if main is not None and rng.random() < 0.25:  # a trailing dot, cross or plus
        _trailing_mark(ink, main, rng)
    # printed words standing free: in half of the training cells, a third of the validation ones
    if layout in ("cell", "row") and rng.random() < (0.5 if varied_print else 0.35):
        _label(printed, rng, height, width, taken, left_of=False, varied=varied_print, near=main)
    if rng.random() < 0.35:  # the neighbouring cell's handwriting, cut off at an edge
        _fragment(ink, string(7), taken, rng)
    for _ in range(int(rng.poisson(0.6))):  # stray strokes and dots
        _stray(ink, rng)
    if rng.random() < 0.12:
        _stamp(printed, rng)


def _draw_rule(
    target: np.ndarray, line: tuple[float, float, float, float], rng: np.random.Generator, thin: bool = False
) -> None:
    height, width = target.shape
    canvas = Image.new("L", (width, height))
    stroke = int(rng.integers(1, 3 if thin else 5))
    ImageDraw.Draw(canvas).line(line, fill=int(rng.uniform(120, 255)), width=stroke)
    np.maximum(target, np.asarray(canvas, np.float32) / 255.0, out=target)


def _band(printed: np.ndarray, side: int, depth: int, rng: np.random.Generator) -> None:
    """A dark scanner band with a ragged inner edge."""
    height, width = printed.shape
    length = height if side < 2 else width
    edge = np.clip(depth + np.cumsum(rng.normal(0, 0.6, size=length)).round().astype(int), 1, None)
    level = rng.uniform(0.75, 1.0)
    for i, d in enumerate(edge):
        if side == 0:
            printed[i, :d] = level
        elif side == 1:
            printed[i, max(0, width - d) :] = level
        elif side == 2:
            printed[:d, i] = level
        else:
            printed[max(0, height - d) :, i] = level


@lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _label(
    printed: np.ndarray,
    rng: np.random.Generator,
    height: int,
    width: int,
    taken: list[Box],
    left_of: bool,
    varied: bool = False,
    near: Box | None = None,
) -> float:
    """Printed words (or a printed number): to the left (a field's label) or anywhere free.
    `varied` (training): in any of PRINT_FONTS, a header from HEADERS in 40% of them, and,
    given the number's box `near`, just above or below it in half of them. Returns the
    label's right edge (0 when none was drawn)."""
    words = str(rng.choice(LABELS))
    if varied and rng.random() < 0.4:
        words = str(rng.choice(HEADERS))
    if rng.random() < 0.3:
        words += f" {int(rng.integers(1, 99999))}"
    size = int(np.clip(rng.uniform(0.12, 0.45) * height, 7, 40))
    face = PRINT_FONTS[int(rng.integers(len(PRINT_FONTS)))] if varied else None
    font = _font(size) if face is None else shipped_font(face, size)
    beside = near if varied and near is not None and rng.random() < 0.5 else None
    canvas = Image.new("L", (width, height))
    draw = ImageDraw.Draw(canvas)
    left, top, right, bottom = draw.textbbox((0, 0), words, font=font)
    tw, th = right - left, bottom - top
    if tw >= width * (0.45 if left_of else 0.9) or th >= height:
        return 0.0
    for _ in range(6):
        x = rng.uniform(2, 0.05 * width) if left_of else rng.uniform(0, width - tw)
        y = rng.uniform(0, height - th)
        if beside is not None:  # a header over the number or a caption under it
            gap = rng.uniform(0.05, 0.6) * th
            y = beside[1] - gap - th if rng.random() < 0.5 else beside[3] + gap
            if y < 0 or y + th > height:
                continue
        box = (x, y, x + tw, y + th)
        if not any(overlaps(box, other) for other in taken):
            draw.text((x - left, y - top), words, fill=int(rng.uniform(150, 255)), font=font)
            np.maximum(printed, np.asarray(canvas, np.float32) / 255.0, out=printed)
            return x + tw
    return 0.0


def _trailing_mark(ink: np.ndarray, box: Box, rng: np.random.Generator) -> None:
    height, width = ink.shape
    size = box[3] - box[1]
    canvas = Image.new("L", (width, height))
    draw = ImageDraw.Draw(canvas)
    x, y = box[2] + rng.uniform(0.1, 0.5) * size, box[1] + rng.uniform(0.3, 0.9) * size
    stroke = max(1, round(size * 0.1))
    kind = int(rng.integers(3))
    r = size * rng.uniform(0.15, 0.35)
    if kind == 0:
        draw.ellipse((x, y, x + stroke + 1, y + stroke + 1), fill=255)
    elif kind == 1:
        draw.line((x, y - r, x + 2 * r, y + r), fill=255, width=stroke)
        draw.line((x, y + r, x + 2 * r, y - r), fill=255, width=stroke)
    else:
        draw.line((x, y, x + 2 * r, y), fill=255, width=stroke)
        draw.line((x + r, y - r, x + r, y + r), fill=255, width=stroke)
    np.maximum(ink, np.asarray(canvas, np.float32) / 255.0, out=ink)


def _fragment(ink: np.ndarray, string: tuple[np.ndarray, str], taken: list[Box], rng: np.random.Generator) -> None:
    """Part of another string, most of it outside the image, at the left, right, top or bottom."""
    height, width = ink.shape
    alpha = string[0]
    scale = rng.uniform(0.2, 0.7) * height / alpha.shape[0]
    w, h = max(2, round(alpha.shape[1] * scale)), max(2, round(alpha.shape[0] * scale))
    glyphs = np.asarray(Image.fromarray((alpha * 255).astype(np.uint8)).resize((w, h), Image.Resampling.BILINEAR))
    side = int(rng.integers(4))
    visible = rng.uniform(0.1, 0.45)
    along_y = -0.2 * h + rng.random() * max(0.0, height - 0.6 * h)
    along_x = -0.3 * w + rng.random() * max(0.0, width - 0.4 * w)
    if side == 0:
        x, y = round(-w * (1 - visible)), round(along_y)
    elif side == 1:
        x, y = round(width - w * visible), round(along_y)
    elif side == 2:
        x, y = round(along_x), round(-h * (1 - visible))
    else:
        x, y = round(along_x), round(height - h * visible)
    box = (max(0, x), max(0, y), min(width, x + w), min(height, y + h))
    if box[2] <= box[0] or box[3] <= box[1] or any(overlaps(box, other) for other in taken):
        return
    ink[box[1] : box[3], box[0] : box[2]] = np.maximum(
        ink[box[1] : box[3], box[0] : box[2]], glyphs[box[1] - y : box[3] - y, box[0] - x : box[2] - x] / 255.0
    )


def _stray(ink: np.ndarray, rng: np.random.Generator) -> None:
    height, width = ink.shape
    canvas = Image.new("L", (width, height))
    draw = ImageDraw.Draw(canvas)
    x, y = rng.uniform(0, width), rng.uniform(0, height)
    length = rng.uniform(2, 0.25 * max(width, height))
    angle = rng.uniform(0, np.pi)
    points = [(x, y), (x + length * np.cos(angle), y + length * np.sin(angle))]
    if rng.random() < 0.4:  # a tick
        points.append((points[1][0] + length, points[1][1] - 1.5 * length))
    draw.line(points, fill=255, width=int(rng.integers(1, 3)))
    np.maximum(ink, np.asarray(canvas, np.float32) / 255.0 * rng.uniform(0.3, 1.0), out=ink)


def _stamp(printed: np.ndarray, rng: np.random.Generator) -> None:
    height, width = printed.shape
    canvas = Image.new("L", (width, height))
    draw = ImageDraw.Draw(canvas)
    r = rng.uniform(0.2, 0.6) * min(width, height)
    x, y = rng.uniform(0, width), rng.uniform(0, height)
    stroke = int(rng.integers(1, 4))
    if rng.random() < 0.5:
        draw.ellipse((x - r, y - r, x + r, y + r), outline=255, width=stroke)
    else:
        draw.rectangle((x - 1.6 * r, y - r / 2, x + 1.6 * r, y + r / 2), outline=255, width=stroke)
    draw.text(
        (x - r / 2, y - r / 4),
        str(rng.choice(["PAID", "OK", "COPY", "RECEIVED"])),
        fill=255,
        font=_font(int(np.clip(r / 2, 6, 30))),
    )
    np.maximum(printed, np.asarray(canvas, np.float32) / 255.0 * rng.uniform(0.3, 0.7), out=printed)


def _finish(ink: np.ndarray, printed: np.ndarray, paper: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Paper, print and pen as colour pixels, then the capture: light, blur, noise, JPEG, polarity."""
    height, width = ink.shape
    pen = rng.uniform(0, 70, size=3)
    if rng.random() < 0.3:  # a blue or coloured pen
        pen = np.array([rng.uniform(0, 60), rng.uniform(0, 80), rng.uniform(90, 200)])
    print_colour = rng.uniform(0, 60, size=3) if rng.random() < 0.8 else rng.uniform(0, 255, size=3)
    darkness = rng.uniform(0.55, 1.0)
    pixels = np.broadcast_to(np.asarray(paper, np.float32), (height, width, 3)).copy()
    pixels += (print_colour - pixels) * (printed * rng.uniform(0.5, 1.0))[..., None]
    pixels += (pen - pixels) * (ink * darkness)[..., None]
    if rng.random() < 0.35:  # uneven light across the image
        ramp = np.linspace(rng.uniform(0.6, 1.0), rng.uniform(0.8, 1.1), width if rng.random() < 0.5 else height)
        pixels *= (ramp[None, :] if ramp.size == width else ramp[:, None])[..., None]
    pixels += rng.uniform(0, 10) * rng.standard_normal((height, width, 1)).astype(np.float32)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    if rng.random() < 0.25:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=int(rng.integers(30, 90)))
        image = Image.open(buffer).convert("RGB")
    out = np.asarray(image)
    if rng.random() < 0.1:  # light on dark: a negative scan, a blackboard
        out = 255 - out
    return out
