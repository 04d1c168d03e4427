"""What an evaluation's numbers say: errors by position, repeats, confusions, confidence.

Pure functions of (truth, prediction, confidence) triples; `report.py` draws them and
`insights` turns them into findings computed from the numbers, not canned text.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any, TypedDict

import numpy as np

from seqocr.evaluate.calibration import coverage_curve, expected_calibration_error, threshold_for_error
from seqocr.evaluate.metrics import character_error_rate, edit_table, sequence_accuracy, wilson_interval

MISSING = "∅"  # the other side of an insertion or a deletion


def align_strings(truth: str, prediction: str) -> list[tuple[str, str]]:
    """A minimal edit alignment: (truth char or ∅, predicted char or ∅) pairs, in order."""
    cost = edit_table(truth, prediction)
    pairs = []
    i, j = len(truth), len(prediction)
    while i > 0 or j > 0:
        if i > 0 and j > 0 and cost[i][j] == cost[i - 1][j - 1] + (truth[i - 1] != prediction[j - 1]):
            pairs.append((truth[i - 1], prediction[j - 1]))
            i, j = i - 1, j - 1
        elif i > 0 and cost[i][j] == cost[i - 1][j] + 1:
            pairs.append((truth[i - 1], MISSING))
            i -= 1
        else:
            pairs.append((MISSING, prediction[j - 1]))
            j -= 1
    return pairs[::-1]


def error_kinds(truths: Sequence[str], predictions: Sequence[str]) -> dict[str, int]:
    """Characters deleted, inserted and substituted, over a minimal alignment of each pair."""
    counts = {"deletions": 0, "insertions": 0, "substitutions": 0}
    for truth, prediction in zip(truths, predictions, strict=True):
        if truth == prediction:
            continue
        for t, p in align_strings(truth, prediction):
            if p == MISSING:
                counts["deletions"] += 1
            elif t == MISSING:
                counts["insertions"] += 1
            elif t != p:
                counts["substitutions"] += 1
    return counts


def has_adjacent_repeat(text: str) -> bool:
    return any(a == b for a, b in zip(text, text[1:], strict=False))


class Group(TypedDict):
    """Accuracy and CER of a group of strings (one length, with or without repeats)."""

    count: int
    accuracy: float | None
    accuracy_95ci: tuple[float, float]
    cer: float | None


class Position(TypedDict):
    count: int
    accuracy: float


class Confusion(TypedDict):
    truth: str
    predicted: str
    count: int


class CoveragePoint(TypedDict):
    threshold: float
    coverage: float
    error: float


class RepeatGroup(Group):
    expected_accuracy: float | None  # if every character were read right independently


# what `analyse` returns, also written as the report's JSON (keys that are not names)
Analysis = TypedDict(
    "Analysis",
    {
        "count": int,
        "characters": int,
        "accuracy": float,
        "accuracy_95ci": tuple[float, float],
        "cer": float,
        "cer_95ci": tuple[float, float],
        "by_length": dict[int, Group],
        "by_position": dict[int, Position],
        "repeats": dict[str, RepeatGroup],  # "with" and "without" an adjacent repeat
        "confusions": list[Confusion],  # most frequent first; MISSING on one side: a deletion or insertion
        "ece": float,
        "confidence_right_median": float | None,
        "confidence_wrong_median": float | None,
        "wrong_above_0.9": int,
        "coverage": list[CoveragePoint],
        "threshold_for_0.1pct_error": CoveragePoint | None,
        "threshold_for_1pct_error": CoveragePoint | None,
    },
)


def analyse(truths: Sequence[str], predictions: Sequence[str], confidences: Sequence[float]) -> Analysis:
    """Every figure the report shows, as plain data (also written as JSON)."""
    correct = [t == p for t, p in zip(truths, predictions, strict=True)]
    n = len(truths)
    chars = sum(len(t) for t in truths)
    char_errors = round(character_error_rate(truths, predictions) * chars)
    by_length = {
        length: _group(
            [t for t in truths if len(t) == length],
            [p for t, p in zip(truths, predictions, strict=True) if len(t) == length],
        )
        for length in sorted({len(t) for t in truths})
    }
    by_position, confusions = _positions_and_confusions(
        [align_strings(t, p) for t, p in zip(truths, predictions, strict=True)]
    )
    char_accuracy = 1 - (char_errors / chars if chars else 0.0)
    points = coverage_curve(confidences, correct)
    right = [c for c, ok in zip(confidences, correct, strict=True) if ok]
    wrong = [c for c, ok in zip(confidences, correct, strict=True) if not ok]
    return {
        "count": n,
        "characters": chars,
        "accuracy": sequence_accuracy(truths, predictions),
        "accuracy_95ci": wilson_interval(sum(correct), n),
        "cer": char_errors / chars if chars else 0.0,
        "cer_95ci": wilson_interval(char_errors, chars),
        "by_length": by_length,
        "by_position": by_position,
        "repeats": _repeats(truths, predictions, char_accuracy),
        "confusions": [{"truth": t, "predicted": p, "count": c} for (t, p), c in confusions.most_common()],
        "ece": expected_calibration_error(confidences, correct),
        "confidence_right_median": _median(right),
        "confidence_wrong_median": _median(wrong),
        "wrong_above_0.9": sum(c >= 0.9 for c in wrong),
        "coverage": [{"threshold": p.threshold, "coverage": p.coverage, "error": p.error} for p in points],
        "threshold_for_0.1pct_error": _point(threshold_for_error(points, 0.001)),
        "threshold_for_1pct_error": _point(threshold_for_error(points, 0.01)),
    }


def _positions_and_confusions(
    pairs: list[list[tuple[str, str]]],
) -> tuple[dict[int, Position], Counter[tuple[str, str]]]:
    """Accuracy at each position of the true strings, and each (truth, predicted) error's count."""
    right: Counter[int] = Counter()
    total: Counter[int] = Counter()
    confusions: Counter[tuple[str, str]] = Counter()
    for aligned in pairs:
        position = 0
        for t, p in aligned:
            if t != MISSING:
                position += 1
                total[position] += 1
                right[position] += t == p
            if t != p:
                confusions[(t, p)] += 1
    return {k: {"count": total[k], "accuracy": right[k] / total[k]} for k in sorted(total)}, confusions


