"""A decorator registry: every architecture is built by name from its config."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from seqocr.config import ModelConfig, PreprocessConfig
from seqocr.errors import SeqocrError


class RecognitionModel(nn.Module):
    """What every architecture provides: logits (B, T, C) and the real T of each image."""

    # Parameters with one row per class: fine-tuning maps their rows by character.
    class_indexed: tuple[str, ...] = ("head.weight", "head.bias")

    def forward(self, images: Tensor, widths: Tensor | None = None) -> Tensor:  # (B, T, C)
        raise NotImplementedError

    def output_lengths(self, widths: Tensor) -> Tensor:  # (B,) widths -> (B,) time steps
        raise NotImplementedError


def channels_last(model: RecognitionModel) -> RecognitionModel:
    """Store convolution weights channels-last: oneDNN's fast layout on CPU."""
    return model.to(memory_format=torch.channels_last)  # type: ignore[call-overload, no-any-return]


Builder = Callable[[ModelConfig, PreprocessConfig, int], RecognitionModel]
_BUILDERS: dict[str, Builder] = {}


def register(name: str) -> Callable[[Builder], Builder]:
    def wrap(builder: Builder) -> Builder:
        if name in _BUILDERS:
            raise ValueError(f"architecture {name!r} registered twice")
        _BUILDERS[name] = builder
        return builder

    return wrap


def available_architectures() -> list[str]:
    return sorted(_BUILDERS)


def build_model(config: ModelConfig, preprocess: PreprocessConfig, num_classes: int) -> RecognitionModel:
    """Build `config.arch`; an unknown name fails listing the valid ones."""
    try:
        builder = _BUILDERS[config.arch]
    except KeyError:
        valid = ", ".join(available_architectures())
        raise SeqocrError(f"unknown architecture {config.arch!r}; choose one of: {valid}") from None
    return builder(config, preprocess, num_classes)
