"""What a network's size costs in speed: multiply-adds per image against images/s, for the
CRNN at several widths and input heights (random weights: speed does not depend on them).

    python benchmarks/network_size.py [-n 2048] [--only TEXT]

Each candidate goes through the real path (and the training step's images/s on `mixed`
strings, benchmarks/speed.py's measurement): a checkpoint file, `seqocr.load(..., "onnx")`
(exported and checked against PyTorch), then `seqocr bench`'s measurement on
default-style 1-10 digit strings of MNIST test digits. Shows how small a network must be
for a given throughput on this CPU, and how much of the time preprocessing takes.
Writes benchmarks/results/network_size.json (`--only`: the candidates whose name holds
TEXT, the others' figures kept as they were).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

import seqocr
from common import RESULTS, write_results
from seqocr.charset import DIGITS
from seqocr.checkpoint import write_payload
from seqocr.config import ModelConfig, PreprocessConfig, to_dict
from seqocr.evaluate.speed import bench_images, measure
from seqocr.models import build_model
from speed import training_rate

CANDIDATES = {  # name -> (model, preprocessing)
    "default (h32, hidden 192)": (ModelConfig(), PreprocessConfig()),
    "h24, hidden 192": (ModelConfig(), PreprocessConfig(height=24)),
    "h24, hidden 128": (ModelConfig(hidden=128), PreprocessConfig(height=24)),
    "h32, 3 stages 32-48-80, hidden 128": (
        ModelConfig(stages=((32, 2, 2), (48, 2, 1), (80, 2, 1)), hidden=128),
        PreprocessConfig(),
    ),
    "h32, stem 12, 3 stages 24-40-64, hidden 96": (
        ModelConfig(stem=12, stages=((24, 2, 2), (40, 2, 1), (64, 2, 1)), hidden=96),
        PreprocessConfig(),
    ),
    # a sequence model with context over the default backbone (the digits model's candidates)
    "h32, BiLSTM 128, 1 layer": (ModelConfig(sequence="lstm", hidden=128, layers=1), PreprocessConfig()),
    "h32, BiLSTM 128, 2 layers": (ModelConfig(sequence="lstm", hidden=128, layers=2), PreprocessConfig()),
}


def multiply_adds(model: torch.nn.Module, tensors: list[torch.Tensor]) -> float:
    """Mean multiply-adds per image, each image run alone (no padding)."""
    total = 0
    with torch.no_grad():
        for tensor in tensors:
            with FlopCounterMode(display=False) as counter:
                model(tensor[None])
            total += counter.get_total_flops() // 2
    return total / len(tensors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2048, help="images for the batch-64 measurement")
    parser.add_argument("--only", default="", help="measure only the candidates whose name holds this text")
    args = parser.parse_args()

    images = bench_images(None, args.n)
    folder = Path(tempfile.mkdtemp(prefix="seqocr-network-size-"))
    previous = RESULTS / "network_size.json"
    results = json.loads(previous.read_text())["candidates"] if args.only and previous.is_file() else {}
    for index, (name, (model_config, preprocess)) in enumerate(CANDIDATES.items()):
        if args.only not in name:
            continue
        torch.manual_seed(0)
        model = build_model(model_config, preprocess, DIGITS.num_classes).eval()
        path = folder / f"candidate-{index}.pt"
        meta = {"charset": DIGITS.chars, "model": to_dict(model_config), "preprocess": to_dict(preprocess)}
        write_payload(path, {**meta, "state_dict": model.state_dict(), "command": "benchmarks/network_size.py"})
        recognizer = seqocr.load(path, "onnx", locate="off")  # the network alone: no second looks
        speed = measure(recognizer, images)
        results[name] = {
            "model": to_dict(model_config),
            "height": preprocess.height,
            "parameters": sum(p.numel() for p in model.parameters()),
            "multiply_adds_per_image": multiply_adds(model, [recognizer.prepare(i) for i in images[:64]]),
            "onnx": speed,
            "training_mixed_images_per_s": training_rate(seqocr.load(path), style="mixed"),
        }
        r = results[name]
        print(
            f"{name:<44} {r['multiply_adds_per_image'] / 1e6:5.1f}M MACs  {r['parameters'] / 1e6:.2f}M params  "
            f"batch 64: {speed['batch64_images_per_s_network_and_decoding']:5.0f} images/s network + decoding, "
            f"{speed['batch64_images_per_s_end_to_end']:5.0f} end to end "
            f"(preprocessing {speed['preprocess_images_per_s']:.0f}); single image p50 "
            f"{speed['latency_ms_end_to_end']['p50']:.2f} ms; training on mixed strings "
            f"{r['training_mixed_images_per_s']:.0f} images/s",
            flush=True,
        )
    print(f"wrote {write_results('network_size', {'set': 'default style, 1-10 digits', 'candidates': results})}")


if __name__ == "__main__":
    main()
