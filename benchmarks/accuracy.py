"""Accuracy of a model on the fixed test suites, made only from MNIST *test* digits.

    python benchmarks/accuracy.py [--model digits] [-n 10000] [--name accuracy] [--suite touching_1_10 ...]

Suites (src/seqocr/evaluate/suites.py): the seed notebooks' style (1-5 digits), seqocr's
default style (1-10), touching and overlapping digits drawn apart from the training
generator (1-10), documents with marks, paper and capture effects (1-10) and long
strings (20-25 digits, a tenth of -n). Each reports string accuracy with its 95%
interval, CER, calibration error, accuracy by length and the characters deleted,
inserted and substituted. Writes benchmarks/results/NAME.json.
"""

from __future__ import annotations

import argparse
import time

import seqocr
from common import write_results
from seqocr.data.mnist import load_split
from seqocr.evaluate.analysis import error_kinds
from seqocr.evaluate.calibration import expected_calibration_error
from seqocr.evaluate.metrics import summarize
from seqocr.evaluate.suites import SUITES, suite

TARGETS = {"notebook_1_5": 0.986, "default_1_10": 0.970, "touching_1_10": 0.96, "document_1_10": 0.95}


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
    parser.add_argument("--suite", action="append", choices=sorted(SUITES), help="only these suites (repeatable)")
    args = parser.parse_args()

    recognizer = seqocr.load(args.model)
    digits = load_split("test")
    names = args.suite or list(SUITES)
    results = {}
    for name in names:
        count = max(1, args.n // 10) if name == "long_20_25" else args.n
        r = results[name] = measure(recognizer, name, count, digits)
        if name in TARGETS:
            r["target"], r["meets_target"] = TARGETS[name], r["accuracy"] >= TARGETS[name]
        low, high = r["accuracy_95ci"]
        target = (
            f"  target {100 * r['target']:.1f}%: {'met' if r['meets_target'] else 'NOT met'}" if "target" in r else ""
        )
        e = r["errors"]
        print(
            f"{name:<14} n={r['count']:<6} string accuracy {100 * r['accuracy']:.2f}% "
            f"(95% CI {100 * low:.2f}-{100 * high:.2f})  CER {100 * r['cer']:.3f}%  ECE {100 * r['ece']:.2f}%  "
            f"del/ins/sub {e['deletions']}/{e['insertions']}/{e['substitutions']}{target}",
            flush=True,
        )
    path = write_results(
        args.name, {"model": recognizer.info["path"], "temperature": recognizer.temperature, "results": results}
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
