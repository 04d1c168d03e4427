"""Accuracy of a model on the fixed test suites, made only from MNIST *test* digits.

    python benchmarks/accuracy.py [--model digits] [-n 10000] [--name accuracy] [--suite touching_1_10 ...]
                                  [--locate auto|on|off] [--cells 2000] [--compare-off]

Suites (src/seqocr/data/suites.py): the seed notebooks' style (1-5 digits), seqocr's
default style (1-10), touching and overlapping digits drawn apart from the training
generator (1-10), documents with marks, paper and capture effects (1-10) and long
strings (20-25 digits, a tenth of -n), and other writers' conventions (4-8 digits,
src/seqocr/data/writers_suite.py). Each reports string accuracy with its 95% interval,
CER, calibration error, the accuracy of the answers at confidence >= 0.95 and their
share, accuracy by length and the characters deleted, inserted and substituted.

The `cells` suite (src/seqocr/data/cell_suite.py: register cells, form fields, cheque
amounts and photos, drawn apart from the locator's training cells) reports the
locator's recall of the true boxes at IoU 0.5 and the end-to-end string accuracy.
`--compare-off` also reads each tight-crop suite with `--locate off` and reports the
difference (same images, so the difference is exact for them). Writes
benchmarks/results/NAME.json.
"""

from __future__ import annotations

import argparse
import time

import seqocr
from common import write_results
from seqocr.data.cell_suite import cell_suite
from seqocr.data.mnist import load_split
from seqocr.data.suites import SUITES, suite
from seqocr.evaluate.analysis import error_kinds
from seqocr.evaluate.calibration import expected_calibration_error
from seqocr.evaluate.metrics import IOU_MATCH, match_boxes, summarize

TARGETS = {
    "notebook_1_5": 0.988,
    "default_1_10": 0.975,
    "touching_1_10": 0.96,
    "document_1_10": 0.95,
    "long_20_25": 0.90,
    "writers_4_8": 0.95,
}
CONFIDENT = 0.95  # answers at or above this confidence are the ones users let through unreviewed
CELL_TARGETS = {"recall": 0.99, "accuracy": 0.95}


def measure_cells(recognizer: seqocr.Recognizer, count: int, digits) -> dict:
    """The locator's recall at IoU 0.5 and end-to-end accuracy on the cells suite, by scene."""
    from PIL import Image

    from seqocr.data.cell_suite import SCENES

    items = cell_suite(digits, count)
    images = [Image.fromarray(image) for image, _, _ in items]
    started = time.perf_counter()
    predictions = recognizer.predict(images)
    seconds = time.perf_counter() - started
    found = recognizer.locator.locate(images)
    ious = [match_boxes([box], [r.box for r in regions])[0] for (_, _, box), regions in zip(items, found, strict=True)]
    truths = [text for _, text, _ in items]
    texts = [p.text for p in predictions]
    summary = summarize(truths, texts)
    correct = [p == t for p, t in zip(texts, truths, strict=True)]
    summary["recall_iou50"] = sum(i >= IOU_MATCH for i in ious) / len(ious)
    summary["mean_iou"] = sum(ious) / len(ious)
    summary["ece"] = expected_calibration_error([p.confidence for p in predictions], correct)
    summary.update(confident(predictions, correct))
    summary["errors"] = error_kinds(truths, texts)
    summary["images_per_s"] = count / seconds
    summary["by_scene"] = {
        scene: {
            "accuracy": sum(c for k, c in enumerate(correct) if k % len(SCENES) == s)
            / max(1, len(correct[s :: len(SCENES)])),
            "recall_iou50": sum(i >= IOU_MATCH for i in ious[s :: len(SCENES)]) / max(1, len(ious[s :: len(SCENES)])),
        }
        for s, scene in enumerate(SCENES)
    }
    summary["targets"] = CELL_TARGETS
    summary["meets_target"] = (
        summary["recall_iou50"] >= CELL_TARGETS["recall"] and summary["accuracy"] >= CELL_TARGETS["accuracy"]
    )
    return summary


def confident(predictions: list, correct: list[bool]) -> dict:
    """How often the answers a user lets through (confidence >= 0.95) are right, and their share."""
    sure = [c for p, c in zip(predictions, correct, strict=True) if p.confidence >= CONFIDENT]
    return {
        "confident_share": len(sure) / max(1, len(correct)),
        "confident_accuracy": sum(sure) / len(sure) if sure else None,
    }


