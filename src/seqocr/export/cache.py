"""Loading exported models, and the exported twin of a checkpoint kept in the user cache."""

from __future__ import annotations

import hashlib
from pathlib import Path

from seqocr.charset import Charset
from seqocr.config import ModelConfig, PreprocessConfig, from_dict
from seqocr.data.mnist import cache_dir
from seqocr.export.onnx import export_onnx, random_check_images
from seqocr.export.runtime import OnnxNetwork, read_metadata
from seqocr.recognizer import Recognizer


def load_onnx(path: str | Path, threads: int = 0) -> Recognizer:
    network = OnnxNetwork(path, threads)
    meta = read_metadata(network, path)
    info = {**meta["info"], "path": str(path), "quantized": meta["quantized"]}
    return Recognizer(
        None,
        Charset(meta["charset"]),
        from_dict(PreprocessConfig, meta["preprocess"]),
        from_dict(ModelConfig, meta["model"]),
        info,
        network=network,
        temperature=meta["temperature"],
    )


def onnx_twin(recognizer: Recognizer, threads: int = 0) -> Recognizer:
    """`recognizer` run by ONNX Runtime; exported (and checked) on first use, then cached
    under the checkpoint's content hash, so a retrained model is never served stale."""
    checkpoint = Path(recognizer.info["path"])
    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()[:20]
    path = cache_dir() / "onnx" / f"{checkpoint.stem}-{digest}.onnx"
    if not path.is_file():
        images = random_check_images(recognizer.preprocess.channels, recognizer.preprocess.height)
        export_onnx(recognizer, path, images)
    twin = load_onnx(path, threads)
    twin.info = {**recognizer.info, "onnx": str(path)}
    return twin
