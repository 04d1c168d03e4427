"""Speed on this CPU: inference (PyTorch and ONNX Runtime), training and synthesis images/s.

    python benchmarks/speed.py [--model digits] [--workers N] [--only-locating]

Locating: the reading pool end to end on cells of the cells suite resized to 200x150
px (the locator finds the number, then it is read), and on tight crops (default-style
strings) with `--locate auto` against `--locate off`.

Writes benchmarks/results/speed.json (`--only-locating` replaces its "locating" part).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

import seqocr
from common import RESULTS, invocation, write_results
from seqocr.charset import Charset
from seqocr.config import RunConfig, SynthConfig
from seqocr.data.datasets import EncodedDataset, SynthSource, WidthBucketedBatches
from seqocr.data.synth import DigitStringSynth
from seqocr.evaluate.speed import bench_images, format_bench, run_bench
from seqocr.models import build_model
from seqocr.train.distributed import Processes
from seqocr.train.step import Stepper


def synthesis_rate(count: int = 2000, augment: bool = False, style: str = "default") -> float:
    """Strings drawn per second in one process, after the digits' crops are cached (as in a run)."""
    synth = DigitStringSynth(SynthConfig(split="train", augment=augment, style=style))
    for i in range(count):
        synth.sample(i)
    started = time.perf_counter()
    for i in range(count, 2 * count):
        synth.sample(i)
    return count / (time.perf_counter() - started)


def training_rate(recognizer: seqocr.Recognizer, batches: int = 20, style: str = "default") -> float:
    """Images/s of the training loop's step (train/step.py: forward, loss, backward, clipping,
    AdamW) on the CPU at float32, on width-bucketed batches of `style` made beforehand."""
    charset: Charset = recognizer.charset
    config = RunConfig()
    model = build_model(recognizer.model_config, recognizer.preprocess, charset.num_classes)
    model = model.to(memory_format=torch.channels_last).train()
    stepper = Stepper(model, charset, config.train, torch.device("cpu"), "32", Processes(), None)
    source = SynthSource(DigitStringSynth(SynthConfig(split="train", style=style)), 64 * (batches + 2))
    data = list(WidthBucketedBatches(EncodedDataset(source, recognizer.preprocess, charset), 64, seed=0))
    started = 0.0
    for i, batch in enumerate(data):
        if i == 2:
            started = time.perf_counter()
        stepper.step(batch, config.train.lr)
    return 64 * (len(data) - 2) / (time.perf_counter() - started)


def locating_rates(model: str, backend: str, workers: int, count: int, rounds: int = 3) -> dict:
    """Pool images/s on 200x150 cells, and on tight crops with locating auto and off: both
    pools open at once, read in alternation `rounds` times (this VM's speed drifts by
    15% between minutes), the median kept."""
    import os
    import statistics

    from PIL import Image

    from seqocr.data.cell_suite import cell_suite
    from seqocr.data.mnist import load_split
    from seqocr.pool import ReadingPool

    workers = workers or os.cpu_count() or 1
    cells = [
        np.asarray(Image.fromarray(image).resize((200, 150))) for image, _, _ in cell_suite(load_split("test"), count)
    ]
    tight = bench_images(None, 2 * count)
    runs = {"cells": (cells, "auto"), "tight_auto": (tight, "auto"), "tight_off": (tight, "off")}
    rates: dict[str, list[float]] = {name: [] for name in runs}
    pools = {name: ReadingPool(model, backend, workers, locate) for name, (_, locate) in runs.items()}
    try:
        for name, pool in pools.items():
            pool.warm_up()
            pool.predict(runs[name][0][: 64 * workers])  # first calls allocate and pick kernels
        for _ in range(rounds):
            for name, pool in pools.items():
                started = time.perf_counter()
                pool.predict(runs[name][0])
                rates[name].append(len(runs[name][0]) / (time.perf_counter() - started))
    finally:
        for pool in pools.values():
            pool.close()
    return {
        "backend": backend,
        "workers": workers,
        "rounds": rates,
        "cells_200x150_images_per_s": statistics.median(rates["cells"]),
        "tight_auto_images_per_s": statistics.median(rates["tight_auto"]),
        "tight_off_images_per_s": statistics.median(rates["tight_off"]),
        "targets": {"cells_images_per_s": 300, "tight_auto_vs_off": 0.9},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="digits")
    parser.add_argument("-n", type=int, default=2048, help="images for the batch-64 measurement")
    parser.add_argument(
        "--workers", type=int, default=0, help="one-thread processes to read in (default: one per core)"
    )
    parser.add_argument("--only-locating", action="store_true", help="measure only the locating figures")
    args = parser.parse_args()

    if args.only_locating:
        locating = {b: locating_rates(args.model, b, args.workers, 2000) for b in ("onnx", "torch")}
        # one file per benchmark: the locating figures replace their part of speed.json, which
        # keeps the command and machine of its full run
        previous = RESULTS / "speed.json"
        kept = json.loads(previous.read_text()) if previous.is_file() else {"model": args.model}
        locating_run = {"command": invocation(), **locating}
        path = write_results("speed", {**kept, "locating": locating_run})
        print_locating(locating)
        print(f"wrote {path}")
        return
    images = bench_images(None, args.n)
    inference = run_bench(args.model, ["torch", "onnx"], images, args.workers)["backends"]
    results = {
        "model": args.model,
        "set": "default style, 1-10 digits, MNIST test digits",
        "inference": inference,
        "targets": {"batch64_images_per_s": 2000, "single_image_p50_ms": 3.0},
        "training_images_per_s": training_rate(seqocr.load(args.model)),
        "training_mixed_images_per_s": training_rate(seqocr.load(args.model), style="mixed"),
        "synthesis_images_per_s_one_process": synthesis_rate(),
        "synthesis_augmented_images_per_s_one_process": synthesis_rate(augment=True),
        "synthesis_mixed_images_per_s_one_process": synthesis_rate(augment=True, style="mixed"),
        "locating": {b: locating_rates(args.model, b, args.workers, 2000) for b in ("onnx", "torch")},
    }
    path = write_results("speed", results)
    print(format_bench({"model": args.model, "backends": inference}))
    print(
        f"training: {results['training_images_per_s']:.0f} images/s (forward + backward, batch 64; "
        f"{results['training_mixed_images_per_s']:.0f} on mixed strings)"
    )
    print(
        f"synthesis: {results['synthesis_images_per_s_one_process']:.0f} images/s in one process "
        f"({results['synthesis_augmented_images_per_s_one_process']:.0f} with glyph augmentation, "
        f"{results['synthesis_mixed_images_per_s_one_process']:.0f} mixed as the digits model trains on)"
    )
    print_locating(results["locating"])
    print(f"wrote {path}")


def print_locating(locating: dict) -> None:
    for backend, r in locating.items():
        print(
            f"{backend:<6} pool: cells 200x150 {r['cells_200x150_images_per_s']:.0f} images/s end to end; "
            f"tight crops {r['tight_auto_images_per_s']:.0f} with --locate auto, {r['tight_off_images_per_s']:.0f} off "
            f"({100 * r['tight_auto_images_per_s'] / r['tight_off_images_per_s']:.0f}%)"
        )


if __name__ == "__main__":
    main()
