"""Accuracy of a model on digit strings made only from MNIST *test* digits.

    python benchmarks/accuracy.py [--model digits] [-n 10000] [--name accuracy]

Sets: seqocr's default style (1-10 digits), the seed notebook's style (1-5 digits,
28 px cells side by side, light on black) and long strings (20-25 digits) far beyond
the training lengths. Writes benchmarks/results/accuracy.json.
"""

from __future__ import annotations

import argparse
import time

import seqocr
from common import write_results
from seqocr.config import SynthConfig
from seqocr.data.mnist import load_split
from seqocr.data.synth import DigitStringSynth
from seqocr.evaluate.calibration import expected_calibration_error
from seqocr.evaluate.metrics import summarize

TARGETS = {"default_1_10": 0.985, "notebook_1_5": 0.990}
TEST_SEED = 20_261_121  # fixed: the benchmark sets never change


def measure(recognizer: seqocr.Recognizer, config: SynthConfig, count: int, digits) -> dict:
    synth = DigitStringSynth(config, digits=digits)
    samples = synth.samples(count)
    started = time.perf_counter()
    predictions = recognizer.predict([image for image, _ in samples])
    seconds = time.perf_counter() - started
    truths = [text for _, text in samples]
    summary = summarize(truths, [p.text for p in predictions])
    correct = [p.text == t for p, t in zip(predictions, truths, strict=True)]
    summary["ece"] = expected_calibration_error([p.confidence for p in predictions], correct)
    summary["images_per_s"] = count / seconds
    summary["set"] = {
        "split": config.split,
        "seed": config.seed,
        "style": config.style,
        "min_len": config.min_len,
        "max_len": config.max_len,
        "count": count,
    }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="digits")
    parser.add_argument("-n", type=int, default=10_000, help="strings per set")
    parser.add_argument("--name", default="accuracy", help="results go to benchmarks/results/NAME.json")
    args = parser.parse_args()

    recognizer = seqocr.load(args.model)
    digits = load_split("test")
    sets = {
        "default_1_10": SynthConfig(split="test", seed=TEST_SEED, min_len=1, max_len=10),
        "notebook_1_5": SynthConfig(split="test", seed=TEST_SEED, min_len=1, max_len=5, style="notebook"),
        "long_20_25": SynthConfig(split="test", seed=TEST_SEED, min_len=20, max_len=25),
    }
    counts = {"long_20_25": max(1, args.n // 10)}
    results = {name: measure(recognizer, cfg, counts.get(name, args.n), digits) for name, cfg in sets.items()}
    for name, target in TARGETS.items():
        results[name]["target"] = target
        results[name]["meets_target"] = results[name]["accuracy"] >= target
    path = write_results(
        args.name, {"model": recognizer.info["path"], "temperature": recognizer.temperature, "results": results}
    )

    for name, r in results.items():
        low, high = r["accuracy_95ci"]
        target = (
            f"  target {100 * r['target']:.1f}%: {'met' if r['meets_target'] else 'NOT met'}" if "target" in r else ""
        )
        print(
            f"{name:<14} n={r['count']:<6} string accuracy {100 * r['accuracy']:.2f}% "
            f"(95% CI {100 * low:.2f}-{100 * high:.2f})  CER {100 * r['cer']:.3f}%  ECE {100 * r['ece']:.2f}%{target}"
        )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
