"""Where an attention model looked for each character it wrote, drawn over its input."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from torch import Tensor

from seqocr.errors import SeqocrError

SCALE = 3  # the model input is small: draw it three times larger
LABEL_WIDTH = 28  # a column on the left for the character of each row


def draw_attention(tensor: Tensor, text: str, attention: tuple[tuple[float, ...], ...]) -> Image.Image:
    """The preprocessed input (C, H, W) once, then one row per character of `text` with
    that step's attention weights (over the image's time steps) shaded in red."""
    if not attention:
        raise SeqocrError("no attention weights to draw: --show-attention needs an attention model")
    gray = tensor.mean(0).numpy()  # (H, W) in [0, 1], ink bright
    h, w = gray.shape
    base = Image.fromarray((255 - gray * 255).astype(np.uint8)).resize((w * SCALE, h * SCALE)).convert("RGB")
    rows = [("", base)]
    for char, weights in zip(text, attention, strict=True):
        columns = np.repeat(np.asarray(weights, dtype=np.float32), int(np.ceil(w / len(weights))))[:w]
        heat = np.clip(columns / max(float(columns.max()), 1e-6), 0, 1)
        overlay = np.asarray(base, dtype=np.float32).copy()
        shade = np.repeat(heat, SCALE)[None, :, None]  # (1, W*SCALE, 1)
        red = np.array([230.0, 30.0, 30.0])[None, None, :]
        overlay = overlay * (1 - 0.6 * shade) + red * 0.6 * shade
        rows.append((char, Image.fromarray(overlay.astype(np.uint8))))
    canvas = Image.new("RGB", (LABEL_WIDTH + w * SCALE, len(rows) * (h * SCALE + 4)), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (char, image) in enumerate(rows):
        top = i * (h * SCALE + 4)
        canvas.paste(image, (LABEL_WIDTH, top))
        draw.text((8, top + h * SCALE // 2 - 6), char, fill="black")
    return canvas
