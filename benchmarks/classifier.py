"""Single-digit classifiers on the MNIST test set: the bundled CNN against the MLP baseline.

    python benchmarks/classifier.py                # trains the MLP (5 min), tests both
    python benchmarks/classifier.py --mlp-run DIR  # tests an MLP run already trained

The MLP is trained by the project's own command with the CNN's recipe, only the
architecture changed: `seqocr train --preset digit --arch mlp`. Both read the 10,000
MNIST test digits through the public API, as they are and inverted (dark ink on white)
at four times the size. Writes benchmarks/results/classifier.json.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from common import write_results
from seqocr import load
from seqocr.data.mnist import load_split
from seqocr.evaluate.metrics import wilson_interval

TARGET = 0.995  # the bundled CNN on the MNIST test set


def measure(model: str, images: list, labels: list[str]) -> dict:
    recognizer = load(model)
    started = time.perf_counter()
    predictions = recognizer.predict(images, batch_size=256)
    seconds = time.perf_counter() - started
    right = sum(p.text == t for p, t in zip(predictions, labels, strict=True))
    assert recognizer.model is not None
    return {
        "accuracy": right / len(labels),
        "accuracy_95ci": wilson_interval(right, len(labels)),
        "errors": len(labels) - right,
        "parameters": sum(p.numel() for p in recognizer.model.parameters()),
        "images_per_s_end_to_end": len(labels) / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mlp-run", type=Path, help="an MLP run to test (default: train one into runs/digit-mlp)")
    parser.add_argument("--minutes", type=float, default=5.0, help="the MLP's training budget (default 5)")
    args = parser.parse_args()

    command = ["seqocr", "train", "--preset", "digit", "--arch", "mlp", "--max-minutes", str(args.minutes)]
    run = args.mlp_run or Path("runs/digit-mlp")
    if args.mlp_run is None and not (run / "best.pt").is_file():
        command += ["--out", str(run)]
        subprocess.run([sys.executable, "-m", "seqocr", *command[1:], "--no-progress"], check=True)
    test = load_split("test")
    labels = [str(int(label)) for label in test.labels]
    plain = list(test.images)
    inverted = [Image.fromarray(255 - np.asarray(image)).resize((112, 112)) for image in test.images]
    models = {"cnn (bundled digit)": "digit", "mlp": str(run)}
    results = {
        name: {"as_mnist": measure(model, plain, labels), "inverted_4x": measure(model, inverted, labels)}
        for name, model in models.items()
    }
    cnn = results["cnn (bundled digit)"]["as_mnist"]["accuracy"]
    summary = {
        "mlp_train_command": " ".join(command),
        "models": results,
        "target_cnn_accuracy": TARGET,
        "meets_target": cnn >= TARGET,
    }
    path = write_results("classifier", summary)
    for name, r in results.items():
        a, b = r["as_mnist"], r["inverted_4x"]
        print(
            f"{name}: {100 * a['accuracy']:.2f}% on MNIST test ({a['errors']} errors), "
            f"{100 * b['accuracy']:.2f}% inverted at 4x, {a['parameters'] / 1e3:.0f}k parameters, "
            f"{a['images_per_s_end_to_end']:.0f} images/s"
        )
    print(f"target {100 * TARGET:.1f}% for the CNN: {'met' if summary['meets_target'] else 'NOT met'}; wrote {path}")


if __name__ == "__main__":
    main()
