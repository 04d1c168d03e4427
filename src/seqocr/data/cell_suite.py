"""The `cells` test suite: digit strings where people have them, drawn apart from training.

Built only from MNIST *test* digits, by code that shares nothing with the training
generator (data/cells.py) but the digits: its own string layout, its own font (DejaVu
Sans, which matplotlib ships; training labels use Pillow's built-in font) and its own
scenes, a quarter each:

- register: a cell cut from a scanned register by its template, a black scanner band
  down one side, the rules above and below, the number often underlined, a trailing
  dot, cross or plus, and a neighbouring row's digits cut off at the top or bottom;
- form: a printed label ("Amount:") and a printed frame, sometimes a baseline through
  the digits' feet;
- cheque: tinted paper with a wave pattern, a printed "$" and caption, a red stamp;
- photo: a colour photo of a page: blue ink, a tilt, uneven light, blur, noise, JPEG,
  and sometimes a negative.

The number's digits are 8-60% of the image's height (at least 11 px). Each item is
(image (H, W, 3) uint8, text, box of the digits' ink). A pure function of the seed,
the index and the digits.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from seqocr.data.mnist import Digits

SCENES = ("register", "form", "cheque", "photo")
CELLS_SEED = 20_261_202
Item = tuple[np.ndarray, str, tuple[float, float, float, float]]


def cell_suite(digits: Digits, count: int, seed: int = CELLS_SEED) -> list[Item]:
    """`count` scenes, each holding one digit string of 1-8 MNIST test digits."""
    return [cell_scene(digits, seed, i) for i in range(count)]


def cell_scene(digits: Digits, seed: int, index: int) -> Item:
    rng = np.random.default_rng([seed, index, 11])
    scene = SCENES[index % len(SCENES)]
    length = int(rng.integers(1, 9))
    picks = rng.integers(0, len(digits), size=length)
    text = "".join(str(int(digits.labels[i])) for i in picks)
    strip = _write(digits.images[picks], rng)
    width, height = {
        "register": (rng.integers(160, 300), rng.integers(80, 180)),
        "form": (rng.integers(240, 440), rng.integers(60, 130)),
        "cheque": (rng.integers(300, 520), rng.integers(90, 160)),
        "photo": (rng.integers(200, 400), rng.integers(150, 300)),
    }[scene]
    page = Page(int(width), int(height), rng)
    return getattr(page, scene)(strip, text)


def _write(cells: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """MNIST cells (L, 28, 28) as one line of ink coverage in [0, 1], cropped to the ink."""
    glyphs = []
    for cell in cells:
        ink = cell > 50
        rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
        glyphs.append(cell[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])
    line = np.zeros((40, sum(g.shape[1] for g in glyphs) + 8 * len(glyphs) + 8), np.float32)
    x = 2
    for glyph in glyphs:
        y = int(np.clip(20 - glyph.shape[0] // 2 + rng.integers(-2, 3), 0, 40 - glyph.shape[0]))
        region = line[y : y + glyph.shape[0], x : x + glyph.shape[1]]
        np.maximum(region, glyph / 255.0, out=region)
        x += glyph.shape[1] + int(rng.integers(-2, 7))
    rows, cols = np.flatnonzero(line.max(axis=1) > 0.2), np.flatnonzero(line.max(axis=0) > 0.2)
    return line[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


@lru_cache(maxsize=32)
def _dejavu(size: int) -> ImageFont.FreeTypeFont:
    import matplotlib

    return ImageFont.truetype(str(Path(matplotlib.__file__).parent / "mpl-data/fonts/ttf/DejaVuSans.ttf"), size)


class Page:
    """A canvas of paper with layers drawn into it: print (dark grey) and pen (the ink)."""

    def __init__(self, width: int, height: int, rng: np.random.Generator):
        self.w, self.h, self.rng = width, height, rng
        self.print = Image.new("L", (width, height))
        self.pen = np.zeros((height, width), np.float32)
        self.colour_print = Image.new("RGB", (width, height))  # stamps
        self.colour_mask = Image.new("L", (width, height))

    def put(self, strip: np.ndarray, height: float, x: float, y: float) -> tuple[float, float, float, float]:
        """The string's ink at `height` px tall, top left at (x, y); returns its box."""
        scale = height / strip.shape[0]
        w = max(2, round(strip.shape[1] * scale))
        h = max(2, round(height))
        w = min(w, self.w - round(x) - 1)
        ink = Image.fromarray((strip * 255).astype(np.uint8)).resize((w, h), Image.Resampling.BICUBIC)
        x0, y0 = round(x), round(y)
        region = self.pen[y0 : y0 + h, x0 : x0 + w]
        np.maximum(region, np.asarray(ink, np.float32)[: region.shape[0], : region.shape[1]] / 255.0, out=region)
        return float(x0), float(y0), float(x0 + region.shape[1]), float(y0 + region.shape[0])

    def number_height(self) -> float:
        return max(11.0, self.rng.uniform(0.08, 0.6) * self.h)

    def fit(self, strip: np.ndarray, height: float, room: float) -> float:
        """The height at which the string fits in `room` pixels of width."""
        return min(height, room * strip.shape[0] / strip.shape[1])

    def register(self, strip: np.ndarray, text: str) -> Item:
        rng, draw = self.rng, ImageDraw.Draw(self.print)
        band = int(rng.uniform(0.05, 0.15) * self.w)
        left_band = rng.random() < 0.5
        x_lo, x_hi = (band + 3, self.w - 4) if left_band else (4, self.w - band - 3)
        height = self.fit(strip, self.number_height(), 0.85 * (x_hi - x_lo))
        width = height * strip.shape[1] / strip.shape[0]
        x = rng.uniform(x_lo, max(x_lo + 1, x_hi - width - 0.4 * height))
        y = rng.uniform(0.12 * self.h, max(0.12 * self.h + 1, 0.85 * self.h - height))
        box = self.put(strip, height, x, y)
        for edge in (rng.uniform(0, 0.08) * self.h, self.h - 1 - rng.uniform(0, 0.08) * self.h):
            draw.line((0, edge, self.w, edge), fill=230, width=int(rng.integers(1, 4)))
        if rng.random() < 0.6:  # underlined by the writer
            uy = box[3] + rng.uniform(0, 0.15) * height
            self._pen_line((box[0] - 0.2 * height, uy, box[2] + 0.2 * height, uy + rng.normal(0, 1)), height)
        if rng.random() < 0.4:
            self._trailing(box, height)
        if rng.random() < 0.5:  # the row above or below shows its digits' ends
            other = strip[:, ::-1] if strip.shape[1] > 4 else strip
            oh = self.fit(other, height * rng.uniform(0.8, 1.2), 0.8 * self.w)
            top = rng.random() < 0.5
            oy = -oh * rng.uniform(0.6, 0.85) if top else self.h - oh * rng.uniform(0.15, 0.4)
            if (top and oy + oh < box[1] - 2) or (not top and oy > box[3] + 2):
                self._put_clipped(other, oh, rng.uniform(0, 0.3 * self.w), oy)
        pixels = self._compose(rng.uniform(215, 250), ink=rng.uniform(0, 50))
        band_level = rng.uniform(0, 40)
        if left_band:
            pixels[:, :band] = band_level
        else:
            pixels[:, self.w - band :] = band_level
        return self._finish(pixels, text, box)

    def form(self, strip: np.ndarray, text: str) -> Item:
        rng, draw = self.rng, ImageDraw.Draw(self.print)
        label = str(rng.choice(["Amount:", "Account no.", "Total", "Qty", "Ref.", "Phone"]))
        font = _dejavu(int(np.clip(rng.uniform(0.15, 0.3) * self.h, 9, 30)))
        lw = draw.textlength(label, font=font)
        draw.text((4, self.h / 2), label, fill=255, font=font, anchor="lm")
        frame = (lw + 10, 0.1 * self.h, self.w - 4, 0.9 * self.h)
        draw.rectangle(frame, outline=230, width=int(rng.integers(1, 3)))
        room = frame[2] - frame[0] - 8
        height = self.fit(strip, min(self.number_height(), 0.7 * (frame[3] - frame[1])), 0.9 * room)
        width = height * strip.shape[1] / strip.shape[0]
        x = rng.uniform(frame[0] + 4, max(frame[0] + 5, frame[2] - 4 - width))
        y = rng.uniform(frame[1] + 3, max(frame[1] + 4, frame[3] - 3 - height))
        box = self.put(strip, height, x, y)
        if rng.random() < 0.3:  # a printed baseline through the digits' feet
            by = box[3] - rng.uniform(0, 0.2) * height
            draw.line((frame[0], by, frame[2], by), fill=200, width=1)
        return self._finish(self._compose(rng.uniform(225, 255), ink=rng.uniform(0, 60)), text, box)

    def cheque(self, strip: np.ndarray, text: str) -> Item:
        rng, draw = self.rng, ImageDraw.Draw(self.print)
        font = _dejavu(int(np.clip(0.2 * self.h, 10, 28)))
        draw.text((6, 4), "Amount", fill=200, font=font)
        dollar_x = rng.uniform(6, 0.15 * self.w)
        draw.text((dollar_x, self.h * 0.6), "$", fill=255, font=font, anchor="lm")
        left = dollar_x + draw.textlength("$", font=font) + 6
        draw.rectangle((left, 0.3 * self.h, self.w - 6, 0.92 * self.h), outline=220, width=1)
        height = self.fit(strip, min(self.number_height(), 0.5 * self.h), 0.85 * (self.w - 12 - left))
        width = height * strip.shape[1] / strip.shape[0]
        x = rng.uniform(left + 4, max(left + 5, self.w - 10 - width))
        y = rng.uniform(0.34 * self.h, max(0.34 * self.h + 1, 0.9 * self.h - height))
        box = self.put(strip, height, x, y)
        if rng.random() < 0.3:  # a red stamp, partly over the amount
            stamp = ImageDraw.Draw(self.colour_mask)
            r = rng.uniform(0.2, 0.4) * self.h
            cx, cy = rng.uniform(0, self.w), rng.uniform(0, self.h)
            stamp.ellipse((cx - r, cy - r, cx + r, cy + r), outline=150, width=2)
            stamp.text((cx, cy), "PAID", fill=150, font=_dejavu(max(8, int(r / 2))), anchor="mm")
            self.colour_print.paste((200, 30, 40), (0, 0, self.w, self.h))
        tint = np.array([rng.uniform(200, 235), rng.uniform(225, 250), rng.uniform(200, 245)])
        xs = np.arange(self.w)
        waves = np.stack([np.sin(xs / rng.uniform(3, 8) + k) for k in range(self.h)]) * rng.uniform(5, 15)
        pixels = self._compose(tint, ink=rng.uniform(0, 70), paper_pattern=waves)
        return self._finish(pixels, text, box)

    def photo(self, strip: np.ndarray, text: str) -> Item:
        rng = self.rng
        height = self.fit(strip, self.number_height(), 0.85 * self.w)
        width = height * strip.shape[1] / strip.shape[0]
        x = rng.uniform(4, max(5, self.w - 4 - width))
        y = rng.uniform(4, max(5, self.h - 4 - height))
        box = self.put(strip, height, x, y)
        if rng.random() < 0.5:
            font = _dejavu(int(np.clip(rng.uniform(0.06, 0.12) * self.h, 8, 24)))
            caption_y = box[1] - 0.15 * self.h if box[1] > 0.3 * self.h else box[3] + 0.05 * self.h
            ImageDraw.Draw(self.print).text(
                (rng.uniform(2, 0.4 * self.w), caption_y), "Meter reading", fill=230, font=font
            )
        pen = np.array([rng.uniform(10, 50), rng.uniform(20, 70), rng.uniform(110, 190)])
        pixels = self._compose(np.array([rng.uniform(190, 240)] * 3), ink=pen)
        light = np.linspace(rng.uniform(0.55, 0.85), rng.uniform(0.95, 1.1), self.w)[None, :, None]
        pixels = pixels * light
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        image = image.rotate(rng.uniform(-3, 3), resample=Image.Resampling.BILINEAR, fillcolor=(90, 90, 90))
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
        pixels = np.asarray(image, np.float32) + rng.normal(0, 6, size=(self.h, self.w, 3))
        buffer = io.BytesIO()
        quality = int(rng.integers(40, 85))
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=quality)
        out = np.asarray(Image.open(buffer).convert("RGB"))
        if rng.random() < 0.1:
            out = 255 - out
        return out, text, box

    def _pen_line(self, line: tuple[float, float, float, float], height: float) -> None:
        canvas = Image.new("L", (self.w, self.h))
        ImageDraw.Draw(canvas).line(line, fill=255, width=max(1, round(0.08 * height)))
        np.maximum(self.pen, np.asarray(canvas, np.float32) / 255.0, out=self.pen)

    def _trailing(self, box: tuple[float, float, float, float], height: float) -> None:
        x, y = box[2] + 0.25 * height, box[3] - 0.2 * height
        r = 0.18 * height
        kind = int(self.rng.integers(3))
        if kind == 0:
            self._pen_line((x, y, x + 1.5, y + 1.5), height)
        elif kind == 1:
            self._pen_line((x - r, y - 2 * r, x + r, y), height)
            self._pen_line((x - r, y, x + r, y - 2 * r), height)
        else:
            self._pen_line((x - r, y - r, x + r, y - r), height)
            self._pen_line((x, y - 2 * r, x, y), height)

    def _put_clipped(self, strip: np.ndarray, height: float, x: float, y: float) -> None:
        scale = height / strip.shape[0]
        w, h = max(2, round(strip.shape[1] * scale)), max(2, round(height))
        ink = np.asarray(Image.fromarray((strip * 255).astype(np.uint8)).resize((w, h)), np.float32) / 255.0
        x0, y0 = round(x), round(y)
        top, left = max(0, y0), max(0, x0)
        bottom, right = min(self.h, y0 + h), min(self.w, x0 + w)
        if bottom > top and right > left:
            region = self.pen[top:bottom, left:right]
            np.maximum(region, ink[top - y0 : bottom - y0, left - x0 : right - x0], out=region)

    def _compose(self, paper, ink, paper_pattern: np.ndarray | None = None) -> np.ndarray:  # noqa: ANN001
        pixels = np.broadcast_to(np.asarray(paper, np.float32), (self.h, self.w, 3)).copy()
        if paper_pattern is not None:
            pixels += paper_pattern[..., None]
        printed = np.asarray(self.print, np.float32)[..., None] / 255.0
        pixels += (30.0 - pixels) * printed * 0.9
        stamp = np.asarray(self.colour_mask, np.float32)[..., None] / 255.0
        pixels += (np.asarray(self.colour_print, np.float32) - pixels) * stamp
        pixels += (np.asarray(ink, np.float32) - pixels) * (self.pen[..., None] * self.rng.uniform(0.75, 1.0))
        return pixels

    def _finish(self, pixels: np.ndarray, text: str, box: tuple[float, float, float, float]) -> Item:
        pixels = pixels + self.rng.normal(0, 4, size=pixels.shape)
        return np.clip(pixels, 0, 255).astype(np.uint8), text, box
