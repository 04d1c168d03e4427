"""CRNN-CTC vs attention encoder-decoder, side by side, on unseen string lengths.

    python benchmarks/ctc_vs_attention.py                  # trains 4 models (8 min each), tests
    python benchmarks/ctc_vs_attention.py --minutes 2 -n 100   # a quick look
    python benchmarks/ctc_vs_attention.py --runs DIR       # re-test runs already in DIR
    python benchmarks/ctc_vs_attention.py --minutes 25 --setups ctc-1to5 attention-1to5 --tag 25min
    # two setups side by side, one core each:
    python benchmarks/ctc_vs_attention.py --minutes 40 --setups ctc-1to5 --threads 1 --workers 1 --runs R &
    python benchmarks/ctc_vs_attention.py --minutes 40 --setups attention-1to5 --threads 1 --workers 1 --runs R
    # a wider backbone for every setup:
    python benchmarks/ctc_vs_attention.py --train-options "--stem 24 --stages 48:2:2,96,96:2:1,128:2:1 --hidden 256"

Both families train with the project's own command (`seqocr train --preset digits`,
`--arch attention` for the second) on notebook-style strings (28 px MNIST cells side
by side, what the notebooks this compares build) of exactly 5 digits, and of 1-5
digits, for the same time budget on this CPU. Each is tested on strings of every
length from 1 to 12 built from MNIST test digits only. Writes
benchmarks/results/ctc_vs_attention[-TAG].json and a Markdown table beside it.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from common import RESULTS, tagged, write_results
from seqocr import load
from seqocr.config import SynthConfig
from seqocr.data.mnist import load_split
from seqocr.data.synth import DigitStringSynth
from seqocr.evaluate.metrics import summarize

LENGTHS = range(1, 13)
CELL = 28  # a notebook string is MNIST cells side by side
SETUPS = {  # name -> (arch options, min length, max length)
    "ctc-5": ([], 5, 5),
    "ctc-1to5": ([], 1, 5),
    "attention-5": (["--arch", "attention", "--sequence", "lstm", "--hidden", "128"], 5, 5),
    "attention-1to5": (["--arch", "attention", "--sequence", "lstm", "--hidden", "128"], 1, 5),
}
TARGET_CTC_UNSEEN = 0.97  # CTC trained on 1-5 digits, on 6-10 digit strings
TARGET_ATTENTION_GAP = 0.01  # attention within 1 point of CTC on the lengths it was trained on


def train(name: str, runs: Path, minutes: float, threads: int, workers: int | None, extra: list[str]) -> list[str]:
    options, low, high = SETUPS[name]
    options = [*extra, *options]  # e.g. a bigger backbone for every setup; a setup's own options win
    if threads:  # e.g. two setups trained side by side, one core each
        options = [*options, "--threads", str(threads)]
    if workers is not None:
        options = [*options, "--workers", str(workers)]
    command = [
        "seqocr", "train", "--preset", "digits", "--style", "notebook",
        "--min-len", str(low), "--max-len", str(high), "--max-minutes", str(minutes),
        "--val-samples", "1000", "--out", str(runs / name), *options,
    ]  # fmt: skip
    if not (runs / name / "best.pt").is_file():
        subprocess.run([sys.executable, "-m", "seqocr", *command[1:], "--no-progress"], check=True)
    return command


def test_sets(n: int) -> dict[int, list]:
    """n notebook-style strings of each length, from MNIST test digits only."""
    digits = load_split("test")
    return {
        length: DigitStringSynth(
            SynthConfig(split="test", seed=500 + length, min_len=length, max_len=length, style="notebook"), digits
        ).samples(n)
        for length in LENGTHS
    }


def measure(run: Path, sets: dict[int, list]) -> dict:
    recognizer = load(run)
    by_length, failures, images, seconds = {}, {}, 0, 0.0
    for length, samples in sets.items():
        tensors = [recognizer.prepare(image) for image, _ in samples]
        started = time.perf_counter()
        predictions = recognizer.read_prepared(tensors, batch_size=64)
        seconds += time.perf_counter() - started
        images += len(tensors)
        truths = [t for _, t in samples]
        by_length[length] = summarize(truths, [p.text for p in predictions])["accuracy"]
        wrong = [p.confidence for p, t in zip(predictions, truths, strict=True) if p.text != t]
        failures[length] = {  # how it fails: the wrong length, or the right one misread
            "right_length": mean([len(p.text) == length for p in predictions]),
            "prefix_of_truth": mean([t.startswith(p.text) for p, t in zip(predictions, truths, strict=True)]),
            "mean_length_read": mean([len(p.text) for p in predictions]),
            "mean_confidence_when_wrong": mean(wrong) if wrong else None,
        }
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    assert recognizer.model is not None
    return {
        "accuracy_by_length": by_length,
        "failures_by_length": failures,
        "parameters": sum(p.numel() for p in recognizer.model.parameters()),
        "training_minutes": rows[-1]["elapsed_s"] / 60,
        "epochs": len(rows),
        "best_val_accuracy": max(r["val_accuracy"] for r in rows),
        "images_per_s": images / seconds,  # network + decoding, batch 64, preprocessed images
    }


def measure_cells(sets: dict[int, list]) -> dict:
    """A reference, not a sequence model: the bundled `digit` CNN reads each 28-px MNIST
    cell of a notebook string on its own, its segmentation given for free. What per-digit
    reading alone allows, so the CTC model's errors are put in scale."""
    classifier = load("digit")
    by_length = {}
    for length, samples in sets.items():
        cells = [np.asarray(image)[:, CELL * k : CELL * (k + 1)] for image, _ in samples for k in range(length)]
        digits = [p.text for p in classifier.predict(cells, batch_size=256)]
        texts = ["".join(digits[i * length : (i + 1) * length]) for i in range(len(samples))]
        by_length[length] = summarize([t for _, t in samples], texts)["accuracy"]
    return {"accuracy_by_length": by_length, "model": "digit (bundled CNN classifier), one 28-px cell at a time"}


