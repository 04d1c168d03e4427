"""Wall time for the default `make run` training to reach 98% validation accuracy.

    python benchmarks/train_time.py              # trains the digits preset (about 20 min)
    python benchmarks/train_time.py --run DIR    # reads an existing run folder instead
    python benchmarks/train_time.py --run DIR --tag ema   # writes train_time-ema.json

Writes benchmarks/results/train_time[-TAG].json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from common import tagged, write_results

TARGET = 0.98
BUDGET_MINUTES = 20.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="an existing run folder (default: train a new one)")
    parser.add_argument("--tag", default="", help="results go to train_time-TAG.json (default train_time.json)")
    args = parser.parse_args()

    run = args.run
    if run is None:
        run = Path(tempfile.mkdtemp(prefix="seqocr-train-time-")) / "digits"
        command = [sys.executable, "-m", "seqocr", "train", "--preset", "digits", "--out", str(run), "--no-progress"]
        subprocess.run(command, check=True)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    reached = next((r for r in rows if r["val_accuracy"] >= TARGET), None)
    best = max(rows, key=lambda r: r["val_accuracy"])
    results = {
        "run": str(run),
        "config": json.loads((run / "config.json").read_text()),
        "target_val_accuracy": TARGET,
        "budget_minutes": BUDGET_MINUTES,
        "minutes_to_target": None if reached is None else reached["elapsed_s"] / 60,
        "meets_target": reached is not None and reached["elapsed_s"] / 60 <= BUDGET_MINUTES,
        "best_val_accuracy": best["val_accuracy"],
        "best_epoch": best["epoch"],
        "total_minutes": rows[-1]["elapsed_s"] / 60,
        "train_images_per_s_median": sorted(r["train_images_per_s"] for r in rows)[len(rows) // 2],
        "epochs": rows,
    }
    path = write_results(tagged("train_time", args.tag), results)
    when = "never" if reached is None else f"after {results['minutes_to_target']:.1f} min"
    print(
        f"validation accuracy reached {100 * TARGET:.0f}%: {when}; best {100 * best['val_accuracy']:.2f}% "
        f"(epoch {best['epoch']}); run took {results['total_minutes']:.1f} min; "
        f"training {results['train_images_per_s_median']:.0f} images/s"
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
