"""The exported twin of a checkpoint kept in the user cache."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from seqocr.export.onnx import export_onnx, random_check_images
from seqocr.export.runtime import load_onnx
from seqocr.paths import cache_dir
from seqocr.recognizer import Recognizer


def onnx_twin(recognizer: Recognizer, threads: int = 0) -> Recognizer:
    """`recognizer` run by ONNX Runtime; exported (and checked) on first use, then cached
    under the checkpoint's content hash, so a retrained model is never served stale."""
    checkpoint = Path(recognizer.info.path)
    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()[:20]
    path = cache_dir() / "onnx" / f"{checkpoint.stem}-{digest}.onnx"
    if not path.is_file():
        images = random_check_images(recognizer.preprocess.channels, recognizer.preprocess.height)
        export_onnx(recognizer, path, images)
    twin = load_onnx(path, threads)
    twin.info = replace(recognizer.info, onnx=str(path))
    return twin
