"""`seqocr export` (ONNX, checked against PyTorch) and `seqocr bench` (reading speed)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from seqocr.cli.options import add_device_options, count, write_json
from seqocr.errors import SeqocrError


def add_commands(commands: Any) -> None:
    export = commands.add_parser("export", help="export a model to ONNX, checked against PyTorch")
    export.add_argument("model", help="bundled name, checkpoint or run folder")
    export.add_argument("--out", required=True, type=Path, help="the .onnx file to write")
    export.add_argument("--quantize", action="store_true", help="int8 weights (dynamic quantization)")
    export.add_argument("--check-data", type=Path, help="a labelled folder whose images the check reads too")
    export.add_argument(
        "--device", default="cpu", help="cpu (or auto): the network is traced and checked against ONNX Runtime there"
    )
    export.set_defaults(handler=export_model)

    bench = commands.add_parser("bench", help="images/s and latency of a model on both backends")
    bench.add_argument("model", nargs="?", default="digits", help="bundled name, checkpoint, run folder or .onnx")
    bench.add_argument("--data", type=Path, help="a labelled folder to read (default: 1-10 digit test strings)")
    bench.add_argument("-n", type=count, default=512, help="images to read (default 512)")
    bench.add_argument("--backend", choices=("torch", "onnx", "both"), default="both")
    bench.add_argument(
        "--workers", type=count, default=0, help="also read in this many one-thread processes (default: one per core)"
    )
    add_device_options(bench, reading=True)
    bench.add_argument("--json", type=Path, help="also write the figures here as JSON (-: standard output)")
    bench.set_defaults(handler=measure_speed)


def export_model(args: argparse.Namespace) -> int:
    from seqocr.export.checks import check_images, real_check_images
    from seqocr.export.onnx import export_onnx
    from seqocr.loading import load

    if args.device not in ("cpu", "auto"):
        raise SeqocrError(f"--device {args.device}: export traces the network on the CPU; give --device cpu")
    recognizer = load(args.model, device="cpu", locate="off")  # traced and checked against ONNX Runtime on the CPU
    real = real_check_images(recognizer, args.check_data)
    check = export_onnx(recognizer, args.out, check_images(recognizer), real, quantize=args.quantize)
    print(
        f"wrote {args.out}: checked on {check.images} images, max logit difference "
        f"{check.max_logit_difference:.2e}, {100 * check.agreement:.1f}% read identically"
    )
    return 0


def measure_speed(args: argparse.Namespace) -> int:
    from seqocr.evaluate.speed import bench_images, format_bench, run_bench

    backends = ["torch", "onnx"] if args.backend == "both" else [args.backend]
    if str(args.model).endswith(".onnx"):
        backends = ["onnx"]
    results = run_bench(
        args.model, backends, bench_images(args.data, args.n), args.workers, args.device, args.precision
    )
    print(format_bench(results), file=sys.stderr if str(args.json) == "-" else sys.stdout)
    if args.json:
        write_json(args.json, results)
    return 0
