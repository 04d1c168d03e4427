"""`seqocr.load`: a model name or file -> a ready `Recognizer`, on either backend."""

from __future__ import annotations

from pathlib import Path

from seqocr.charset import DIGITS
from seqocr.data.handwriting import MARKS
from seqocr.errors import SeqocrError
from seqocr.export.cache import onnx_twin
from seqocr.export.runtime import load_onnx
from seqocr.locating import StringLocator
from seqocr.recognizer import BACKENDS, Recognizer


def load(
    name_or_path: str | Path = "digits",
    backend: str = "torch",
    threads: int = 0,
    device: str | None = "auto",
    precision: str = "32",
    locate: str | None = None,
    locator: str | Path = "locator",
) -> Recognizer:
    """Load a bundled model by name ("digits"), a checkpoint, a run folder or an exported
    .onnx file. `backend="onnx"` runs a checkpoint through ONNX Runtime: it is exported
    once (checked against PyTorch) into the user cache and reused. `threads` caps the
    ONNX Runtime threads one call uses (0: all cores); PyTorch's are process-wide
    (`torch.set_num_threads`). `device` ("auto": a CUDA GPU when PyTorch sees one, else
    the CPU; "cpu", "cuda[:N]", "mps") and `precision` ("32"; "bf16", "16", or "auto":
    bf16 or 16 on a GPU) place the PyTorch backend; ONNX Runtime runs on the CPU.

    `locate` finds the number in a larger image (a cell, a field, a photo) before reading
    it: "auto" unless the image is already a tight crop, "on", "off". The default (None)
    is "auto" for models that read digit strings and "off" for the others (captchas,
    single-digit classifiers), which the `locator` (a bundled name or checkpoint) was
    not trained to find."""
    device = device or "auto"  # None: as unset
    if backend not in BACKENDS:
        raise SeqocrError(f"unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
    onnx = backend == "onnx" or str(name_or_path).endswith(".onnx")
    if onnx and device not in ("auto", "cpu"):
        raise SeqocrError(f"--device {device}: the onnx backend runs on the CPU; use --backend torch")
    if str(name_or_path).endswith(".onnx"):
        recognizer = load_onnx(name_or_path, threads)
    else:
        recognizer = Recognizer.from_checkpoint(name_or_path, "cpu" if onnx else device, precision)
        recognizer = onnx_twin(recognizer, threads) if onnx else recognizer
    if locate is None:
        locate = "auto" if reads_digit_strings(recognizer) else "off"
    return recognizer.locating(locate, StringLocator.load(locator) if locate != "off" else None)


def reads_digit_strings(recognizer: Recognizer) -> bool:
    """Whether the locator (trained on handwritten digit strings) serves this model."""
    return recognizer.family in ("ctc", "attention") and set(DIGITS.chars) <= set(recognizer.charset.chars) <= set(
        DIGITS.chars + "".join(MARKS)
    )
