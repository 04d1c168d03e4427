"""Weight averaging: an exponential moving average of the weights, validated and kept."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from torch import Tensor
from torch.optim.swa_utils import AveragedModel

from seqocr.models import RecognitionModel


def averaged_weights(model: RecognitionModel, decay: float) -> AveragedModel | None:
    """An exponential moving average of the weights (and BatchNorm statistics), updated
    every step; None when `decay` is 0. The average of the last ~1/(1 - decay) steps is
    smoother than any one step's weights: it is what gets validated and kept."""
    if decay == 0:
        return None

    def update(averaged: Sequence[Tensor], current: Sequence[Tensor], count: Tensor | int) -> None:
        # early on, the average forgets faster: its first steps' random weights would
        # otherwise weigh on it for thousands of steps
        rate = min(decay, (1 + int(count)) / (10 + int(count)))
        for mean, value in zip(averaged, current, strict=True):
            if mean.is_floating_point():
                mean.lerp_(value, 1 - rate)
            else:  # BatchNorm's batch counter follows the model
                mean.copy_(value)

    return AveragedModel(model, multi_avg_fn=update, use_buffers=True)


def kept_weights(model: RecognitionModel, averaged: AveragedModel | None) -> RecognitionModel:
    """The weights a run validates and keeps: their average when there is one."""
    return model if averaged is None else cast(RecognitionModel, averaged.module)
