"""Weight averaging: an exponential moving average of the weights, validated and kept,
and a fine-tuned model blended with the model it started from (`seqocr blend`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import cast

import torch
from torch import Tensor
from torch.optim.swa_utils import AveragedModel

from seqocr.checkpoint import Checkpoint
from seqocr.errors import SeqocrError
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


def blended(
    start: Checkpoint, tuned: Checkpoint, weight: float, names: tuple[str, str] = ("start", "tuned")
) -> Checkpoint:
    """`tuned`'s weights moved back toward `start`'s, the model it was fine-tuned from:
    (1 - weight) * start + weight * tuned, tensor by tensor (WiSE-FT, Wortsman et al.
    2022). Fine-tuning on a narrow set (located crops, a user's hundred images) learns
    it and forgets some of what the start read; a blend between the two keeps most of
    both (docs/results.md). The two must share charset, network and preprocessing.
    The blend's confidence is not calibrated: its temperature is the two temperatures
    blended alike, until `seqocr calibrate` fits one."""
    for what, mine, theirs in (
        ("charset", start.charset.chars, tuned.charset.chars),
        ("network", start.model, tuned.model),
        ("preprocessing", start.preprocess, tuned.preprocess),
        ("weight names", sorted(start.weights), sorted(tuned.weights)),
    ):
        if mine != theirs:
            raise SeqocrError(
                f"{names[0]} and {names[1]} differ in their {what}: "
                "only a model fine-tuned from the other blends with it"
            )
    for key, value in start.weights.items():
        if value.shape != tuned.weights[key].shape:
            raise SeqocrError(f"{names[0]} and {names[1]} differ in the shape of {key}: they are different networks")
    weights = {
        key: torch.lerp(value, tuned.weights[key], weight) if value.is_floating_point() else tuned.weights[key]
        for key, value in start.weights.items()
    }
    temperature = (1 - weight) * start.temperature + weight * tuned.temperature
    return replace(tuned, weights=weights, temperature=temperature, calibration=None, metrics={}, resume={})