def _repeats(truths: Sequence[str], predictions: Sequence[str], char_accuracy: float) -> dict[str, RepeatGroup]:
    """Strings with and without a repeated adjacent character, each against the accuracy
    its lengths predict if every character were read right independently."""
    groups = {}
    for name, wanted in (("with", True), ("without", False)):
        index = [i for i, t in enumerate(truths) if has_adjacent_repeat(t) == wanted]
        group = _group([truths[i] for i in index], [predictions[i] for i in index])
        expected = sum(char_accuracy ** len(truths[i]) for i in index) / len(index) if index else None
        groups[name] = RepeatGroup(**group, expected_accuracy=expected)
    return groups


def _group(truths: list[str], predictions: list[str]) -> Group:
    right = sum(t == p for t, p in zip(truths, predictions, strict=True))
    return {
        "count": len(truths),
        "accuracy": right / len(truths) if truths else None,
        "accuracy_95ci": wilson_interval(right, len(truths)),
        "cer": character_error_rate(truths, predictions) if truths else None,
    }


def _median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None


def _point(point: Any) -> CoveragePoint | None:
    return None if point is None else {"threshold": point.threshold, "coverage": point.coverage, "error": point.error}


def insights(a: Analysis, ece_before: float | None = None) -> list[str]:
    """Findings computed from an `analyse` result, most important first."""
    wrong = a["count"] - round(a["accuracy"] * a["count"])
    found = [
        f"{100 * a['accuracy']:.2f}% of {a['count']:,} strings are read exactly "
        f"(95% CI {100 * a['accuracy_95ci'][0]:.2f}-{100 * a['accuracy_95ci'][1]:.2f}%); "
        f"{wrong:,} are wrong, with {100 * a['cer']:.3f}% of characters in error."
    ]
    gaps = _length_gaps(a)
    found += _length_finding(a, gaps) + _position_finding(a) + _repeat_finding(a)
    subs = [c for c in a["confusions"] if MISSING not in (c["truth"], c["predicted"])]
    found += _confusion_finding(a, subs) + _confidence_findings(a, ece_before)
    return found + next_steps(a, subs, gaps, calibrated=ece_before is not None)


Gap = tuple[float, int, float, Group, float]  # (accuracy - expected, length, expected, group, standard error)


def _length_gaps(a: Analysis) -> list[Gap]:
    """For each length with 30+ strings, how far its accuracy falls from what independent
    per-character errors predict (char accuracy ** length)."""
    char_accuracy = 1 - a["cer"]
    gaps = []
    for length, g in a["by_length"].items():
        if g["count"] >= 30 and g["accuracy"] is not None:
            expected = char_accuracy**length
            se = math.sqrt(max(expected * (1 - expected), 1e-9) / g["count"])
            gaps.append((g["accuracy"] - expected, length, expected, g, se))
    return gaps


def _length_finding(a: Analysis, gaps: list[Gap]) -> list[str]:
    if not gaps:
        return []
    char_accuracy = 1 - a["cer"]
    gap, length, expected, g, se = min(gaps)
    if gap < -2 * se:
        return [
            f"Strings of {length} characters fail more than independent per-character errors predict: "
            f"{100 * (g['accuracy'] or 0.0):.1f}% read vs {100 * expected:.1f}% expected from the "
            f"{100 * char_accuracy:.2f}% character accuracy."
        ]
    return [
        "Longer strings fail about as independent per-character errors predict "
        f"(accuracy ≈ {char_accuracy:.4f}^length within two standard errors at every length with 30+ strings): "
        "the reader's limit is single characters, not string length."
    ]


