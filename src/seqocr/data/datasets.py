"""torch Datasets and batching: images through the one transform, labels through the Charset."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from seqocr.charset import Charset
from seqocr.config import PreprocessConfig
from seqocr.data.augment import augment_image
from seqocr.data.images import open_image
from seqocr.data.mnist import Digits
from seqocr.data.synth import DISTORT_PROBABILITY, distort
from seqocr.data.transform import pad_batch, preprocess, width_batches


class Source(Protocol):
    def __len__(self) -> int: ...
    def __getitem__(self, index: int) -> tuple[Image.Image | np.ndarray, str]: ...


class Synthesizer(Protocol):
    def sample(self, index: int) -> tuple[np.ndarray, str]: ...


class SynthSource:
    """Samples start..start+count-1 of a synthesizer (digit strings or text)."""

    def __init__(self, synth: Synthesizer, count: int, start: int = 0):
        self.synth, self.count, self.start = synth, count, start

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> tuple[np.ndarray, str]:
        return self.synth.sample(self.start + index)


class DigitSource:
    """Single MNIST digits (for classifiers), in an order shuffled by (seed, epoch); with
    `augment` each is distorted anew like a synthetic string's digits (synth.distort)."""

    def __init__(self, digits: Digits, seed: int, epoch: int = 0, augment: bool = False):
        self.digits, self.seed, self.epoch, self.augment = digits, seed, epoch, augment
        self.order = np.random.default_rng([seed, epoch]).permutation(len(digits)) if epoch else np.arange(len(digits))

    def __len__(self) -> int:
        return len(self.digits)

    def __getitem__(self, index: int) -> tuple[Image.Image | np.ndarray, str]:
        i = int(self.order[index])
        image, text = self.digits.images[i], str(int(self.digits.labels[i]))
        rng = np.random.default_rng([self.seed, self.epoch, index])
        if self.augment and rng.random() < DISTORT_PROBABILITY:
            return distort(Image.fromarray(image), rng), text
        return image, text


class FolderSource:
    """(image, label) pairs of a folder dataset, decoded when asked for."""

    def __init__(self, samples: list[tuple[Path, str]]):
        self.samples = samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Image.Image, str]:
        path, text = self.samples[index]
        return open_image(path), text


class ConcatSource:
    """The samples of several sources, one after the other."""

    def __init__(self, *sources: Source):
        self.sources = sources
        self.ends = np.cumsum([len(s) for s in sources])

    def __len__(self) -> int:
        return int(self.ends[-1]) if len(self.ends) else 0

    def __getitem__(self, index: int) -> tuple[Image.Image | np.ndarray, str]:
        which = int(np.searchsorted(self.ends, index, side="right"))
        start = int(self.ends[which - 1]) if which else 0
        return self.sources[which][index - start]


class AugmentedSource:
    """A source whose images are changed anew each epoch (data/augment.py); a sample
    is a pure function of (seed, epoch, index), so a resumed run sees the same data."""

    def __init__(self, source: Source, seed: int, epoch: int):
        self.source, self.seed, self.epoch = source, seed, epoch

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> tuple[Image.Image, str]:
        image, text = self.source[index]
        pil = image if isinstance(image, Image.Image) else Image.fromarray(image)
        return augment_image(pil, np.random.default_rng([self.seed, self.epoch, index])), text


@dataclass
class Batch:
    images: Tensor  # (B, C, H, W) padded with background
    widths: Tensor  # (B,) real widths
    targets: Tensor  # (sum of label lengths,) label ids, never padded
    target_lengths: Tensor  # (B,) real label lengths
    texts: list[str]

    def pin_memory(self) -> Batch:
        """Page-locked copies (DataLoader's `pin_memory`), so copies to a GPU need not block."""
        return replace(self, **{name: getattr(self, name).pin_memory() for name in TENSORS})

    def to(self, device: torch.device) -> Batch:
        if device.type == "cpu":
            return self
        return replace(self, **{name: getattr(self, name).to(device, non_blocking=True) for name in TENSORS})


TENSORS = ("images", "widths", "targets", "target_lengths")


class EncodedDataset(Dataset):
    """(image tensor, label ids, text) for each sample of a source."""

    def __init__(self, source: Source, preprocess_config: PreprocessConfig, charset: Charset):
        self.source, self.preprocess, self.charset = source, preprocess_config, charset

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> tuple[Tensor, list[int], str]:
        image, text = self.source[index]
        return preprocess(image, self.preprocess), self.charset.encode(text), text


def collate(samples: list[tuple[Tensor, list[int], str]]) -> Batch:
    images, widths = pad_batch([s[0] for s in samples])
    targets = torch.tensor([i for s in samples for i in s[1]], dtype=torch.long)
    lengths = torch.tensor([len(s[1]) for s in samples], dtype=torch.long)
    return Batch(images, widths, targets, lengths, [s[2] for s in samples])


class WidthBucketedBatches(IterableDataset):
    """Batches of similar-width images, so a batch is not padded to its longest string.

    Takes the samples in a seeded random order, renders `pool` batches' worth at a time,
    sorts them by width, cuts them into batches and yields those in a seeded random
    order: which samples share a batch changes every epoch (`seed`). Works with
    DataLoader workers (`batch_size=None`): each worker takes every n-th pool.

    Under several processes (`rank` of `world`), each takes every world-th sample of the
    shuffled order, a remainder of under `world` samples left out, so the processes see
    disjoint samples and take as many steps each.
    """

    def __init__(
        self, dataset: EncodedDataset, batch_size: int, seed: int, pool: int = 16, rank: int = 0, world: int = 1
    ):
        self.dataset, self.batch_size, self.seed, self.pool = dataset, batch_size, seed, pool
        self.rank, self.world = rank, world

    @property
    def samples(self) -> int:
        """How many samples this process takes."""
        return len(self.dataset) // self.world

    def __len__(self) -> int:
        return -(-self.samples // self.batch_size)

    def __iter__(self) -> Iterator[Batch]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        span = self.batch_size * self.pool
        shuffled = torch.randperm(len(self.dataset), generator=torch.Generator().manual_seed(self.seed)).tolist()
        shuffled = shuffled[self.rank :: self.world][: self.samples]
        for pool_index, start in enumerate(range(0, len(shuffled), span)):
            if pool_index % workers != worker:
                continue
            indices = shuffled[start : start + span]
            samples = [self.dataset[i] for i in indices]
            batches = width_batches([s[0].shape[-1] for s in samples], self.batch_size)
            order = torch.randperm(len(batches), generator=torch.Generator().manual_seed(self.seed + pool_index))
            for b in order.tolist():
                yield collate([samples[i] for i in batches[b]])
