"""Reading a large set of images on every core: one process per core, one thread each.

One process using all cores through its network's threads leaves the rest of the
work (decoding files, preprocessing, CTC decoding: Python, under one lock) on one
core, and the network's threads wait on each other at every layer. Processes share
nothing: each runs the same `Recognizer.predict` on its own shard, end to end, so a
2-core machine reads about twice what one core does.

>>> with ReadingPool("digits", backend="onnx") as pool:
...     predictions = pool.predict(paths)

Workers start from a fork server that imported seqocr (and torch) once: a pool starts
faster than spawned workers that each import torch, and a second pool in the same
program almost at once (docs/results.md, "A reading pool's start"). Where there is no
fork server (Windows), they are spawned. Either way the child imports the caller's main
module again, so a script must create the pool under `if __name__ == "__main__":`.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

from seqocr.config import DecodeConfig
from seqocr.data.images import ImageInput
from seqocr.errors import SeqocrError
from seqocr.loading import load
from seqocr.machine import usable_cores
from seqocr.recognizer import Prediction, Recognizer, image_name, raise_first

SHARD_IMAGES = 4096  # at most this many images per task: bounds memory; large enough to batch by width


class ReadingPool:
    """`workers` processes (default: one per core), each holding the model loaded once
    with one thread. `predict` keeps input order and raises the same one-line errors
    as `Recognizer.predict`, naming images by their place in the whole input.
    `start_method` ("forkserver" or "spawn") overrides how workers start; by default
    from the fork server where the platform has one."""

    def __init__(
        self,
        model: str | Path = "digits",
        backend: str = "torch",
        workers: int = 0,
        locate: str | None = None,
        start_method: str | None = None,
    ):
        self.workers = workers or usable_cores()
        context = _worker_context(start_method)  # a bad method fails before any model loads
        load(model, backend, device="cpu", locate=locate)  # fail here, in the caller, on a bad name; exports once
        self._executor = ProcessPoolExecutor(
            self.workers,
            mp_context=context,
            initializer=_load_worker,
            initargs=(str(model), backend, locate),
        )

    def predict(
        self, images: Sequence[ImageInput], batch_size: int = 64, decoding: DecodeConfig | None = None
    ) -> list[Prediction]:
        return raise_first(self.read(images, batch_size, decoding))

    def _map(
        self, images: Sequence[ImageInput], batch_size: int, decoding: DecodeConfig | None, every: bool
    ) -> list[Any]:
        shard = max(1, min(SHARD_IMAGES, -(-len(images) // self.workers)))  # ceil: one shard per worker when small
        starts = range(0, len(images), shard)
        named = [
            [(image, image_name(image, i)) for i, image in enumerate(images[s : s + shard], start=s)] for s in starts
        ]
        n = len(named)
        results: list[Any] = []
        for part in self._executor.map(_read_shard, named, [batch_size] * n, [decoding] * n, [every] * n):
            results += part
        return results

    def read(
        self, images: Sequence[ImageInput], batch_size: int = 64, decoding: DecodeConfig | None = None
    ) -> list[Prediction | SeqocrError]:
        """`Recognizer.read` across the processes: an unusable image's place holds its
        error, and every other image is still read."""
        return self._map(images, batch_size, decoding, every=False)

    def read_every_string(
        self, images: Sequence[ImageInput], batch_size: int = 64, decoding: DecodeConfig | None = None
    ) -> list[list[Prediction] | SeqocrError]:
        """`Recognizer.read_every_string` across the processes (`--all`)."""
        return self._map(images, batch_size, decoding, every=True)

    def warm_up(self) -> None:
        """Start every worker and load its model now, not on the first call."""
        n = self.workers
        list(self._executor.map(_read_shard, [[]] * n, [1] * n, [None] * n, [False] * n))

    def close(self) -> None:
        self._executor.shutdown(cancel_futures=True)

    def __enter__(self) -> ReadingPool:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


_worker_recognizer: Recognizer | None = None  # each worker process's model, loaded once by its initializer


START_METHODS = ("forkserver", "spawn")


def start_methods() -> list[str]:
    """The ways a pool can start its workers here, the default first."""
    return [m for m in START_METHODS if m in multiprocessing.get_all_start_methods()]


def _worker_context(method: str | None) -> multiprocessing.context.BaseContext:
    """`method`'s context; by default the fork server, preloaded with this module, where
    the platform has one, else spawn. Not a plain fork: a child forked from the caller
    would inherit torch's thread pool mid-state. The fork server is a clean process that
    imports and never computes."""
    available = start_methods()
    if method is not None and method not in available:
        raise SeqocrError(f"a reading pool starts its workers by {' or '.join(available)}, not {method!r}")
    if (method or available[0]) == "spawn":
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["seqocr.pool"])  # read when the server starts: once per program
    return context


def _load_worker(model: str, backend: str, locate: str | None) -> None:
    global _worker_recognizer
    import torch

    torch.set_num_threads(1)
    _worker_recognizer = load(model, backend, threads=1, device="cpu", locate=locate)  # one CPU core each


def _read_shard(
    named: list[tuple[ImageInput, str]], batch_size: int, decoding: DecodeConfig | None, every: bool
) -> list[Any]:
    """One shard's answers, errors in place: a prediction per image, or with `every` the
    list of every string in it."""
    assert _worker_recognizer is not None, "worker started without its model"
    if every:
        return _worker_recognizer.read_every_string(named, batch_size, decoding)  # type: ignore[return-value]
    return _worker_recognizer.read(named, batch_size, decoding)
