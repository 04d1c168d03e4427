"""What int8 dynamic quantization costs and gains: accuracy, size and speed against float ONNX.

    python benchmarks/quantize.py [--model digits] [-n 5000]

Exports the model twice (float and int8, each checked by `seqocr export`'s gate), reads
the same default-style strings of MNIST test digits with both, and writes
benchmarks/results/quantize.json.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import seqocr
from accuracy import TEST_SEED
from common import write_results
from seqocr.config import SynthConfig
from seqocr.data.mnist import load_split
from seqocr.data.synth import DigitStringSynth
from seqocr.evaluate.metrics import summarize
from seqocr.export.checks import check_images, real_check_images
from seqocr.export.onnx import export_onnx


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="digits")
    parser.add_argument("-n", type=int, default=5000)
    args = parser.parse_args()

    recognizer = seqocr.load(args.model)
    folder = Path(tempfile.mkdtemp(prefix="seqocr-quantize-"))
    real = real_check_images(recognizer)
    results = {}
    synth = DigitStringSynth(SynthConfig(split="test", seed=TEST_SEED + 7), digits=load_split("test"))
    samples = synth.samples(args.n)
    truths = [text for _, text in samples]
    for name, quantize in (("float", False), ("int8", True)):
        path = folder / f"{name}.onnx"
        check = export_onnx(recognizer, path, check_images(recognizer), real, quantize=quantize)
        model = seqocr.load(path)
        tensors = [model.prepare(image) for image, _ in samples]
        started = time.perf_counter()
        predictions = model.read_prepared(tensors, 64)
        seconds = time.perf_counter() - started
        summary = summarize(truths, [p.text for p in predictions])
        results[name] = {
            "bytes": path.stat().st_size,
            "accuracy": summary["accuracy"],
            "accuracy_95ci": summary["accuracy_95ci"],
            "cer": summary["cer"],
            "batch64_images_per_s_network_and_decoding": args.n / seconds,
            "export_check_agreement": check.agreement,
        }
        print(
            f"{name:<6} {path.stat().st_size / 1e6:.2f} MB  accuracy {100 * summary['accuracy']:.2f}%  "
            f"CER {100 * summary['cer']:.3f}%  {args.n / seconds:.0f} images/s (network + decoding, batch 64)"
        )
    change = results["int8"]["accuracy"] - results["float"]["accuracy"]
    path = write_results("quantize", {"model": args.model, "count": args.n, "accuracy_change": change, **results})
    print(f"int8 accuracy change: {100 * change:+.2f} points; wrote {path}")


if __name__ == "__main__":
    main()