def mean(values: list) -> float:
    return sum(values) / len(values)


def markdown(results: dict) -> str:
    header = "| model | params | train min | img/s | " + " | ".join(str(n) for n in LENGTHS) + " |"
    lines = [header, "|" + "---|" * (4 + len(LENGTHS))]
    for name, r in results["models"].items():
        cells = " | ".join(f"{100 * r['accuracy_by_length'][n]:.1f}" for n in LENGTHS)
        size, minutes, speed = r["parameters"] / 1e6, r["training_minutes"], r["images_per_s"]
        lines.append(f"| {name} | {size:.2f}M | {minutes:.1f} | {speed:.0f} | {cells} |")
    reference = results["digit_cells_reference"]["accuracy_by_length"]
    cells = " | ".join(f"{100 * reference[n]:.1f}" for n in LENGTHS)
    lines.append(f"| digit CNN, cell by cell* | | | | {cells} |")
    lines += [
        "",
        "Whole-string accuracy (%) by string length; `-5`: trained on 5 digits only, `-1to5`: on 1-5 digits.",
        "*A reference: the bundled `digit` classifier reads each 28-px cell alone, segmentation given.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=8.0, help="training budget per model (default 8)")
    parser.add_argument("-n", type=int, default=500, help="test strings per length (default 500)")
    parser.add_argument("--runs", type=Path, default=Path("runs/ctc-vs-attention"), help="run folders (reused)")
    parser.add_argument("--setups", nargs="+", choices=sorted(SETUPS), default=list(SETUPS), help="default: all four")
    parser.add_argument("--tag", default="", help="results go to ctc_vs_attention-TAG.json/.md")
    parser.add_argument("--threads", type=int, default=0, help="torch threads per training (default: the preset's)")
    parser.add_argument("--workers", type=int, help="data workers per training (default: the preset's)")
    parser.add_argument(
        "--train-options", default="", help='more `seqocr train` options for every setup (its own win): "--stem 24"'
    )
    args = parser.parse_args()

    extra = shlex.split(args.train_options)
    commands = {name: train(name, args.runs, args.minutes, args.threads, args.workers, extra) for name in args.setups}
    sets = test_sets(args.n)
    models = {name: measure(args.runs / name, sets) for name in args.setups}
    cells = measure_cells(sets)
    accuracy = {name: m["accuracy_by_length"] for name, m in models.items()}
    ctc_unseen = mean([accuracy["ctc-1to5"][n] for n in range(6, 11)]) if "ctc-1to5" in models else None
    gaps = {}  # CTC minus attention, on the lengths both were trained on
    if {"ctc-1to5", "attention-1to5"} <= set(models):
        gaps["1to5"] = mean([accuracy["ctc-1to5"][n] - accuracy["attention-1to5"][n] for n in range(1, 6)])
    if {"ctc-5", "attention-5"} <= set(models):
        gaps["5"] = accuracy["ctc-5"][5] - accuracy["attention-5"][5]
    results = {
        "style": "notebook",
        "test_strings_per_length": args.n,
        "minutes_per_model": args.minutes,
        "train_commands": {name: " ".join(c) for name, c in commands.items()},
        "models": models,
        "digit_cells_reference": cells,
        "digit_cells_on_6to10": mean([cells["accuracy_by_length"][n] for n in range(6, 11)]),
        "ctc_1to5_on_6to10": ctc_unseen,
        "target_ctc_1to5_on_6to10": TARGET_CTC_UNSEEN,
        "meets_ctc_target": None if ctc_unseen is None else ctc_unseen >= TARGET_CTC_UNSEEN,
        "attention_gap_on_trained_lengths": gaps,
        "meets_attention_target": all(g <= TARGET_ATTENTION_GAP for g in gaps.values()) if gaps else None,
    }
    name = tagged("ctc_vs_attention", args.tag)
    path = write_results(name, results)
    table = markdown(results)
    (RESULTS / f"{name}.md").write_text(table)
    print(table)
    if ctc_unseen is not None:
        print(f"CTC (1-5) on 6-10 digits: {100 * ctc_unseen:.2f}% (target {100 * TARGET_CTC_UNSEEN:.0f}%)")
    print(f"digit CNN cell by cell, segmentation given, on 6-10 digits: {100 * results['digit_cells_on_6to10']:.2f}%")
    print(
        "attention behind CTC on trained lengths: " + ", ".join(f"{k}: {100 * v:+.2f} points" for k, v in gaps.items())
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
