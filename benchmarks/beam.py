"""Greedy vs CTC prefix beam search, with and without constraints, on MNIST-test digit strings.

    python benchmarks/beam.py [--model digits] [-n 3000]

Sets (MNIST *test* digits only, the accuracy benchmark's seed):
- default style, 1-10 digits: greedy, beam 10, beam 10 + `allowed=0123456789`;
- default style, exactly 5 digits: the same, and beam 10 with the length known (`--length 5`),
  the case constraints are for (a form field, a code of fixed length).
Writes benchmarks/results/beam.json.
"""

from __future__ import annotations

import argparse
import time

import seqocr
from accuracy import TEST_SEED
from common import write_results
from seqocr.config import DecodeConfig, SynthConfig
from seqocr.data.mnist import load_split
from seqocr.data.synth import DigitStringSynth
from seqocr.evaluate.metrics import summarize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="digits")
    parser.add_argument("-n", type=int, default=3000, help="strings per set")
    args = parser.parse_args()

    recognizer = seqocr.load(args.model)
    digits = load_split("test")
    sets = {
        "default_1_10": SynthConfig(split="test", seed=TEST_SEED, min_len=1, max_len=10),
        "default_5": SynthConfig(split="test", seed=TEST_SEED + 5, min_len=5, max_len=5),
    }
    decoders = {
        "greedy": DecodeConfig(),
        "beam10": DecodeConfig(beam=10),
        "beam10_allowed_digits": DecodeConfig(beam=10, allowed="0123456789"),
    }
    results: dict = {}
    for set_name, config in sets.items():
        synth = DigitStringSynth(config, digits=digits)
        samples = synth.samples(args.n)
        tensors = [recognizer.prepare(image) for image, _ in samples]
        truths = [text for _, text in samples]
        runs = dict(decoders)
        if config.min_len == config.max_len:
            runs["beam10_length_known"] = DecodeConfig(beam=10, min_length=config.min_len, max_length=config.max_len)
        results[set_name] = {}
        for name, decoding in runs.items():
            started = time.perf_counter()
            predictions = recognizer.read_prepared(tensors, 64, decoding)
            seconds = time.perf_counter() - started
            summary = summarize(truths, [p.text for p in predictions])
            results[set_name][name] = {
                "accuracy": summary["accuracy"],
                "accuracy_95ci": summary["accuracy_95ci"],
                "cer": summary["cer"],
                "images_per_s": args.n / seconds,
                "decoding": decoding.__dict__,
            }
            print(
                f"{set_name:<13} {name:<22} accuracy {100 * summary['accuracy']:.2f}%  "
                f"CER {100 * summary['cer']:.3f}%  {args.n / seconds:.0f} images/s"
            )
    greedy = {s: r["greedy"]["accuracy"] for s, r in results.items()}
    never_lower = all(r[name]["accuracy"] >= greedy[s] for s, r in results.items() for name in r)
    path = write_results(
        "beam",
        {"model": recognizer.info.path, "count": args.n, "never_below_greedy": never_lower, "results": results},
    )
    print(f"constrained beam search never below greedy: {never_lower}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
