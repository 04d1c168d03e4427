"""Opening images safely: every failure becomes a one-line error naming the file."""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

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
        raise SeqocrError(f"{path}: is a directory, not an image (and holds no images to read)")
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
                return upright(eight_bit(image.copy() if image.mode != "P" else image.convert("RGBA"), name))
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
        try:
            image.load()
        except ValueError as error:  # "Operation on closed image"
            raise SeqocrError(f"{name}: unusable PIL image ({error})") from None
        check_size(image.size, name)
        return upright(eight_bit(image, name))
    if isinstance(image, np.ndarray):
        return _from_array(image, name)
    raise SeqocrError(f"{name}: expected a path, PIL image or numpy array, got {type(image).__name__}")


def _from_array(array: np.ndarray, name: str) -> Image.Image:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise SeqocrError(f"{name}: array shape {array.shape} is not HxW, HxWx3 or HxWx4")
    check_size((array.shape[1], array.shape[0]), name)
    return Image.fromarray(np.ascontiguousarray(to_uint8(array, name)))


def upright(image: Image.Image) -> Image.Image:
    """The image as it is meant to be seen: a phone photo saved sideways with an EXIF
    orientation tag is turned upright (read as stored, it is a line of sideways digits)."""
    orientation = image.getexif().get(ORIENTATION_TAG, 1)
    return ImageOps.exif_transpose(image) if orientation not in (0, 1) else image


ORIENTATION_TAG = 0x0112
FLOAT_OVERSHOOT = 0.25  # floats this far outside [0, 1] are still [0, 1] images (resampling overshoot)


def eight_bit(image: Image.Image, name: str = "image") -> Image.Image:
    """Float (mode F) and 32- or 16-bit integer images (modes I, I;16) as 8-bit ones, by
    the rule of `to_uint8`; Pillow's own conversion clips them, so [0, 1] floats go black."""
    if image.mode in ("F", "I") or image.mode.startswith("I;16"):
        return Image.fromarray(to_uint8(np.asarray(image), name))
    return image


def to_uint8(array: np.ndarray, name: str = "image") -> np.ndarray:
    """Pixels of any numeric type as 8-bit ones; the one rule for every input:
    - booleans: False 0, True 255;
    - integers: kept when all lie in 0..255 (8-bit values in a wider type), else scaled
      from the full 16-bit range (/257) when they fit it, else from their own maximum;
    - floats: [0, 1] scaled to 0..255, and so are values a little outside it (down to
      -0.25, up to 1.25: a binarised scan after a bicubic resize overshoots), clipped;
      values up to 255 kept; larger ones scaled from their own maximum; NaN or infinity
      refused.
    Anything else (strings, dates, objects) is not an image."""
    kind = array.dtype.kind
    if kind == "b":
        return array.astype(np.uint8) * 255
    if array.dtype == np.uint8:
        return array
    if kind not in "uif":
        raise SeqocrError(f"{name}: an array of {array.dtype} values is not an image (need numbers)")
    values = array.astype(np.float64)
    if kind == "f" and not np.isfinite(values).all():
        raise SeqocrError(f"{name}: array has NaN or infinite values")
    low, high = float(values.min(initial=0.0)), float(values.max(initial=0.0))
    if kind == "f" and low >= -FLOAT_OVERSHOOT and high <= 1.0 + FLOAT_OVERSHOOT:
        values = np.clip(values, 0.0, 1.0) * 255.0
    elif high > 255 and kind in "ui" and high <= 65535 and low >= 0:
        values = values / 257.0
    elif high > 255:
        values = values * (255.0 / high)
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)
