"""What every decoder returns, whatever the model family."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Decoded:
    """One read string.

    `confidence` is P(text | image) under the model (for CTC summed over all the
    text's alignments), then scaled by the model's fitted temperature.
    `char_confidences[i]` is how sure the model was of character i where it read it,
    and `char_frames[i]` the time step (of `steps`) where it read it. An answer no text
    satisfying the constraints fits is "" with 0.
    """

    text: str
    confidence: float
    char_confidences: tuple[float, ...]
    char_frames: tuple[int, ...]
    alternatives: tuple[tuple[str, float], ...] = ()  # n-best (text, confidence), best first
    steps: int = 0  # the image's number of time steps: char_frames[i] / steps locates character i
    # attention models: for each character, its weights over the image's `steps` columns
    attention: tuple[tuple[float, ...], ...] = ()


@dataclass(frozen=True)
class Scored:
    """A batch's greedy answers and their confidences as a function of the temperature:
    what calibration fits (the answers never depend on the temperature)."""

    answers: list[str]
    confidence_at: Callable[[float], list[float]]
