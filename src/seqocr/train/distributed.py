"""Several training processes under torchrun: PyTorch's DistributedDataParallel, nothing home-made.

`torchrun --nproc-per-node N -m seqocr train ...` starts N copies of the same command
with RANK, WORLD_SIZE and LOCAL_RANK set; each joins the process group (nccl between
GPUs, gloo between CPU processes), trains on its share of every epoch's samples, and
DDP averages the gradients. Rank 0 alone writes the run folder and prints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Processes:
    """This process's place among the run's processes (rank 0 of 1 when alone)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """The one process that writes files and prints."""
        return self.rank == 0

    @property
    def several(self) -> bool:
        return self.world > 1

    def sum(self, values: list[float]) -> list[float]:
        """Each value summed over every process."""
        if not self.several:
            return values
        tensor = torch.tensor(values, dtype=torch.float64, device=_collective_device())
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor.tolist()

    def max(self, value: float) -> float:
        """The largest of every process's `value`: one decision (stop, learning rate) for all."""
        if not self.several:
            return value
        tensor = torch.tensor([value], dtype=torch.float64, device=_collective_device())
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return float(tensor.item())

    def gather(self, items: list[Any]) -> list[Any]:
        """Every process's `items`, concatenated in rank order."""
        if not self.several:
            return items
        parts: list[list[Any] | None] = [None] * self.world
        dist.all_gather_object(parts, items)
        return [item for part in parts for item in part or []]

    def wait(self) -> None:
        """Every process reaches this point before any goes on (rank 0 has written a file)."""
        if self.several:
            dist.barrier()


def _collective_device() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


def launched_as_main() -> bool:
    """Whether this process is rank 0 of its torchrun launch (or was not launched by torchrun)."""
    return int(os.environ.get("RANK", "0")) == 0


def processes_on_this_machine() -> int:
    """How many of the launch's processes share this machine (its cores): torchrun's LOCAL_WORLD_SIZE."""
    return max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))


def join_processes(device: torch.device) -> tuple[Processes, torch.device]:
    """Join the torchrun process group when launched by torchrun; each GPU process takes
    the GPU of its LOCAL_RANK. Alone (no WORLD_SIZE, or 1), nothing changes."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Processes(), device
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Processes(rank, world, local_rank), device


def leave_processes() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
