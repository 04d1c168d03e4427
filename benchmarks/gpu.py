"""GPU check: the digits recipe trained for a fixed number of steps at fp32 and bf16, on
one GPU and on all of them under torchrun, and 10,000 test strings read at batch 256.

    python benchmarks/gpu.py [--steps 200] [--batch-size 256] [-n 10000]
    python benchmarks/gpu.py --device cpu --steps 4 --batch-size 16 -n 200   # the script itself, on a CPU

Writes benchmarks/results/gpu.json: training images/s (from each run's metrics.jsonl)
and reading images/s and accuracy of the bundled `digits` model on the GPU at each
precision, beside the same reading on the CPU's figure in accuracy.json. Meant to finish
in under 8 minutes on one modern GPU. With no CUDA GPU here it says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from common import write_results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="training steps per run")
    parser.add_argument("--batch-size", type=int, default=256, help="per GPU")
    parser.add_argument("-n", type=int, default=10_000, help="test strings to read")
    parser.add_argument("--device", default="cuda", help="cuda; cpu runs the same steps to check the script")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print(f"benchmarks/gpu.py: no CUDA GPU here (torch {torch.__version__}): nothing measured")
        return
    gpus = torch.cuda.device_count() if args.device == "cuda" else 2
    name = torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu (a check of the script, not a GPU figure)"
    results: dict[str, Any] = {"gpu": name, "gpus": gpus, "training": {}, "reading": {}}
    with tempfile.TemporaryDirectory() as scratch:
        for precision in ("32", "bf16"):
            results["training"][f"1 GPU, {precision}"] = train(Path(scratch) / f"one-{precision}", args, precision, 1)
        results["training"][f"{gpus} GPU(s) under torchrun, bf16"] = train(Path(scratch) / "all", args, "bf16", gpus)
    for precision in ("32", "bf16"):
        results["reading"][precision] = read(args.n, precision, args.device)
    path = write_results("gpu" if args.device == "cuda" else "gpu-script-check-on-cpu", results)
    for name, row in {**results["training"], **results["reading"]}.items():
        print(f"{name}: {json.dumps(row)}")
    print(f"wrote {path}")


def train(out: Path, args: argparse.Namespace, precision: str, processes: int) -> dict[str, Any]:
    """Two epochs of `steps / 2` steps each per process; the second epoch's images/s
    (the first includes start-up: CUDA context, kernel choice, workers starting)."""
    samples = args.steps // 2 * args.batch_size * processes
    command = [
        "-m", "seqocr", "train", "--preset", "digits", "--device", args.device, "--precision", precision,
        "--batch-size", str(args.batch_size), "--epochs", "2", "--samples-per-epoch", str(samples),
        "--val-samples", "2000", "--max-minutes", "0", "--workers", "auto", "--no-progress", "--out", str(out),
    ]  # fmt: skip
    launcher = [sys.executable]
    if processes > 1:
        launcher += ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(processes)]
    started = time.monotonic()
    done = subprocess.run([*launcher, *command], capture_output=True, text=True)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return {
        "processes": processes,
        "steps": args.steps,
        "batch_per_process": args.batch_size,
        "train_images_per_s": rows[-1]["train_images_per_s"],
        "val_accuracy": rows[-1]["val_accuracy"],
        "wall_s": round(time.monotonic() - started, 1),
    }


def read(count: int, precision: str, device: str) -> dict[str, Any]:
    """The bundled digits model on the GPU reading `count` default-style test strings."""
    from seqocr.data.mnist import load_split
    from seqocr.data.suites import suite
    from seqocr.evaluate.metrics import summarize
    from seqocr.loading import load

    recognizer = load("digits", device=device, precision=precision)
    synchronize = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    samples = suite("default_1_10", load_split("test"), count)
    started = time.perf_counter()
    tensors = [recognizer.prepare(image) for image, _ in samples]
    prepared = time.perf_counter()
    recognizer.read_prepared(tensors[:512], batch_size=256)  # warm-up: kernels chosen
    synchronize()
    network_start = time.perf_counter()
    predictions = recognizer.read_prepared(tensors, batch_size=256)
    synchronize()
    network_s = time.perf_counter() - network_start
    summary = summarize([text for _, text in samples], [p.text for p in predictions])
    return {
        "images": count,
        "batch": 256,
        "accuracy": summary["accuracy"],
        "cer": summary["cer"],
        "network_and_decoding_images_per_s": count / network_s,
        "preprocessing_images_per_s": count / (prepared - started),
    }


if __name__ == "__main__":
    main()
