"""Confidence you can trust: expected calibration error, temperature scaling, coverage.

A confidence is calibrated when, among answers given confidence c, a share c is right.
Temperature scaling divides the logits by one number T before the softmax: the answers
do not change (the arg max is the same), only how sure the model says it is. T is
fitted on validation data by minimising the log loss of "this answer is right".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import torch
from torch import Tensor

from seqocr.charset import Charset
from seqocr.data.transform import pad_batch, width_batches
from seqocr.decode.decoded import Scored

if TYPE_CHECKING:
    from seqocr.recognizer import Recognizer

LabelledBatch = tuple[Tensor, Tensor, list[str]]  # images (B, C, H, W), real widths (B,), texts

TEMPERATURES = np.exp(np.linspace(np.log(0.25), np.log(8.0), 61))  # log-spaced, steps of 6%


def expected_calibration_error(confidences: Sequence[float], correct: Sequence[bool], bins: int = 15) -> float:
    """Sum over equal-width confidence bins of (bin share) x |accuracy - mean confidence|."""
    if len(confidences) == 0:
        return 0.0
    rows = reliability(confidences, correct, bins)
    return float(sum(r["count"] / len(confidences) * abs(r["accuracy"] - r["confidence"]) for r in rows))


def reliability(confidences: Sequence[float], correct: Sequence[bool], bins: int = 15) -> list[dict[str, float]]:
    """Per confidence bin: its range, count, mean confidence and accuracy (for the diagram)."""
    conf = np.asarray(confidences, dtype=np.float64)
    right = np.asarray(correct, dtype=np.float64)
    index = np.minimum((conf * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        members = index == b
        if members.any():
            rows.append(
                {
                    "low": b / bins,
                    "high": (b + 1) / bins,
                    "count": int(members.sum()),
                    "confidence": float(conf[members].mean()),
                    "accuracy": float(right[members].mean()),
                }
            )
    return rows


@dataclass(frozen=True)
class CoveragePoint:
    threshold: float  # answers with confidence >= threshold are accepted
    coverage: float  # share of answers accepted
    error: float  # share of accepted answers that are wrong


def coverage_curve(confidences: Sequence[float], correct: Sequence[bool]) -> list[CoveragePoint]:
    """Accepting the most confident answers first: error rate against share accepted."""
    order = np.argsort(-np.asarray(confidences, dtype=np.float64), kind="stable")
    conf = np.asarray(confidences, dtype=np.float64)[order]
    wrong = 1.0 - np.asarray(correct, dtype=np.float64)[order]
    cumulative = np.cumsum(wrong)
    points = []
    n = len(conf)
    for i in range(n):
        if i + 1 < n and conf[i + 1] == conf[i]:
            continue  # a threshold accepts all answers of equal confidence together
        points.append(CoveragePoint(float(conf[i]), (i + 1) / n, float(cumulative[i] / (i + 1))))
    return points


def threshold_for_error(points: list[CoveragePoint], target_error: float) -> CoveragePoint | None:
    """The lowest threshold (most coverage) whose accepted answers' error is <= target."""
    meeting = [p for p in points if p.error <= target_error]
    return max(meeting, key=lambda p: p.coverage) if meeting else None


def fit_temperature(confidence_at: Callable[[float], list[float]], correct: Sequence[bool]) -> float:
    """The T minimising the log loss of confidence against correctness; `confidence_at(T)`
    gives the model's confidence in its (fixed) answers at T, image by image."""
    right = np.asarray(correct, dtype=np.float64)
    best, best_loss = 1.0, math.inf
    for t in TEMPERATURES:
        conf = np.clip(np.array(confidence_at(float(t))), 1e-7, 1 - 1e-7)
        loss = float(-(right * np.log(conf) + (1 - right) * np.log(1 - conf)).mean())
        if loss < best_loss:
            best, best_loss = float(t), loss
    return best


# A temperature is fitted only on at least this many validation images. On fewer, the fit
# follows the few errors it happens to see and makes held-out calibration worse
# (docs/how-it-works.md, Calibration).
MIN_CALIBRATION_IMAGES = 200


@dataclass(frozen=True)
class Calibration:
    temperature: float
    ece_before: float
    ece_after: float
    images: int

    def as_dict(self) -> dict[str, float]:
        return {
            "temperature": self.temperature,
            "ece_before": self.ece_before,
            "ece_after": self.ece_after,
            "images": self.images,
        }


class Scorer(Protocol):
    def scored(self, images: Tensor, widths: Tensor, charset: Charset) -> Scored: ...


def calibrate(model: Scorer, batches: Iterable[LabelledBatch], charset: Charset) -> Calibration:
    """Fit the temperature of `model` (any family) on labelled batches (images, widths, texts)."""
    readings: list[Scored] = []
    correct: list[bool] = []
    with torch.inference_mode():
        for images, widths, texts in batches:
            reading = model.scored(images, widths, charset)
            readings.append(reading)
            correct += [a == t for a, t in zip(reading.answers, texts, strict=True)]

    def confidence_at(temperature: float) -> list[float]:
        return [c for reading in readings for c in reading.confidence_at(temperature)]

    temperature = fit_temperature(confidence_at, correct)
    return Calibration(
        temperature,
        expected_calibration_error(confidence_at(1.0), correct),
        expected_calibration_error(confidence_at(temperature), correct),
        len(correct),
    )


def calibrate_on_folder(recognizer: Recognizer, data: str | Path, out: str | Path) -> Calibration:
    """Fit `recognizer`'s temperature on a labelled folder and write its checkpoint, with
    that temperature, to `out` (`seqocr calibrate`)."""
    from seqocr.data.folder import read_folder

    checkpoint = recognizer.checkpoint()
    samples = read_folder(data).samples
    tensors = [recognizer.prepare(path, str(path)) for path, _ in samples]
    batches = []
    for chunk in width_batches([t.shape[-1] for t in tensors], 64):
        images, widths = pad_batch([tensors[i] for i in chunk])
        batches.append((images, widths, [samples[i][1] for i in chunk]))
    result = calibrate(recognizer.torch_network("calibration"), batches, recognizer.charset)  # the loaded network
    checkpoint.calibrated(result.temperature, result.as_dict()).save(out)
    return result
