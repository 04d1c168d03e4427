"""Writing files whole or not at all, and the files a user names with any failure one line
naming the path and the reason (a full disk, a file-size limit, a path under a file).

Every file seqocr writes (checkpoints, run folders, exports, labels, downloads, reports)
goes through `atomic_path`: a temporary file beside the target, renamed over it only
once complete, so a crash or a full disk leaves the previous file (or none), never a
truncated one that looks whole, and no temporary file behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from seqocr.errors import SeqocrError


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path` to write; renamed over `path` when the block ends
    without an error, removed otherwise (before the error goes on)."""
    path = Path(path)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(handle)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; what seqocr writes is meant to be shared
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_atomic(path: str | Path, data: bytes | str) -> None:
    """Write `data` to `path` whole or not at all (OSError on failure)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
        f.flush()
        os.fsync(f.fileno())


def write_whole(path: str | Path, data: bytes | str, what: str) -> None:
    """`write_atomic` for a file the user named: its folder made, a failure one line."""
    path = Path(path)
    try:
        output_folder(path.parent, what)
        write_atomic(path, data)
    except OSError as error:
        raise SeqocrError(f"{path}: cannot write {what} ({reason(error)})") from None


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
