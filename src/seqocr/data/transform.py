"""The one preprocessing path, shared by training, evaluation, the CLI and the Python API."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageFilter
from torch import Tensor

from seqocr.config import PreprocessConfig
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
    pixels, that the tensor shows: to draw where each character was read."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    mode = "L" if config.channels == 1 else "RGB"
    image = flatten_alpha(image).convert(mode)
    w, h = image.size
    scale = 1.0  # input pixels per working pixel
    if h > 2 * config.height:  # work at twice the target height: enough to find the ink, cheap
        image = image.resize((max(1, round(w * 2 * config.height / h)), 2 * config.height), Image.Resampling.BOX)
        scale = h / (2 * config.height)
    pixels = np.asarray(image, dtype=np.float32) / 255.0  # (H, W) or (H, W, 3)
    if config.polarity == "auto" and np.median(pixels) > 0.5:
        pixels = 1.0 - pixels  # mostly light: dark ink on paper; make the ink bright
    low, high = float(pixels.min()), float(pixels.max())
    if high - low > 1e-3:
        pixels = (pixels - low) / (high - low)
    box = (0.0, 0.0, float(w), float(h))
    if config.crop:
        pixels, (top, bottom, left, right) = crop_to_ink(pixels)
        box = (left * scale, top * scale, right * scale, bottom * scale)
    if config.square:
        return _into_square(pixels, config.height), box
    h, w = pixels.shape[:2]
    width = max(1, round(w * config.height / h))
    if width > config.max_width:
        raise SeqocrError(
            f"{name}: too wide for its height ({w}x{h} becomes {width} px wide, limit {config.max_width})"
        )
    pixels = _resize(pixels, width, config.height)
    if width < config.min_width:  # pad tiny crops with background so T stays >= 1
        pad = [(0, 0), (0, config.min_width - width)] + [(0, 0)] * (pixels.ndim - 2)
        pixels = np.pad(pixels, pad)
    return _to_tensor(np.array(pixels, dtype=np.float32)), box  # a writable copy


def _into_square(pixels: np.ndarray, size: int) -> Tensor:
    """Resize keeping the aspect so the longer side is `size`, centred on a size x size background."""
    h, w = pixels.shape[:2]
    scale = size / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    resized = _resize(pixels, new_w, new_h)
    canvas = np.zeros((size, size) + pixels.shape[2:], dtype=np.float32)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    canvas[top : top + new_h, left : left + new_w] = resized
    return _to_tensor(canvas)


def _to_tensor(pixels: np.ndarray) -> Tensor:
    """(H, W) or (H, W, C) float32 pixels -> a (C, H, W) tensor sharing their memory."""
    tensor = torch.from_numpy(pixels)
    return tensor.unsqueeze(0) if tensor.ndim == 2 else tensor.permute(2, 0, 1)


def crop_to_ink(pixels: np.ndarray, margin: float = 0.12) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Crop (H, W[, C]) bright-ink pixels to the ink's bounding box plus `margin` x its height;
    also returns the crop's (top, bottom, left, right).

    Ink is what stays above a quarter of full brightness on a 3x3 box-blurred copy:
    isolated noise pixels fall below it, a one-pixel stroke (a third after the blur)
    does not.
    """
    gray = pixels if pixels.ndim == 2 else pixels.mean(axis=2)
    blurred = np.asarray(
        Image.fromarray((gray * 255).astype(np.uint8)).filter(ImageFilter.BoxBlur(1)), dtype=np.float32
    )
    ink = blurred > 64
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if len(rows) == 0:
        return pixels, (0, gray.shape[0], 0, gray.shape[1])
    pad = max(1, round(margin * (rows[-1] - rows[0] + 1)))
    top, bottom = max(0, rows[0] - pad), min(gray.shape[0], rows[-1] + 1 + pad)
    left, right = max(0, cols[0] - pad), min(gray.shape[1], cols[-1] + 1 + pad)
    return pixels[top:bottom, left:right], (int(top), int(bottom), int(left), int(right))


def _resize(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    if pixels.ndim == 2:
        return np.asarray(Image.fromarray(pixels, mode="F").resize((width, height), Image.Resampling.BILINEAR))
    channels = [_resize(pixels[:, :, c], width, height) for c in range(pixels.shape[2])]
    return np.stack(channels, axis=2)


def flatten_alpha(image: Image.Image) -> Image.Image:
    """Composite transparent images onto white, as a viewer shows them."""
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        pixels = np.asarray(image, dtype=np.float32)
        return Image.fromarray((pixels / max(pixels.max(), 1.0) * 255).astype(np.uint8))
    return image


def pad_batch(tensors: list[Tensor]) -> tuple[Tensor, Tensor]:
    """Images (C, H, W_i) -> batch (B, C, H, max W) padded with background, and widths (B,)."""
    widths = torch.tensor([t.shape[-1] for t in tensors], dtype=torch.long)
    c, h = tensors[0].shape[:2]
    batch = torch.zeros(len(tensors), c, h, int(widths.max()))
    for i, t in enumerate(tensors):
        batch[i, :, :, : t.shape[-1]] = t
    return batch, widths
