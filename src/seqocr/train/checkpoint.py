"""One self-describing checkpoint format, loaded without unpickling arbitrary objects.

A checkpoint holds only tensors and plain Python values (the configs as dicts, the
charset as a string), so `torch.load(..., weights_only=True)` reads it safely. Files are
written to a temporary name and renamed, so an interrupted save never leaves a broken one.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch

from seqocr.errors import SeqocrError

FORMAT = "seqocr-checkpoint"
VERSION = 1


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(handle)
    try:
        torch.save({"format": FORMAT, "version": VERSION, **payload}, tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a checkpoint is meant to be shared
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise SeqocrError(f"{path}: no such checkpoint file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, OSError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise SeqocrError(f"{path}: not a readable seqocr checkpoint ({reason})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SeqocrError(f"{path}: not a seqocr checkpoint")
    if data.get("version", 0) > VERSION:
        raise SeqocrError(f"{path}: checkpoint version {data['version']} is newer than this seqocr reads")
    return data
