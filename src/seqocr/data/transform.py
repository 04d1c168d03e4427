"""The one preprocessing path, shared by training, evaluation, the CLI and the Python API."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from seqocr.config import PreprocessConfig
from seqocr.errors import SeqocrError


def preprocess(image: Image.Image | np.ndarray, config: PreprocessConfig, name: str = "image") -> Tensor:
    """An image of any size and mode -> float tensor (C, height, W) in [0, 1], ink bright.

    Resizes to `config.height` keeping the aspect ratio, normalises polarity (so ink is
    light on a dark background, like MNIST) and stretches contrast to the full range.
    """
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    mode = "L" if config.channels == 1 else "RGB"
    image = _flatten_alpha(image).convert(mode)
    w, h = image.size
    width = max(1, round(w * config.height / h))
    if width > config.max_width:
        raise SeqocrError(
            f"{name}: too wide for its height ({w}x{h} becomes {width} px wide, limit {config.max_width})"
        )
    image = image.resize((width, config.height), Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.float32) / 255.0  # (H, W) or (H, W, 3)
    if config.polarity == "auto" and np.median(pixels) > 0.5:
        pixels = 1.0 - pixels  # mostly light: dark ink on paper; make the ink bright
    low, high = float(pixels.min()), float(pixels.max())
    if high - low > 1e-3:
        pixels = (pixels - low) / (high - low)
    if width < config.min_width:  # pad tiny crops with background so T stays >= 1
        pad = [(0, 0), (0, config.min_width - width)] + [(0, 0)] * (pixels.ndim - 2)
        pixels = np.pad(pixels, pad)
    tensor = torch.from_numpy(np.ascontiguousarray(pixels))
    return tensor.unsqueeze(0) if tensor.ndim == 2 else tensor.permute(2, 0, 1)


def _flatten_alpha(image: Image.Image) -> Image.Image:
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
