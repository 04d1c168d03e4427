"""The images an export is checked on: random strokes (no data needed) plus real ones."""

from __future__ import annotations

from pathlib import Path

from torch import Tensor

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
    if folder is not None:
        from seqocr.data.folder import read_folder

        paths = [path for path, _ in read_folder(folder).samples[:REAL_CHECK_IMAGES]]
        return [recognizer.prepare(path, str(path)) for path in paths]
    if not set(recognizer.charset.chars) <= set("0123456789"):
        return []
    from seqocr.data.mnist import load_split
    from seqocr.evaluate.suites import suite

    try:
        digits = load_split("test")
    except SeqocrError:  # offline with no MNIST copy: the random images still check
        return []
    return [recognizer.prepare(image) for image, _ in suite("default_1_10", digits, REAL_CHECK_IMAGES)]
