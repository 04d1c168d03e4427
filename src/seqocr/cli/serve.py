"""`seqocr serve` (the HTTP service), `seqocr review` (labelling a folder in a page) and
`seqocr models` (the bundled models)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from seqocr.cli.options import add_device_options, add_locate_option, count, non_negative_int, positive_float


def add_commands(commands: Any) -> None:
    serve = commands.add_parser("serve", help="an HTTP service and a drawing page")
    serve.add_argument(
        "--model",
        action="append",
        help="a model to serve (repeat for several; default digits); the first is the default",
    )
    serve.add_argument("--backend", choices=("torch", "onnx"), default="torch")
    add_device_options(serve, reading=True)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=non_negative_int, default=8000)
    serve.add_argument(
        "--workers", type=count, default=1, help="worker processes, each loading the models once (one per core)"
    )
    serve.add_argument("--max-body-mb", type=positive_float, default=8.0, help="largest request body")
    serve.add_argument("--max-images", type=count, default=64, help="most images per request")
    serve.add_argument("--max-pixels", type=count, default=4_000_000, help="largest image, in pixels")
    serve.add_argument(
        "--max-request-pixels", type=count, default=16_000_000, help="all images of one request, in pixels"
    )
    serve.add_argument(
        "--request-timeout", type=positive_float, default=30.0, help="seconds a request may take to arrive whole"
    )
    serve.add_argument(
        "--max-request-work",
        type=count,
        default=2_000_000,
        help="the network's pixels for one request: each image's width after resizing to the model's height, "
        "times that height, summed",
    )
    serve.add_argument(
        "--line-timeout",
        type=positive_float,
        default=3.0,
        help="seconds a new connection has to send its first whole line (silent sockets are closed)",
    )
    serve.add_argument("--keep-alive", type=count, default=5, help="seconds an idle connection stays open")
    serve.add_argument("--max-connections", type=count, default=256, help="connections at once (more get 503)")
    add_locate_option(serve)
    serve.set_defaults(handler=run_service)

    review = commands.add_parser(
        "review", help="label a folder's images in a local page, the ones the model doubts first"
    )
    review.add_argument("folder", type=Path, help="the images to label; answers go to its labels.tsv")
    review.add_argument("--model", default="digits", help="bundled name, checkpoint or run folder that reads them")
    review.add_argument("--charset", default="", help="refuse labels with other characters (default: any)")
    review.add_argument("--host", default="127.0.0.1", help="the page's address (default: this machine only)")
    review.add_argument("--port", type=non_negative_int, default=8001)
    add_device_options(review, reading=True)
    add_locate_option(review)
    review.set_defaults(handler=run_review)

    models = commands.add_parser("models", help="list bundled models")
    models.set_defaults(handler=list_models)


def run_review(args: argparse.Namespace) -> int:
    from seqocr.loading import load
    from seqocr.serve.review import run_review as review

    recognizer = load(args.model, device=args.device, precision=args.precision, locate=args.locate)
    review(args.folder, recognizer, args.charset, args.host, args.port)
    return 0


def run_service(args: argparse.Namespace) -> int:
    from seqocr.config import ServeConfig
    from seqocr.serve import serve

    serve(
        ServeConfig(
            models=tuple(args.model or ["digits"]),
            backend=args.backend,
            device=args.device,
            precision=args.precision,
            host=args.host,
            port=args.port,
            workers=args.workers,
            max_body_bytes=int(args.max_body_mb * 1024 * 1024),
            max_images=args.max_images,
            max_pixels=args.max_pixels,
            max_request_pixels=args.max_request_pixels,
            max_request_work=args.max_request_work,
            request_timeout_s=args.request_timeout,
            line_timeout_s=args.line_timeout,
            keep_alive_s=args.keep_alive,
            max_connections=args.max_connections,
            locate=args.locate,
        )
    )
    return 0


def list_models(args: argparse.Namespace) -> int:
    from seqocr.checkpoint import Checkpoint
    from seqocr.pretrained import bundled_models, resolve_model

    for name in bundled_models():
        path = resolve_model(name)
        checkpoint = Checkpoint.load(path)
        kind = "locator" if checkpoint.model.arch == "locator" else "reader"
        print(f"{name}\t{kind}\t{path}\t{json.dumps(checkpoint.metrics)}")
    return 0
