"""`seqocr bench`: images/s at batch 1 and 64 and single-image latency, per backend.

Both the end-to-end figure (decode the image file or array, preprocess, run, decode
the text) and the network + decoding figure on preprocessed images are reported, so
one sees where the time goes; then batch 64 end to end again in one one-thread process
per core (`seqocr.ReadingPool`).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from seqocr.data.images import ImageInput
from seqocr.data.suites import folder_or_suites
from seqocr.loading import load
from seqocr.machine import usable_cores
from seqocr.recognizer import Recognizer

LATENCY_IMAGES = 1000  # single-image timings: enough that a slow minute on a shared VM moves p50 little


def bench_images(data: Path | None, count: int) -> list[ImageInput]:
    """A labelled folder's images, or default-style 1-10 digit strings of MNIST test digits."""
    images = folder_or_suites(data, ["default_1_10"], count).images
    return (images * (count // max(len(images), 1) + 1))[:count]


def measure(recognizer: Recognizer, images: list[ImageInput]) -> dict[str, Any]:
    recognizer.predict(images[:64])  # warm up: first calls allocate and pick kernels
    started = time.perf_counter()
    tensors = [recognizer.prepare(image) for image in images]
    preprocess_s = time.perf_counter() - started
    started = time.perf_counter()
    recognizer.read_prepared(tensors, batch_size=64)
    network_s = time.perf_counter() - started
    latencies, network_latencies = [], []
    for image, tensor in zip(images[:LATENCY_IMAGES], tensors[:LATENCY_IMAGES], strict=True):
        started = time.perf_counter()
        recognizer.predict([image])
        latencies.append(1000 * (time.perf_counter() - started))
        started = time.perf_counter()
        recognizer.read_prepared([tensor], batch_size=1)
        network_latencies.append(1000 * (time.perf_counter() - started))
    return {
        "backend": recognizer.backend,
        "images": len(images),
        "batch64_images_per_s_end_to_end": len(images) / (preprocess_s + network_s),
        "batch64_images_per_s_network_and_decoding": len(images) / network_s,
        "preprocess_images_per_s": len(images) / preprocess_s,
        "batch1_images_per_s_end_to_end": 1000 / statistics.mean(latencies),
        "latency_images": len(latencies),
        "latency_ms_end_to_end": percentiles(latencies),
        "latency_ms_network_and_decoding": percentiles(network_latencies),
    }


def measure_pool(
    model: str, backend: str, images: list[ImageInput], workers: int, locate: str | None = None
) -> dict[str, Any]:
    """Batch-64 reading end to end in `workers` one-thread processes (`ReadingPool`): how
    a large job uses every core. `locate`: the model's default (auto for digits), or as given."""
    from seqocr.pool import ReadingPool

    with ReadingPool(model, backend, workers, locate) as pool:
        pool.warm_up()
        pool.predict(images[: 64 * workers])  # first calls allocate and pick kernels
        started = time.perf_counter()
        pool.predict(images, batch_size=64)
        seconds = time.perf_counter() - started
    return {"workers": workers, "locate": locate, "batch64_images_per_s_end_to_end": len(images) / seconds}


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        p: ordered[min(len(ordered) - 1, int(q * len(ordered)))] for p, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))
    }


def run_bench(
    model: str,
    backends: list[str],
    images: list[ImageInput],
    workers: int = 0,
    device: str = "auto",
    precision: str = "32",
) -> dict[str, Any]:
    """Every backend in one process (all cores to its threads), then in `workers`
    one-thread processes (default: one per core; 1 skips it). On a GPU (`device`), the
    torch backend alone, in this process."""
    workers = workers or usable_cores()
    results: dict[str, Any] = {"model": str(model), "backends": {}}
    for backend in backends:
        recognizer = load(model, backend, device="cpu" if backend == "onnx" else device, precision=precision)
        results["backends"][backend] = {"device": str(recognizer.device), **measure(recognizer, images)}
        if workers > 1 and recognizer.device.type == "cpu":
            results["backends"][backend]["processes"] = measure_pool(model, backend, images, workers)
    return results


def format_bench(results: dict[str, Any]) -> str:
    lines = [f"model {results['model']}"]
    for backend, r in results["backends"].items():
        lat, net = r["latency_ms_end_to_end"], r["latency_ms_network_and_decoding"]
        lines += [
            f"{backend:<6} batch 64: {r['batch64_images_per_s_end_to_end']:.0f} images/s end to end, "
            f"{r['batch64_images_per_s_network_and_decoding']:.0f} network + decoding "
            f"(preprocessing {r['preprocess_images_per_s']:.0f} images/s)",
            f"{backend:<6} batch 1: {r['batch1_images_per_s_end_to_end']:.0f} images/s; latency end to end "
            f"p50 {lat['p50']:.2f} ms, p90 {lat['p90']:.2f}, p99 {lat['p99']:.2f}; "
            f"network + decoding p50 {net['p50']:.2f} ms, p99 {net['p99']:.2f}",
        ]
        if "processes" in r:
            pool = r["processes"]
            lines.append(
                f"{backend:<6} batch 64 in {pool['workers']} one-thread processes: "
                f"{pool['batch64_images_per_s_end_to_end']:.0f} images/s end to end"
            )
    return "\n".join(lines)
