"""Whole-captcha accuracy on captcha_images_v2: train on a fixed-seed 80%, test on the other 20%.

    python benchmarks/captcha.py                 # trains `seqocr train --preset captcha` (about 15 min)
    python benchmarks/captcha.py --run DIR       # evaluates an existing run folder instead

The held-out 20% is exactly the validation split of the run (same seed, same
`val_split`), rebuilt here from the run's config.json and read through the public API.
Writes benchmarks/results/captcha.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import write_results
from seqocr import load
from seqocr.config import RunConfig, from_dict
from seqocr.data.folder import split_folder
from seqocr.evaluate.metrics import summarize

TARGET = 0.98


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="an existing run folder (default: train a new one)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and the training (default 0)")
    args = parser.parse_args()

    run, train_command = args.run, None
    if run is None:
        run = Path(tempfile.mkdtemp(prefix="seqocr-captcha-")) / "captcha"
        train_command = ["seqocr", "train", "--preset", "captcha", "--seed", str(args.seed), "--out", str(run)]
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "seqocr", *train_command[1:], "--no-progress"], check=True)
        print(f"trained in {(time.monotonic() - started) / 60:.1f} min")
    config = from_dict(RunConfig, json.loads((run / "config.json").read_text()))
    split = split_folder(config.data, config.train.seed)
    recognizer = load(run)
    paths = [path for path, _ in split.val]
    truths = [text for _, text in split.val]
    predictions = recognizer.predict(paths)
    summary = summarize(truths, [p.text for p in predictions])
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    failures = [
        {"path": str(p), "truth": t, "prediction": r.text, "confidence": r.confidence}
        for p, t, r in zip(paths, truths, predictions, strict=True)
        if r.text != t
    ]
    results = {
        "run": str(run),
        "train_command": " ".join(train_command) if train_command else recognizer.info.get("command"),
        "seed": config.train.seed,
        "train_images": len(split.train),
        "test_images": len(split.val),
        "accuracy": summary["accuracy"],
        "accuracy_95ci": summary["accuracy_95ci"],
        "cer": summary["cer"],
        "target_accuracy": TARGET,
        "meets_target": summary["accuracy"] >= TARGET,
        "training_minutes": rows[-1]["elapsed_s"] / 60,
        "epochs": len(rows),
        "train_images_per_s_median": sorted(r["train_images_per_s"] for r in rows)[len(rows) // 2],
        "failures": failures,
    }
    path = write_results("captcha", results)
    low, high = summary["accuracy_95ci"]
    print(
        f"captcha_images_v2, {len(split.val)} held-out images (seed {config.train.seed}): "
        f"whole-captcha accuracy {100 * summary['accuracy']:.2f}% (95% CI {100 * low:.1f}-{100 * high:.1f}), "
        f"CER {100 * summary['cer']:.2f}%, trained {results['training_minutes']:.1f} min on "
        f"{len(split.train)} images; target {100 * TARGET:.0f}%: {'met' if results['meets_target'] else 'NOT met'}"
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
