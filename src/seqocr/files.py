"""Writing the files a user names: whole or not at all, and any failure one line naming
the path and the reason (a full disk, a file-size limit, a path under a file)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from seqocr.errors import SeqocrError


def write_whole(path: str | Path, data: bytes | str, what: str) -> None:
    """Write `data` to `path` through a temporary file renamed over it, so a failure leaves
    the previous file (or none), never a truncated one that looks whole."""
    path = Path(path)
    payload = data.encode() if isinstance(data, str) else data
    tmp = None
    try:
        output_folder(path.parent, what)
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(handle, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private
        os.replace(tmp, path)
        tmp = None
    except OSError as error:
        raise SeqocrError(f"{path}: cannot write {what} ({reason(error)})") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def output_folder(path: str | Path, what: str) -> Path:
    """`path` as a folder that exists (made with its parents when missing), or one line saying why not."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise SeqocrError(f"{path}: cannot write {what} (exists and is not a folder)") from None
    except OSError as error:
        raise SeqocrError(f"{path}: cannot write {what} ({reason(error)})") from None
    return path


def reason(error: OSError) -> str:
    """An OSError's reason in words, without its path (the caller names the path)."""
    return error.strerror or str(error)
