"""Speed on this CPU: inference (PyTorch and ONNX Runtime), training and synthesis images/s.

    python benchmarks/speed.py [--model digits] [--workers N]

Writes benchmarks/results/speed.json.
"""

from __future__ import annotations

import argparse
import time

import torch

import seqocr
from common import write_results
from seqocr.charset import Charset
from seqocr.config import RunConfig, SynthConfig
from seqocr.data.datasets import EncodedDataset, SynthSource, WidthBucketedBatches
from seqocr.data.synth import DigitStringSynth
from seqocr.evaluate.speed import bench_images, format_bench, run_bench
from seqocr.models import build_model
from seqocr.train.distributed import Processes
from seqocr.train.step import Stepper


def synthesis_rate(count: int = 2000, augment: bool = False) -> float:
    synth = DigitStringSynth(SynthConfig(split="train", augment=augment))
    started = time.perf_counter()
    for i in range(count):
        synth.sample(i)
    return count / (time.perf_counter() - started)


def training_rate(recognizer: seqocr.Recognizer, batches: int = 20) -> float:
    """Images/s of the training loop's step (train/step.py: forward, loss, backward, clipping,
    AdamW) on the CPU at float32, on width-bucketed batches made beforehand."""
    charset: Charset = recognizer.charset
    config = RunConfig()
    model = build_model(recognizer.model_config, recognizer.preprocess, charset.num_classes)
    model = model.to(memory_format=torch.channels_last).train()
    stepper = Stepper(model, charset, config.train, torch.device("cpu"), "32", Processes(), None)
    source = SynthSource(DigitStringSynth(SynthConfig(split="train")), 64 * (batches + 2))
    data = list(WidthBucketedBatches(EncodedDataset(source, recognizer.preprocess, charset), 64, seed=0))
    started = 0.0
    for i, batch in enumerate(data):
        if i == 2:
            started = time.perf_counter()
        stepper.step(batch, config.train.lr)
    return 64 * (len(data) - 2) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="digits")
    parser.add_argument("-n", type=int, default=2048, help="images for the batch-64 measurement")
    parser.add_argument(
        "--workers", type=int, default=0, help="one-thread processes to read in (default: one per core)"
    )
    args = parser.parse_args()

    images = bench_images(None, args.n)
    inference = run_bench(args.model, ["torch", "onnx"], images, args.workers)["backends"]
    results = {
        "model": args.model,
        "set": "default style, 1-10 digits, MNIST test digits",
        "inference": inference,
        "targets": {"batch64_images_per_s": 2000, "single_image_p50_ms": 3.0},
        "training_images_per_s": training_rate(seqocr.load(args.model)),
        "synthesis_images_per_s_one_process": synthesis_rate(),
        "synthesis_augmented_images_per_s_one_process": synthesis_rate(augment=True),
    }
    path = write_results("speed", results)
    print(format_bench({"model": args.model, "backends": inference}))
    print(f"training: {results['training_images_per_s']:.0f} images/s (forward + backward, batch 64)")
    print(
        f"synthesis: {results['synthesis_images_per_s_one_process']:.0f} images/s in one process "
        f"({results['synthesis_augmented_images_per_s_one_process']:.0f} with glyph augmentation)"
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
