"""Validation: a fixed set rendered once, read every epoch; shared out among processes."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from seqocr.charset import Charset
from seqocr.data.datasets import Batch, EncodedDataset, collate
from seqocr.data.transform import width_batches
from seqocr.evaluate.metrics import summarize
from seqocr.models import RecognitionModel
from seqocr.train.distributed import Processes


@dataclass(frozen=True)
class Validation:
    """One epoch's reading of the validation set."""

    loss: float
    accuracy: float  # strings read exactly
    cer: float


class ValidationSet:
    """A fixed set, rendered once into batches of similar width. Every process holds it
    all (the best weights are calibrated on all of it) and reads its share each epoch."""

    def __init__(self, dataset: EncodedDataset | None, batch_size: int):
        samples = [dataset[i] for i in range(len(dataset))] if dataset is not None else []
        chunks = width_batches([s[0].shape[-1] for s in samples], batch_size)
        self.batches: list[Batch] = [collate([samples[i] for i in chunk]) for chunk in chunks]

    def __bool__(self) -> bool:
        return bool(self.batches)

    @property
    def images(self) -> int:
        return sum(len(b.texts) for b in self.batches)

    @torch.inference_mode()
    def validate(
        self, model: RecognitionModel, charset: Charset, device: torch.device, processes: Processes
    ) -> Validation:
        """Loss, string accuracy and CER of `model` over the whole set (every process's share)."""
        model.eval()
        truths, predictions, loss = [], [], 0.0
        for batch in self.batches[processes.rank :: processes.world]:
            batch_loss, texts = model.validation_step(batch.to(device), charset)
            loss += batch_loss * len(batch.texts)
            truths += batch.texts
            predictions += texts
        pairs = processes.gather(list(zip(truths, predictions, strict=True)))
        (total_loss,) = processes.sum([loss])
        summary = summarize([t for t, _ in pairs], [p for _, p in pairs])
        return Validation(total_loss / len(pairs), summary["accuracy"], summary["cer"])
