"""What an evaluation's numbers say: errors by position, repeats, confusions, confidence.

Pure functions of (truth, prediction, confidence) triples; `report.py` draws them and
`insights` turns them into findings computed from the numbers, not canned text.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

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


def analyse(truths: Sequence[str], predictions: Sequence[str], confidences: Sequence[float]) -> dict[str, Any]:
    """Every figure the report shows, as plain data (also written as JSON)."""
    correct = [t == p for t, p in zip(truths, predictions, strict=True)]
    n = len(truths)
    chars = sum(len(t) for t in truths)
    char_errors = round(character_error_rate(truths, predictions) * chars)
    pairs = [align_strings(t, p) for t, p in zip(truths, predictions, strict=True)]

    by_length: dict[int, dict[str, Any]] = {}
    for length in sorted({len(t) for t in truths}):
        index = [i for i, t in enumerate(truths) if len(t) == length]
        by_length[length] = _group([truths[i] for i in index], [predictions[i] for i in index])

    position_right: Counter[int] = Counter()
    position_total: Counter[int] = Counter()
    confusions: Counter[tuple[str, str]] = Counter()
    for aligned in pairs:
        position = 0
        for t, p in aligned:
            if t != MISSING:
                position += 1
                position_total[position] += 1
                position_right[position] += t == p
            if t != p:
                confusions[(t, p)] += 1
    by_position = {
        k: {"count": position_total[k], "accuracy": position_right[k] / position_total[k]}
        for k in sorted(position_total)
    }
    repeats = [has_adjacent_repeat(t) for t in truths]
    with_repeats = [i for i in range(n) if repeats[i]]
    without = [i for i in range(n) if not repeats[i]]
    char_accuracy = 1 - (char_errors / chars if chars else 0.0)

    def expected(index: list[int]) -> float | None:
        """Accuracy if every character were read right independently, at `char_accuracy`."""
        return sum(char_accuracy ** len(truths[i]) for i in index) / len(index) if index else None

    points = coverage_curve(confidences, correct)
    return {
        "count": n,
        "characters": chars,
        "accuracy": sequence_accuracy(truths, predictions),
        "accuracy_95ci": wilson_interval(sum(correct), n),
        "cer": char_errors / chars if chars else 0.0,
        "cer_95ci": wilson_interval(char_errors, chars),
        "by_length": by_length,
        "by_position": by_position,
        "repeats": {
            "with": {
                **_group([truths[i] for i in with_repeats], [predictions[i] for i in with_repeats]),
                "expected_accuracy": expected(with_repeats),
            },
            "without": {
                **_group([truths[i] for i in without], [predictions[i] for i in without]),
                "expected_accuracy": expected(without),
            },
        },
        "confusions": [{"truth": t, "predicted": p, "count": c} for (t, p), c in confusions.most_common()],
        "ece": expected_calibration_error(confidences, correct),
        "confidence_right_median": _median([c for c, ok in zip(confidences, correct, strict=True) if ok]),
        "confidence_wrong_median": _median([c for c, ok in zip(confidences, correct, strict=True) if not ok]),
        "wrong_above_0.9": sum(1 for c, ok in zip(confidences, correct, strict=True) if not ok and c >= 0.9),
        "coverage": [{"threshold": p.threshold, "coverage": p.coverage, "error": p.error} for p in points],
        "threshold_for_0.1pct_error": _point(threshold_for_error(points, 0.001)),
        "threshold_for_1pct_error": _point(threshold_for_error(points, 0.01)),
    }


def _group(truths: list[str], predictions: list[str]) -> dict[str, Any]:
    right = sum(t == p for t, p in zip(truths, predictions, strict=True))
    return {
        "count": len(truths),
        "accuracy": right / len(truths) if truths else None,
        "accuracy_95ci": wilson_interval(right, len(truths)),
        "cer": character_error_rate(truths, predictions) if truths else None,
    }


def _median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None


def _point(point: Any) -> dict[str, float] | None:
    return None if point is None else {"threshold": point.threshold, "coverage": point.coverage, "error": point.error}


def insights(a: dict[str, Any], ece_before: float | None = None) -> list[str]:
    """Findings computed from an `analyse` result, most important first."""
    found = []
    wrong = a["count"] - round(a["accuracy"] * a["count"])
    found.append(
        f"{100 * a['accuracy']:.2f}% of {a['count']:,} strings are read exactly "
        f"(95% CI {100 * a['accuracy_95ci'][0]:.2f}-{100 * a['accuracy_95ci'][1]:.2f}%); "
        f"{wrong:,} are wrong, with {100 * a['cer']:.3f}% of characters in error."
    )
    char_accuracy = 1 - a["cer"]
    gaps = []
    for length, g in a["by_length"].items():
        if g["count"] >= 30:
            expected = char_accuracy**length
            se = math.sqrt(max(expected * (1 - expected), 1e-9) / g["count"])
            gaps.append((g["accuracy"] - expected, length, expected, g, se))
    if gaps:
        worst = min(gaps)
        gap, length, expected, g, se = worst
        if gap < -2 * se:
            found.append(
                f"Strings of {length} characters fail more than independent per-character errors predict: "
                f"{100 * g['accuracy']:.1f}% read vs {100 * expected:.1f}% expected from the "
                f"{100 * char_accuracy:.2f}% character accuracy."
            )
        else:
            found.append(
                "Longer strings fail about as independent per-character errors predict "
                f"(accuracy ≈ {char_accuracy:.4f}^length within two standard errors at every length with 30+ strings): "
                "the reader's limit is single characters, not string length."
            )
    positions = a["by_position"]
    if len(positions) >= 2:
        counted = {k: v for k, v in positions.items() if v["count"] >= 30}
        total = sum(v["count"] for v in counted.values())
        mean_error = sum(v["count"] * (1 - v["accuracy"]) for v in counted.values()) / total if total else 0.0

        def excess(k: int) -> float:
            """How many standard errors position k's error rate lies above the mean."""
            se = math.sqrt(max(mean_error * (1 - mean_error), 1e-12) / counted[k]["count"])
            return (1 - counted[k]["accuracy"] - mean_error) / se

        worst_position = max(counted, key=excess) if counted else None
        if worst_position is not None and excess(worst_position) > 3:
            worst_error = 1 - counted[worst_position]["accuracy"]
            found.append(
                f"Errors concentrate at position {worst_position}: {100 * worst_error:.2f}% "
                f"of its characters are wrong vs {100 * mean_error:.2f}% over all positions "
                f"({excess(worst_position):.1f} standard errors above)."
            )
        else:
            found.append(
                "Errors are spread evenly over positions in the string "
                "(no position's error rate is 3 standard errors above the mean)."
            )
    rep, plain = a["repeats"]["with"], a["repeats"]["without"]
    if rep["count"] >= 30 and plain["count"] >= 30:
        # strings with repeats are longer on average: compare each group with what its lengths predict
        low, high = rep["accuracy_95ci"]
        expected = rep["expected_accuracy"]
        verdict = "as expected from their lengths"
        if high < expected:
            verdict = "worse than their lengths predict"
        elif low > expected:
            verdict = "better than their lengths predict"
        found.append(
            f"Strings with a repeated adjacent character ({rep['count']:,}) are read {verdict}: "
            f"{100 * rep['accuracy']:.2f}% vs {100 * expected:.2f}% expected "
            f"(without repeats: {100 * plain['accuracy']:.2f}% vs {100 * plain['expected_accuracy']:.2f}%)."
        )
    subs = [c for c in a["confusions"] if MISSING not in (c["truth"], c["predicted"])]
    total_errors = sum(c["count"] for c in a["confusions"])
    if subs and total_errors:
        top = subs[:3]
        share = sum(c["count"] for c in top) / total_errors
        listed = ", ".join(f"{c['truth']}→{c['predicted']} ({c['count']})" for c in top)
        dropped = sum(c["count"] for c in a["confusions"] if c["predicted"] == MISSING)
        inserted = sum(c["count"] for c in a["confusions"] if c["truth"] == MISSING)
        found.append(
            f"The most frequent confusions are {listed}: {100 * share:.0f}% of all character errors. "
            f"Characters dropped: {dropped}; inserted: {inserted}."
        )
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
    found += next_steps(a, subs, gaps)
    return found


def next_steps(a: dict[str, Any], subs: list[dict[str, Any]], gaps: list[Any]) -> list[str]:
    steps = []
    if a["ece"] > 0.01:
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
