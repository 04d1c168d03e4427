"""Speed on this CPU: synthesis, training and inference images/s, single-image latency.

    python benchmarks/speed.py [--model digits]

Writes benchmarks/results/speed.json.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import seqocr
from common import write_results
from seqocr.charset import Charset
from seqocr.config import SynthConfig
from seqocr.data.datasets import EncodedDataset, SynthSource, WidthBucketedBatches
from seqocr.data.mnist import load_split
from seqocr.data.synth import DigitStringSynth
from seqocr.models import build_model
from seqocr.train.loop import ctc_loss


def synthesis_rate(count: int = 2000) -> float:
    synth = DigitStringSynth(SynthConfig(split="train"))
    started = time.perf_counter()
    for i in range(count):
        synth.sample(i)
    return count / (time.perf_counter() - started)


def training_rate(recognizer: seqocr.Recognizer, batches: int = 20) -> float:
    """Images/s of forward + backward + step on width-bucketed batches (data made beforehand)."""
    charset: Charset = recognizer.charset
    model = build_model(recognizer.model_config, recognizer.preprocess, charset.num_classes)
    model = model.to(memory_format=torch.channels_last).train()
    source = SynthSource(DigitStringSynth(SynthConfig(split="train")), 64 * (batches + 2))
    data = list(WidthBucketedBatches(EncodedDataset(source, recognizer.preprocess, charset), 64, seed=0))
    optimizer = torch.optim.AdamW(model.parameters())
    started = 0.0
    for i, batch in enumerate(data):
        if i == 2:
            started = time.perf_counter()
        loss = ctc_loss(model, batch, charset)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return 64 * (len(data) - 2) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="digits")
    parser.add_argument("-n", type=int, default=2048, help="images for the batch-64 measurement")
    args = parser.parse_args()

    recognizer = seqocr.load(args.model)
    synth = DigitStringSynth(SynthConfig(split="test", seed=5), digits=load_split("test"))
    images = [synth.sample(i)[0] for i in range(args.n)]
    recognizer.predict(images[:128])  # warm up

    started = time.perf_counter()
    tensors = [recognizer.prepare(image) for image in images]
    preprocess_s = time.perf_counter() - started
    started = time.perf_counter()
    recognizer.predict_tensors(tensors, batch_size=64)
    model_s = time.perf_counter() - started

    latencies = []
    for image in images[:300]:
        started = time.perf_counter()
        recognizer.predict([image])
        latencies.append(1000 * (time.perf_counter() - started))
    latencies.sort()

    results = {
        "model": recognizer.info["path"],
        "inference": {
            "set": "default style, 1-10 digits, MNIST test digits",
            "batch64_images_per_s_end_to_end": args.n / (preprocess_s + model_s),
            "batch64_images_per_s_model_and_decoding": args.n / model_s,
            "preprocess_images_per_s": args.n / preprocess_s,
            "single_image_latency_ms": {
                "p50": statistics.median(latencies),
                "p90": latencies[int(0.9 * len(latencies))],
                "p99": latencies[int(0.99 * len(latencies))],
            },
        },
        "training_images_per_s": training_rate(recognizer),
        "synthesis_images_per_s_one_process": synthesis_rate(),
    }
    path = write_results("speed", results)
    inf = results["inference"]
    print(
        f"inference batch 64: {inf['batch64_images_per_s_end_to_end']:.0f} images/s end to end "
        f"({inf['batch64_images_per_s_model_and_decoding']:.0f} model + decoding)"
    )
    lat = inf["single_image_latency_ms"]
    print(f"single image latency: p50 {lat['p50']:.2f} ms, p90 {lat['p90']:.2f} ms, p99 {lat['p99']:.2f} ms")
    print(f"training: {results['training_images_per_s']:.0f} images/s (forward + backward, batch 64)")
    print(f"synthesis: {results['synthesis_images_per_s_one_process']:.0f} images/s in one process")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
