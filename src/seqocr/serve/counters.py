"""What the service has read, counted for the whole service: with `--workers N` every
worker adds to one small file the supervisor made (locked while it adds), so
/v1/models answers for the service, whichever worker is asked."""

from __future__ import annotations

import fcntl
import os
import struct
import tempfile
from pathlib import Path

FIELDS = 2  # images read, batches run
SIZE = struct.calcsize("<q")


class Counters:
    """Per model: images read and batches run. In memory for one process; in the file at
    `path` (`create` makes it) when several processes share them."""

    def __init__(self, models: tuple[str, ...], path: str | None = None):
        self.models = models
        self.path = path
        self._local = [0] * (FIELDS * len(models))

    @classmethod
    def create(cls, models: tuple[str, ...]) -> Counters:
        handle, path = tempfile.mkstemp(prefix="seqocr-serve-", suffix=".counts")
        os.write(handle, bytes(SIZE * FIELDS * len(models)))
        os.close(handle)
        return cls(models, path)

    def add(self, model: str, images: int, batches: int = 1) -> None:
        k = FIELDS * self.models.index(model)
        if self.path is None:
            self._local[k] += images
            self._local[k + 1] += batches
            return
        with open(self.path, "r+b") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            values = list(struct.unpack_from("<qq", os.pread(f.fileno(), 2 * SIZE, k * SIZE)))
            os.pwrite(f.fileno(), struct.pack("<qq", values[0] + images, values[1] + batches), k * SIZE)

    def read(self, model: str) -> tuple[int, int]:
        """(images read, batches run) by the whole service."""
        k = FIELDS * self.models.index(model)
        if self.path is None:
            return self._local[k], self._local[k + 1]
        with open(self.path, "rb") as f:
            fcntl.flock(f, fcntl.LOCK_SH)
            images, batches = struct.unpack_from("<qq", os.pread(f.fileno(), 2 * SIZE, k * SIZE))
        return images, batches

    def remove(self) -> None:
        if self.path is not None:
            Path(self.path).unlink(missing_ok=True)
