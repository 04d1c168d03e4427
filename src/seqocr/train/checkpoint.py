"""One self-describing checkpoint format, loaded without unpickling arbitrary objects.

A checkpoint holds only tensors and plain Python values (the configs as dicts, the
charset as a string), so `torch.load(..., weights_only=True)` reads it safely. Files are
written to a temporary name and renamed, so an interrupted save never leaves a broken one.
"""

from __future__ import annotations

import io
import os
import pickle
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch

from seqocr.errors import SeqocrError

FORMAT = "seqocr-checkpoint"
VERSION = 1


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write atomically: serialised in memory, written to a temporary file, renamed. A disk
    that fills up leaves the previous file as it was and no temporary file behind."""
    path = Path(path)
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "version": VERSION, **payload}, buffer)
    data = buffer.getbuffer()
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(handle, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a checkpoint is meant to be shared
        os.replace(tmp, path)
        tmp = None
    except OSError as error:
        free = shutil.disk_usage(path.parent).free if path.parent.is_dir() else 0
        raise CheckpointWriteError(
            f"{path.parent}: cannot write {path.name} ({error.strerror or error}; it needs "
            f"{len(data) / 1e6:.1f} MB, {free / 1e6:.1f} MB free)"
        ) from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


class CheckpointWriteError(SeqocrError):
    """A checkpoint could not be written (a full disk, a file-size limit); the previous one stays."""


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise SeqocrError(f"{path}: no such checkpoint file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        # torch's message advises weights_only=False, which would run whatever the file holds: never pass it on
        if "unsupported global" in str(error).lower():
            raise SeqocrError(f"{path}: not a safe seqocr checkpoint (it holds pickled Python objects)") from None
        raise SeqocrError(f"{path}: not a readable seqocr checkpoint (not a checkpoint file)") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise SeqocrError(f"{path}: not a readable seqocr checkpoint ({reason})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SeqocrError(f"{path}: not a seqocr checkpoint")
    if data.get("version", 0) > VERSION:
        raise SeqocrError(f"{path}: checkpoint version {data['version']} is newer than this seqocr reads")
    return data
