"""Metrics as pure functions of (truth, prediction) pairs."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from seqocr.boxes import Box, iou


def edit_table(a: str, b: str) -> list[list[int]]:
    """table[i][j]: the Levenshtein distance of a[:i] and b[:j] (insertions, deletions and
    substitutions each cost 1). Its last cell is the distance; walking it back aligns the
    strings (evaluate/analysis.align_strings)."""
    table = [list(range(len(b) + 1))]
    for i, ca in enumerate(a, start=1):
        previous, current = table[-1], [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        table.append(current)
    return table


def edit_distance(a: str, b: str) -> int:
    return edit_table(a, b)[-1][-1]


def sequence_accuracy(truths: Sequence[str], predictions: Sequence[str]) -> float:
    """Fraction of strings read exactly."""
    if not truths:
        return 0.0
    return sum(t == p for t, p in zip(truths, predictions, strict=True)) / len(truths)


def character_error_rate(truths: Sequence[str], predictions: Sequence[str]) -> float:
    """Total edit distance over total truth length (can exceed 1 with many insertions)."""
    total = sum(len(t) for t in truths)
    errors = sum(edit_distance(t, p) for t, p in zip(truths, predictions, strict=True))
    return errors / total if total else 0.0


def wilson_interval(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """95% confidence interval of a proportion; sound near 0% and 100%, unlike p +- 2 SE."""
    if total == 0:
        return (0.0, 1.0)
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def summarize(truths: Sequence[str], predictions: Sequence[str]) -> dict[str, Any]:
    """Headline metrics and the same by truth length."""
    groups: dict[int, list[int]] = defaultdict(list)
    for i, truth in enumerate(truths):
        groups[len(truth)].append(i)
    by_length = {}
    for length in sorted(groups):
        t = [truths[i] for i in groups[length]]
        p = [predictions[i] for i in groups[length]]
        by_length[length] = {
            "count": len(t),
            "accuracy": sequence_accuracy(t, p),
            "cer": character_error_rate(t, p),
        }
    correct = sum(t == p for t, p in zip(truths, predictions, strict=True))
    return {
        "count": len(truths),
        "accuracy": sequence_accuracy(truths, predictions),
        "accuracy_95ci": wilson_interval(correct, len(truths)),
        "cer": character_error_rate(truths, predictions),
        "by_length": by_length,
    }


IOU_MATCH = 0.5  # a found box counts when it overlaps a true one this much (intersection over union)


def match_boxes(truths: list[Box], found: list[Box]) -> list[float]:
    """Each true box's best IoU with a found box, each found box used once (greedy)."""
    free = list(found)
    best = []
    for truth in truths:
        scores = [iou(truth, f) for f in free]
        k = max(range(len(scores)), key=scores.__getitem__) if scores else -1
        best.append(scores[k] if k >= 0 else 0.0)
        if k >= 0 and scores[k] >= IOU_MATCH:
            free.pop(k)
    return best
