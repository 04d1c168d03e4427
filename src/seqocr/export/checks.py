"""The images an export is checked on: random strokes (no data needed) plus real ones."""

from __future__ import annotations

from pathlib import Path

from torch import Tensor

from seqocr.charset import DIGITS
from seqocr.data.suites import folder_or_suites
from seqocr.errors import SeqocrError
from seqocr.export.onnx import random_check_images
from seqocr.recognizer import Recognizer

REAL_CHECK_IMAGES = 100


def check_images(recognizer: Recognizer) -> list[Tensor]:
    """Random images of many widths: a numerical check that needs no dataset."""
    return random_check_images(recognizer.preprocess.channels, recognizer.preprocess.height)


def real_check_images(recognizer: Recognizer, folder: Path | None = None) -> list[Tensor]:
    """`folder`'s images, or MNIST test digit strings for a digit model when MNIST is at
    hand; none otherwise."""
    if folder is None and not set(recognizer.charset.chars) <= set(DIGITS.chars):
        return []
    try:
        images = folder_or_suites(folder, ["default_1_10"], REAL_CHECK_IMAGES).images[:REAL_CHECK_IMAGES]
    except SeqocrError:
        if folder is not None:
            raise
        return []  # offline with no MNIST copy: the random images still check
    return [recognizer.prepare(image, str(image) if isinstance(image, Path) else "image") for image in images]
