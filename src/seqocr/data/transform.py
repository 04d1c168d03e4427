"""The one preprocessing path, shared by training, evaluation, the CLI and the Python API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from seqocr.config import PreprocessConfig
from seqocr.data.images import eight_bit
from seqocr.errors import SeqocrError


def preprocess(image: Image.Image | np.ndarray, config: PreprocessConfig, name: str = "image") -> Tensor:
    """An image of any size and mode -> float tensor (C, height, W) in [0, 1], ink bright.

    Normalises polarity (ink light on a dark background, like MNIST), stretches the
    contrast to the full range, crops to the ink plus a margin, and resizes to
    `config.height` keeping the aspect ratio.
    """
    return preprocess_with_box(image, config, name)[0]


def preprocess_with_box(
    image: Image.Image | np.ndarray, config: PreprocessConfig, name: str = "image"
) -> tuple[Tensor, tuple[float, float, float, float]]:
    """`preprocess`, and the box (left, top, right, bottom) of the input image, in its own
    pixels, that the tensor shows: to draw where each character was read.

    Pixels stay 8-bit inside PIL until the image has the model's size: crop and resize
    are one PIL call, and the polarity and contrast stretch, being affine, are applied
    after it to the few pixels left, as floats.
    """
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    mode = "L" if config.channels == 1 else "RGB"
    image = flatten_alpha(image)
    if image.mode != mode:
        image = image.convert(mode)
    w, h = image.size
    scale = 1.0  # input pixels per working pixel
    if h > 2 * config.height:  # work at twice the target height: enough to find the ink, cheap
        image = image.resize((max(1, round(w * 2 * config.height / h)), 2 * config.height), Image.Resampling.BOX)
        scale = h / (2 * config.height)
    pixels = np.asarray(image)  # (H, W) or (H, W, 3) uint8
    levels = Levels.of(pixels, invert=config.polarity == "auto" and mostly_light(pixels))
    top, bottom, left, right = 0, image.height, 0, image.width
    if config.crop:
        gray = pixels if pixels.ndim == 2 else pixels.mean(axis=2)
        top, bottom, left, right = ink_box(gray, levels)
    box = (left * scale, top * scale, right * scale, bottom * scale)
    crop = (left, top, right, bottom)
    if config.square:
        return _into_square(image, crop, config.height, levels), box
    crop_w, crop_h = right - left, bottom - top
    width = max(1, round(crop_w * config.height / crop_h))
    if width > config.max_width:
        raise SeqocrError(
            f"{name}: too wide for its height ({crop_w}x{crop_h} becomes {width} px wide, limit {config.max_width})"
        )
    resized = levels.apply(np.asarray(image.resize((width, config.height), Image.Resampling.BILINEAR, box=crop)))
    if width < config.min_width:  # pad tiny crops with background so T stays >= 1
        pad = [(0, 0), (0, config.min_width - width)] + [(0, 0)] * (resized.ndim - 2)
        resized = np.pad(resized, pad)
    return _to_tensor(resized), box


def mostly_light(pixels: np.ndarray) -> bool:
    """Whether the median pixel is light (dark ink on paper), without sorting."""
    return 2 * int(np.count_nonzero(pixels > 127)) > pixels.size


@dataclass(frozen=True)
class Levels:
    """The affine map of 8-bit pixels to [0, 1] that makes the ink bright (inverting dark
    ink on paper) and stretches the image's own range to the full one."""

    offset: float
    gain: float

    @classmethod
    def of(cls, pixels: np.ndarray, invert: bool) -> Levels:
        low, high = int(pixels.min()), int(pixels.max())
        span = float(high - low) if high > low else 255.0
        return cls(high, -1 / span) if invert else cls(low, 1 / span)

    @property
    def background(self) -> int:
        """The 8-bit value that maps to 0."""
        return round(self.offset)

    def apply(self, pixels: np.ndarray) -> np.ndarray:
        values = (pixels.astype(np.float32) - np.float32(self.offset)) * np.float32(self.gain)
        return np.clip(values, 0.0, 1.0, out=values)


