"""Pictures of where strings were found: each box drawn on the image with its reading
(`predict --show`, the report), and the locator's text map over a few cells (docs)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from seqocr.recognizer import Prediction

BOX_COLOUR = (230, 40, 40)


def draw_readings(image: Image.Image, predictions: Sequence[Prediction], min_width: int = 320) -> Image.Image:
    """`image` in colour (enlarged to at least `min_width` px wide), each prediction's box
    outlined and labelled with its text and confidence."""
    picture = image.convert("RGB")
    scale = max(1.0, min_width / picture.width)
    if scale > 1:
        picture = picture.resize((round(picture.width * scale), round(picture.height * scale)))
    draw = ImageDraw.Draw(picture)
    size = max(10, picture.height // 14)
    font = ImageFont.load_default(size=size)
    for p in predictions:
        if p.box is None:
            continue
        x0, y0, x1, y1 = (v * scale for v in p.box)
        draw.rectangle((x0, y0, x1, y1), outline=BOX_COLOUR, width=max(1, round(scale)))
        label = f"{p.text} {p.confidence:.2f}"
        above = y0 - size - 4 >= 0
        draw.text((x0, y0 - 2 if above else y1 + 2), label, fill=BOX_COLOUR, font=font, anchor="ld" if above else "la")
    return picture


def map_overlay(image: Image.Image, probability: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """The image (grey) with the locator's text probability (h, w) laid over it in red,
    both resized to `size`."""
    grey = image.convert("L").resize(size).convert("RGB")
    heat = Image.fromarray((np.clip(probability, 0, 1) * 255).astype(np.uint8)).resize(size, Image.Resampling.NEAREST)
    red = Image.new("RGB", size, BOX_COLOUR)
    return Image.composite(red, grey, heat.point(lambda v: int(v * 0.6)))
