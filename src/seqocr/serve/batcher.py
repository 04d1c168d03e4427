"""Micro-batching: images from requests that arrive together are read in one batch.

A request's preprocessed images join a queue; one task per model takes whatever is
queued (waiting at most `wait_ms` for more, up to `max_batch`), runs the network once on
a worker thread, and hands each request its own predictions. Under load, batches fill
up and throughput rises; alone, a request waits at most `wait_ms`.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from torch import Tensor

from seqocr.recognizer import Placement, Prediction, Recognizer


@dataclass
class _Job:
    tensors: list[Tensor]
    boxes: list[Placement]
    future: asyncio.Future[list[Prediction]]


class MicroBatcher:
    def __init__(
        self,
        recognizer: Recognizer,
        max_batch: int = 64,
        wait_ms: float = 2.0,
        count: Callable[[int], None] | None = None,
    ):
        self.recognizer, self.max_batch, self.wait_s = recognizer, max_batch, wait_ms / 1000
        self.count = count  # told the images of each batch run (the service's counters)
        self.queue: asyncio.Queue[_Job] = asyncio.Queue()
        self.executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="seqocr-batch"
        )  # one network run at a time
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
        self.executor.shutdown(wait=False)

    async def read(self, tensors: list[Tensor], boxes: list[Placement]) -> list[Prediction]:
        future: asyncio.Future[list[Prediction]] = asyncio.get_running_loop().create_future()
        await self.queue.put(_Job(tensors, boxes, future))
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = [await self.queue.get()]
            size = len(jobs[0].tensors)
            deadline = time.monotonic() + self.wait_s
            while size < self.max_batch:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    job = await asyncio.wait_for(self.queue.get(), remaining)
                except TimeoutError:
                    break
                jobs.append(job)
                size += len(job.tensors)
            tensors = [t for job in jobs for t in job.tensors]
            boxes = [b for job in jobs for b in job.boxes]
            try:
                predictions = await loop.run_in_executor(
                    self.executor,
                    functools.partial(self.recognizer.read_prepared, tensors, self.max_batch, None, boxes),
                )
            except Exception as error:  # a failed batch fails its requests, never the batcher
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(error)
                continue
            if self.count is not None:
                self.count(len(tensors))
            start = 0
            for job in jobs:
                if not job.future.done():  # the client may have gone away
                    job.future.set_result(predictions[start : start + len(job.tensors)])
                start += len(job.tensors)
