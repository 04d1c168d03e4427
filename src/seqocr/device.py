"""Where a network runs and at what precision: one answer for training and reading.

`--device auto` is the first CUDA GPU when PyTorch sees one, else the CPU (Apple's
`mps` is used only when asked for). `--precision auto` is bfloat16 autocast on a GPU
that has it, float16 with a gradient scaler on an older GPU, and float32 on the CPU,
where autocast mostly slows small convolutions down; `bf16` may still be asked for on
the CPU (autocast works there too). Losses are computed in float32 whatever the
precision (models/ctc.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from seqocr.errors import SeqocrError

PRECISIONS = ("auto", "32", "bf16", "16")


def resolve_device(name: str = "auto") -> torch.device:
    """`auto`, `cpu`, `cuda`, `cuda:N` or `mps` -> a device PyTorch can use here."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise SeqocrError(f"unknown device {name!r}; choose auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise SeqocrError(f"--device {name}: this PyTorch sees no CUDA GPU (torch {torch.__version__})")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise SeqocrError(f"--device {name}: there are {torch.cuda.device_count()} CUDA GPUs here")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise SeqocrError(f"--device {name}: Apple's MPS is not available here")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise SeqocrError(f"unknown device {name!r}; choose auto, cpu, cuda, cuda:N or mps")
    return device


def resolve_precision(precision: str, device: torch.device) -> str:
    """`auto` -> what suits `device`: "bf16" or "16" on CUDA, "32" elsewhere."""
    if precision not in PRECISIONS:
        raise SeqocrError(f"unknown precision {precision!r}; choose one of: {', '.join(PRECISIONS)}")
    if precision == "auto":
        if device.type != "cuda":
            return "32"
        return "bf16" if torch.cuda.is_bf16_supported() else "16"
    if precision == "16" and device.type == "cpu":
        raise SeqocrError("--precision 16 (float16) needs a GPU; on the CPU use bf16 or 32")
    return precision


def autocast_dtype(precision: str) -> torch.dtype | None:
    return {"bf16": torch.bfloat16, "16": torch.float16}.get(precision)


@contextlib.contextmanager
def autocast(device: torch.device, precision: str) -> Iterator[None]:
    """Mixed precision for the forward pass at `precision` (resolved); float32: no change."""
    dtype = autocast_dtype(precision)
    if dtype is None:
        yield
        return
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield
