"""Opening images safely: every failure becomes a one-line error naming the file."""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from seqocr.errors import SeqocrError

ImageInput = str | Path | Image.Image | np.ndarray
MAX_PIXELS = 50_000_000  # refuse decompression bombs before decoding them
MIN_SIDE = 4  # smaller than this cannot hold a readable character


def open_image(path: str | Path) -> Image.Image:
    """Open and fully decode an image file, or raise SeqocrError saying why not."""
    path = Path(path)
    if not path.exists():
        raise SeqocrError(f"{path}: no such file")
    if path.is_dir():
        raise SeqocrError(f"{path}: is a directory, not an image")
    try:
        if path.stat().st_size == 0:
            raise SeqocrError(f"{path}: empty file")
        return _decode(path, str(path))
    except PermissionError:
        raise SeqocrError(f"{path}: cannot read (permission denied)") from None


def decode_image(data: bytes, name: str, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode an image sent as bytes (an upload), with the same checks as a file; the
    size is checked from the header, before any pixel is decoded."""
    if not data:
        raise SeqocrError(f"{name}: empty file")
    return _decode(io.BytesIO(data), name, max_pixels)


def _decode(source: Path | io.BytesIO, name: str, max_pixels: int = MAX_PIXELS) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                check_size(image.size, name, max_pixels)
                image.load()
                return image.copy() if image.mode != "P" else image.convert("RGBA")
    except SeqocrError:
        raise
    except PermissionError:
        raise
    except UnidentifiedImageError:
        raise SeqocrError(f"{name}: not an image (unknown or unsupported format)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # Pillow refuses before we can read the size; its message carries the pixel count.
        found = re.search(r"\((\d+) pixels\)", str(error))
        size = f"{int(found.group(1)):,} pixels" if found else "too many pixels"
        raise SeqocrError(f"{name}: image too large ({size}, limit {max_pixels:,})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise SeqocrError(f"{name}: truncated or corrupt image ({error})") from None


def check_size(size: tuple[int, int], name: str, max_pixels: int = MAX_PIXELS) -> None:
    width, height = size
    if width * height > max_pixels:
        raise SeqocrError(
            f"{name}: image too large ({width}x{height} = {width * height:,} pixels, limit {max_pixels:,})"
        )
    if min(width, height) < MIN_SIDE:
        raise SeqocrError(f"{name}: image too small ({width}x{height}); need at least {MIN_SIDE}x{MIN_SIDE}")


def as_pil(image: ImageInput, name: str) -> Image.Image:
    """Any supported input (path, PIL image, array HxW / HxWxC) as a PIL image."""
    if isinstance(image, (str, Path)):
        return open_image(image)
    if isinstance(image, Image.Image):
        check_size(image.size, name)
        return image
    if isinstance(image, np.ndarray):
        return _from_array(image, name)
    raise SeqocrError(f"{name}: expected a path, PIL image or numpy array, got {type(image).__name__}")


def _from_array(array: np.ndarray, name: str) -> Image.Image:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise SeqocrError(f"{name}: array shape {array.shape} is not HxW, HxWx3 or HxWx4")
    check_size((array.shape[1], array.shape[0]), name)
    if array.dtype == np.uint8:
        pass
    elif array.dtype == np.uint16:
        array = (array // 257).astype(np.uint8)
    elif np.issubdtype(array.dtype, np.floating) or array.dtype == np.bool_:
        values = array.astype(np.float32)
        if not np.isfinite(values).all():
            raise SeqocrError(f"{name}: array has NaN or infinite values")
        scale = 255.0 if values.max(initial=0.0) <= 1.0 else 1.0  # [0, 1] floats or [0, 255]
        array = np.clip(values * scale, 0, 255).astype(np.uint8)
    else:
        array = np.clip(array, 0, 255).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(array))