def _position_finding(a: Analysis) -> list[str]:
    counted = {k: v for k, v in a["by_position"].items() if v["count"] >= 30}
    if len(a["by_position"]) < 2:
        return []
    total = sum(v["count"] for v in counted.values())
    mean_error = sum(v["count"] * (1 - v["accuracy"]) for v in counted.values()) / total if total else 0.0

    def excess(k: int) -> float:
        """How many standard errors position k's error rate lies above the mean."""
        se = math.sqrt(max(mean_error * (1 - mean_error), 1e-12) / counted[k]["count"])
        return (1 - counted[k]["accuracy"] - mean_error) / se

    worst = max(counted, key=excess) if counted else None
    if worst is not None and excess(worst) > 3:
        return [
            f"Errors concentrate at position {worst}: {100 * (1 - counted[worst]['accuracy']):.2f}% "
            f"of its characters are wrong vs {100 * mean_error:.2f}% over all positions "
            f"({excess(worst):.1f} standard errors above)."
        ]
    return [
        "Errors are spread evenly over positions in the string "
        "(no position's error rate is 3 standard errors above the mean)."
    ]


def _repeat_finding(a: Analysis) -> list[str]:
    rep, plain = a["repeats"]["with"], a["repeats"]["without"]
    if rep["count"] < 30 or plain["count"] < 30:
        return []
    # strings with repeats are longer on average: compare each group with what its lengths predict
    low, high = rep["accuracy_95ci"]
    expected = rep["expected_accuracy"] or 0.0
    verdict = "as expected from their lengths"
    if high < expected:
        verdict = "worse than their lengths predict"
    elif low > expected:
        verdict = "better than their lengths predict"
    return [
        f"Strings with a repeated adjacent character ({rep['count']:,}) are read {verdict}: "
        f"{100 * (rep['accuracy'] or 0.0):.2f}% vs {100 * expected:.2f}% expected "
        f"(without repeats: {100 * (plain['accuracy'] or 0.0):.2f}% "
        f"vs {100 * (plain['expected_accuracy'] or 0.0):.2f}%)."
    ]


def _confusion_finding(a: Analysis, subs: list[Confusion]) -> list[str]:
    total_errors = sum(c["count"] for c in a["confusions"])
    if not subs or not total_errors:
        return []
    top = subs[:3]
    share = sum(c["count"] for c in top) / total_errors
    listed = ", ".join(f"{c['truth']}→{c['predicted']} ({c['count']})" for c in top)
    dropped = sum(c["count"] for c in a["confusions"] if c["predicted"] == MISSING)
    inserted = sum(c["count"] for c in a["confusions"] if c["truth"] == MISSING)
    return [
        f"The most frequent confusions are {listed}: {100 * share:.0f}% of all character errors. "
        f"Characters dropped: {dropped}; inserted: {inserted}."
    ]


def _confidence_findings(a: Analysis, ece_before: float | None) -> list[str]:
    found = []
    if a["confidence_wrong_median"] is not None:
        found.append(
            f"When wrong, the model's median confidence is {a['confidence_wrong_median']:.2f} "
            f"(right: {a['confidence_right_median']:.2f}); {a['wrong_above_0.9']} wrong answers have confidence ≥ 0.9."
        )
    ece_text = f"Calibration: ECE {100 * a['ece']:.2f}%"
    if ece_before is not None:
        ece_text += f" with the fitted temperature ({100 * ece_before:.2f}% without)"
    found.append(ece_text + ".")
    point = a["threshold_for_0.1pct_error"]
    if point:
        found.append(
            f"Accepting only answers with confidence ≥ {point['threshold']:.3f} keeps the error at "
            f"{100 * point['error']:.2f}% while answering {100 * point['coverage']:.1f}% of images."
        )
    return found


def next_steps(a: Analysis, subs: list[Confusion], gaps: list[Gap], calibrated: bool = False) -> list[str]:
    """What to try next; `calibrated`: the model's temperature was already fitted."""
    steps = []
    if a["ece"] > 0.01 and calibrated:
        steps.append(
            "Next: ECE is above 1% with the temperature fitted on validation data: if these images are "
            "the ones it will read, calibrate on labelled images like them (`seqocr calibrate --data DIR`)."
        )
    elif a["ece"] > 0.01:
        steps.append("Next: calibrate the confidence on validation data (`seqocr calibrate`), ECE is above 1%.")
    if gaps and min(gaps)[0] < -2 * min(gaps)[4]:
        steps.append("Next: train on longer strings, or check spacing at those lengths: long strings underperform.")
    if subs:
        pair = subs[0]
        steps.append(
            f"Next: look at the {pair['truth']}→{pair['predicted']} failures below; more varied training examples "
            "of these characters (or per-glyph augmentation) target the largest error."
        )
    return steps
