"""One optimisation step, on any device, at any precision, alone or among processes.

The forward pass runs under autocast (device.py); the loss is computed in float32
(models/ctc.py, models/attention.py); float16 scales the loss (GradScaler) so small
gradients survive; DistributedDataParallel averages gradients over processes.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel

from seqocr.charset import Charset
from seqocr.config import TrainConfig
from seqocr.data.datasets import Batch
from seqocr.device import autocast
from seqocr.errors import SeqocrError
from seqocr.models import RecognitionModel
from seqocr.train.distributed import Processes

MAX_GRAD_NORM = 5.0


class Objective(nn.Module):
    """The model's training loss as `forward`, which is what DistributedDataParallel
    wraps: its gradient hooks are armed by a forward call."""

    def __init__(self, model: RecognitionModel, charset: Charset):
        super().__init__()
        self.model, self.charset = model, charset

    def forward(self, batch: Batch) -> Tensor:
        return self.model.loss(batch, self.charset)


class Stepper:
    """AdamW steps of `model` with gradient clipping, mixed precision and weight averaging."""

    def __init__(
        self,
        model: RecognitionModel,
        charset: Charset,
        config: TrainConfig,
        device: torch.device,
        precision: str,
        processes: Processes,
        averaged: AveragedModel | None,
    ):
        self.model, self.device, self.precision, self.averaged = model, device, precision, averaged
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.scaler = torch.amp.GradScaler(device.type, enabled=precision == "16")
        objective = Objective(model, charset)
        self.objective: nn.Module = (
            DistributedDataParallel(objective, device_ids=[device] if device.type == "cuda" else None)
            if processes.several
            else objective
        )

    def step(self, batch: Batch, lr: float) -> float:
        """Train on one batch at learning rate `lr`; returns its loss."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        batch = batch.to(self.device)
        try:
            with autocast(self.device, self.precision):
                loss = self.objective(batch)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
        except torch.OutOfMemoryError:
            raise SeqocrError(out_of_memory(batch, self.device)) from None
        self.scaler.unscale_(self.optimizer)
        nn.utils.clip_grad_norm_(self.model.parameters(), MAX_GRAD_NORM)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.averaged is not None:
            self.averaged.update_parameters(self.model)
        return float(loss.detach())


def out_of_memory(batch: Batch, device: torch.device) -> str:
    size, width = len(batch.texts), int(batch.images.shape[-1])
    return (
        f"{device}: out of memory on a batch of {size} images {width} px wide; pass --batch-size "
        f"{max(1, size // 2)} (or --precision bf16); the run folder keeps its last epoch: continue with --resume"
    )
