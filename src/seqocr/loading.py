"""`seqocr.load`: a model name or file -> a ready `Recognizer`, on either backend."""

from __future__ import annotations

from pathlib import Path

from seqocr.errors import SeqocrError
from seqocr.export.cache import onnx_twin
from seqocr.export.runtime import load_onnx
from seqocr.recognizer import BACKENDS, Recognizer


def load(
    name_or_path: str | Path = "digits",
    backend: str = "torch",
    threads: int = 0,
    device: str = "auto",
    precision: str = "32",
) -> Recognizer:
    """Load a bundled model by name ("digits"), a checkpoint, a run folder or an exported
    .onnx file. `backend="onnx"` runs a checkpoint through ONNX Runtime: it is exported
    once (checked against PyTorch) into the user cache and reused. `threads` caps the
    ONNX Runtime threads one call uses (0: all cores); PyTorch's are process-wide
    (`torch.set_num_threads`). `device` ("auto": a CUDA GPU when PyTorch sees one, else
    the CPU; "cpu", "cuda[:N]", "mps") and `precision` ("32"; "bf16", "16", or "auto":
    bf16 or 16 on a GPU) place the PyTorch backend; ONNX Runtime runs on the CPU."""
    if backend not in BACKENDS:
        raise SeqocrError(f"unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
    onnx = backend == "onnx" or str(name_or_path).endswith(".onnx")
    if onnx and device not in ("auto", "cpu"):
        raise SeqocrError(f"--device {device}: the onnx backend runs on the CPU; use --backend torch")
    if str(name_or_path).endswith(".onnx"):
        return load_onnx(name_or_path, threads)
    recognizer = Recognizer.from_checkpoint(name_or_path, "cpu" if onnx else device, precision)
    return onnx_twin(recognizer, threads) if onnx else recognizer