def measure(recognizer: seqocr.Recognizer, name: str, count: int, digits) -> dict:
    samples = suite(name, digits, count)
    started = time.perf_counter()
    predictions = recognizer.predict([image for image, _ in samples])
    seconds = time.perf_counter() - started
    truths = [text for _, text in samples]
    texts = [p.text for p in predictions]
    summary = summarize(truths, texts)
    correct = [p == t for p, t in zip(texts, truths, strict=True)]
    summary["ece"] = expected_calibration_error([p.confidence for p in predictions], correct)
    summary.update(confident(predictions, correct))
    summary["errors"] = error_kinds(truths, texts)
    summary["images_per_s"] = count / seconds
    config = SUITES[name]
    summary["set"] = {"style": config.style, "seed": config.seed, "min_len": config.min_len, "max_len": config.max_len}
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="digits")
    parser.add_argument("-n", type=int, default=10_000, help="strings per suite (long strings: a tenth)")
    parser.add_argument("--name", default="accuracy", help="results go to benchmarks/results/NAME.json")
    parser.add_argument(
        "--suite", action="append", choices=sorted([*SUITES, "cells"]), help="only these suites (repeatable)"
    )
    parser.add_argument("--locate", choices=("auto", "on", "off"), help="default: the model's (auto for digits)")
    parser.add_argument("--cells", type=int, default=2000, help="images in the cells suite")
    parser.add_argument("--compare-off", action="store_true", help="also read tight suites with --locate off")
    args = parser.parse_args()

    recognizer = seqocr.load(args.model, locate=args.locate)
    unlocated = recognizer.locating("off", None)
    digits = load_split("test")
    names = args.suite or [*SUITES, "cells"]
    results = {}
    for name in names:
        if name == "cells":
            r = results[name] = measure_cells(recognizer, args.cells, digits)
            print(
                f"{'cells':<14} n={r['count']:<6} locator recall at IoU {IOU_MATCH} {100 * r['recall_iou50']:.2f}% "
                f"(mean IoU {r['mean_iou']:.3f})  end-to-end accuracy {100 * r['accuracy']:.2f}%  "
                f"ECE {100 * r['ece']:.2f}%  {r['images_per_s']:.0f} images/s  "
                + "  ".join(
                    f"{k} {100 * v['accuracy']:.1f}%/{100 * v['recall_iou50']:.1f}%" for k, v in r["by_scene"].items()
                ),
                flush=True,
            )
            continue
        count = max(1, args.n // 10) if name == "long_20_25" else args.n
        r = results[name] = measure(recognizer, name, count, digits)
        r["locate"] = recognizer.locate
        if args.compare_off and recognizer.locate != "off":
            off = measure(unlocated, name, count, digits)
            r["accuracy_locate_off"] = off["accuracy"]
            r["drop_from_off_points"] = 100 * (off["accuracy"] - r["accuracy"])
            print(
                f"{name:<14} with --locate off: {100 * off['accuracy']:.2f}% "
                f"(drop {r['drop_from_off_points']:.2f} points)"
            )
        if name in TARGETS:
            r["target"], r["meets_target"] = TARGETS[name], r["accuracy"] >= TARGETS[name]
        low, high = r["accuracy_95ci"]
        target = (
            f"  target {100 * r['target']:.1f}%: {'met' if r['meets_target'] else 'NOT met'}" if "target" in r else ""
        )
        e = r["errors"]
        sure = r["confident_accuracy"]
        print(
            f"{name:<14} n={r['count']:<6} string accuracy {100 * r['accuracy']:.2f}% "
            f"(95% CI {100 * low:.2f}-{100 * high:.2f})  CER {100 * r['cer']:.3f}%  ECE {100 * r['ece']:.2f}%  "
            f"conf>=0.95: {'-' if sure is None else f'{100 * sure:.2f}%'} right of {100 * r['confident_share']:.0f}%  "
            f"del/ins/sub {e['deletions']}/{e['insertions']}/{e['substitutions']}{target}",
            flush=True,
        )
    locator = recognizer.locator.path if recognizer.locator is not None else None
    path = write_results(
        args.name,
        {
            "model": recognizer.info.path,
            "locator": locator,
            "locate": recognizer.locate,
            "temperature": recognizer.temperature,
            "results": results,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
