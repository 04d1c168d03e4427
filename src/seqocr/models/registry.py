"""A decorator registry: every architecture is built by name from its config."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from seqocr.charset import Charset
from seqocr.config import DecodeConfig, ModelConfig, PreprocessConfig
from seqocr.decode.decoded import Decoded, Scored
from seqocr.errors import SeqocrError

if TYPE_CHECKING:
    from seqocr.data.datasets import Batch


class RecognitionModel(nn.Module):
    """What every architecture provides, whatever its family (CTC, attention, classifier):
    how it learns (`loss`) and how it reads (`read`), so training, evaluation and
    inference call one code path and never ask which family they hold."""

    # Parameters with one row per class: fine-tuning maps their rows by character.
    class_indexed: tuple[str, ...] = ("head.weight", "head.bias")
    # "ctc": per-frame scores exported to ONNX and decoded outside the network
    family: str = "ctc"

    def loss(self, batch: Batch, charset: Charset) -> Tensor:
        """Training loss of a batch, averaged per character."""
        raise NotImplementedError

    def read(
        self,
        images: Tensor,
        widths: Tensor,
        charset: Charset,
        decoding: DecodeConfig | None = None,
        temperature: float = 1.0,
    ) -> list[Decoded]:
        """A padded batch (B, C, H, W) with real widths (B,) -> one Decoded per image."""
        raise NotImplementedError

    def scored(self, images: Tensor, widths: Tensor, charset: Charset) -> Scored:
        """Greedy answers and their confidence at any temperature (for calibration)."""
        raise NotImplementedError

    def validation_step(self, batch: Batch, charset: Charset) -> tuple[float, list[str]]:
        """The batch's loss and greedy answers (families that can share one pass override this)."""
        return float(self.loss(batch, charset)), [d.text for d in self.read(batch.images, batch.widths, charset)]

    def output_lengths(self, widths: Tensor) -> Tensor:  # (B,) widths -> (B,) time steps
        raise NotImplementedError


def channels_last(model: RecognitionModel) -> RecognitionModel:
    """Store convolution weights channels-last: oneDNN's fast layout on CPU."""
    return model.to(memory_format=torch.channels_last)  # type: ignore[call-overload, no-any-return]


Builder = Callable[[ModelConfig, PreprocessConfig, int], RecognitionModel]
_BUILDERS: dict[str, Builder] = {}
_READERS: set[str] = set()  # the architectures that read text (the locator only finds it)


def register(name: str, reads: bool = True) -> Callable[[Builder], Builder]:
    def wrap(builder: Builder) -> Builder:
        if name in _BUILDERS:
            raise ValueError(f"architecture {name!r} registered twice")
        _BUILDERS[name] = builder
        if reads:
            _READERS.add(name)
        return builder

    return wrap


def available_architectures() -> list[str]:
    return sorted(_BUILDERS)


def available_readers() -> list[str]:
    """The architectures that read text: every one but the locator."""
    return sorted(_READERS)


def build_model(config: ModelConfig, preprocess: PreprocessConfig, num_classes: int) -> RecognitionModel:
    """Build `config.arch`; an unknown name fails listing the valid ones."""
    try:
        builder = _BUILDERS[config.arch]
    except KeyError:
        valid = ", ".join(available_architectures())
        raise SeqocrError(f"unknown architecture {config.arch!r}; choose one of: {valid}") from None
    return builder(config, preprocess, num_classes)