def _into_square(image: Image.Image, box: tuple[int, int, int, int], size: int, levels: Levels) -> Tensor:
    """The `box` (left, top, right, bottom) of `image`, resized keeping its aspect so the
    longer side is `size`, centred on a size x size background."""
    left, top, right, bottom = box
    scale = size / max(right - left, bottom - top)
    new_w, new_h = max(1, round((right - left) * scale)), max(1, round((bottom - top) * scale))
    resized = image.resize((new_w, new_h), Image.Resampling.BILINEAR, box=box)
    background = levels.background if image.mode == "L" else (levels.background,) * 3
    canvas = Image.new(image.mode, (size, size), background)
    canvas.paste(resized, ((size - new_w) // 2, (size - new_h) // 2))
    return _to_tensor(levels.apply(np.asarray(canvas)))


def _to_tensor(pixels: np.ndarray) -> Tensor:
    """(H, W) or (H, W, C) float32 pixels -> a (C, H, W) tensor sharing their memory."""
    tensor = torch.from_numpy(pixels)
    return tensor.unsqueeze(0) if tensor.ndim == 2 else tensor.permute(2, 0, 1)


def ink_box(gray: np.ndarray, levels: Levels, margin: float = 0.12) -> tuple[int, int, int, int]:
    """The (top, bottom, left, right) of the ink in (H, W) pixels whose `levels` make ink
    bright, plus `margin` x its height on every side; the whole image when there is no ink.

    Ink is what stays above a quarter of full brightness on a 3x3 box-blurred copy:
    isolated noise pixels fall below it, a one-pixel stroke (a third after the blur)
    does not. `levels` is affine and maps this image's own range into [0, 1], so the
    test is a threshold on the raw 3x3 sums: no float copy of the image is made.
    """
    height, width = gray.shape
    if height < 3 or width < 3:
        return 0, height, 0, width
    values = gray.astype(np.uint16) if gray.dtype == np.uint8 else gray  # 9 x 255 fits in 16 bits
    column_sums = values[:-2] + values[1:-1] + values[2:]
    box_sums = column_sums[:, :-2] + column_sums[:, 1:-1] + column_sums[:, 2:]  # centred on [1:-1, 1:-1]
    # a 3x3 mean whose levels are above 65/255: (sum - 9 offset) x gain > 9 x 0.255
    threshold = 9 * levels.offset + 9 * INK_LEVEL / levels.gain
    ink = box_sums > threshold if levels.gain > 0 else box_sums < threshold
    rows, cols = np.flatnonzero(ink.any(axis=1)) + 1, np.flatnonzero(ink.any(axis=0)) + 1
    if len(rows) == 0:
        return 0, height, 0, width
    pad = max(1, round(margin * (rows[-1] - rows[0] + 1)))
    top, bottom = max(0, rows[0] - pad), min(height, rows[-1] + 1 + pad)
    left, right = max(0, cols[0] - pad), min(width, cols[-1] + 1 + pad)
    return int(top), int(bottom), int(left), int(right)


INK_LEVEL = 0.255  # a quarter of full brightness: where ink begins


def flatten_alpha(image: Image.Image) -> Image.Image:
    """Composite transparent images onto white, as a viewer shows them."""
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")
    return eight_bit(image)


def width_batches(widths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices cut into batches of similar width (sorted by width), so a batch is padded
    little: the one batching rule of reading, validation, calibration and export checks."""
    order = sorted(range(len(widths)), key=lambda i: widths[i])
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def pad_batch(tensors: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
    """Images (C, H, W_i) -> batch (B, C, H, max W) padded with background, and widths (B,)."""
    widths = torch.tensor([t.shape[-1] for t in tensors], dtype=torch.long)
    c, h = tensors[0].shape[:2]
    batch = torch.zeros(len(tensors), c, h, int(widths.max()))
    for i, t in enumerate(tensors):
        batch[i, :, :, : t.shape[-1]] = t
    return batch, widths
