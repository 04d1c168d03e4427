"""Whole-captcha accuracy on captcha_images_v2: train on a fixed-seed 80%, test on the other 20%.

    python benchmarks/captcha.py                 # splits, trains (10 min), tests
    python benchmarks/captcha.py --run DIR       # tests an existing run trained on the split

The split (seed 0 by default) is written as two folders of links. The model is trained
on the 80% with the captcha preset and no validation set (`--val-split 0`: the last
epoch is kept, so nothing about the test images steers training), which is exactly the
recipe of the bundled `captcha` model, trained on all 832 images. Then the 20% is read
through the public API. Writes benchmarks/results/captcha.json (captcha-seedN.json for another --seed).
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
from seqocr.config import DataConfig
from seqocr.data.captcha import captcha_dir
from seqocr.data.folder import split_folder
from seqocr.evaluate.metrics import summarize

TARGET = 0.98


def write_split(root: Path, seed: int) -> tuple[Path, Path]:
    split = split_folder(DataConfig(path=str(captcha_dir()), val_split=0.2), seed)
    folders = root / "train80", root / "test20"
    for folder, samples in zip(folders, (split.train, split.val), strict=True):
        folder.mkdir(parents=True, exist_ok=True)
        for path, _ in samples:
            (folder / path.name).symlink_to(path.resolve())
    return folders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="an existing run trained on the split (default: train one)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and the training (default 0)")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="seqocr-captcha-"))
    train_dir, test_dir = write_split(root, args.seed)
    run = args.run or root / "run"
    command = [
        "seqocr", "train", "--preset", "captcha", "--data", str(train_dir), "--val-split", "0",
        "--seed", str(args.seed), "--out", str(run),
    ]  # fmt: skip
    if args.run is None:
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "seqocr", *command[1:], "--no-progress"], check=True)
        print(f"trained in {(time.monotonic() - started) / 60:.1f} min")
    recognizer = load(run)
    paths = sorted(test_dir.glob("*.png"))
    truths = [p.stem for p in paths]
    started = time.perf_counter()
    predictions = recognizer.predict(paths)
    seconds = time.perf_counter() - started
    summary = summarize(truths, [p.text for p in predictions])
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    results = {
        "train_command": " ".join(command),
        "seed": args.seed,
        "train_images": len(list(train_dir.glob("*.png"))),
        "test_images": len(paths),
        "accuracy": summary["accuracy"],
        "accuracy_95ci": summary["accuracy_95ci"],
        "cer": summary["cer"],
        "target_accuracy": TARGET,
        "meets_target": summary["accuracy"] >= TARGET,
        "training_minutes": rows[-1]["elapsed_s"] / 60,
        "epochs": len(rows),
        "train_images_per_s_median": sorted(r["train_images_per_s"] for r in rows)[len(rows) // 2],
        "test_images_per_s": len(paths) / seconds,
        "failures": [
            {"path": p.name, "truth": t, "prediction": r.text, "confidence": r.confidence}
            for p, t, r in zip(paths, truths, predictions, strict=True)
            if r.text != t
        ],
    }
    path = write_results("captcha" if args.seed == 0 else f"captcha-seed{args.seed}", results)
    low, high = summary["accuracy_95ci"]
    print(
        f"captcha_images_v2, {len(paths)} held-out images (seed {args.seed}): whole-captcha accuracy "
        f"{100 * summary['accuracy']:.2f}% (95% CI {100 * low:.1f}-{100 * high:.1f}), CER {100 * summary['cer']:.2f}%, "
        f"trained {results['training_minutes']:.1f} min on {results['train_images']} images; "
        f"target {100 * TARGET:.0f}%: {'met' if results['meets_target'] else 'NOT met'}"
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
