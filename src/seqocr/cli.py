"""The command line: parse arguments, build config dataclasses, call the library."""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seqocr.config import DecodeConfig, RunConfig
from seqocr.errors import SeqocrError
from seqocr.train.presets import PRESETS

if TYPE_CHECKING:
    from seqocr.recognizer import Prediction


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    args.argv = argv
    try:
        return int(args.handler(args) or 0)
    except SeqocrError as error:
        print(f"seqocr: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("seqocr: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`seqocr ... | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def bounded(convert: Callable[[str], float], minimum: float, inclusive: bool = True) -> Callable[[str], Any]:
    """An argparse type: a finite number of `convert`'s kind, at least (or above) `minimum`."""

    def parse(text: str) -> float:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a valid {convert.__name__}: {text!r}") from None
        too_small = value < minimum if inclusive else value <= minimum
        if not math.isfinite(value) or too_small:
            bound = f">= {minimum}" if inclusive else f"> {minimum}"
            raise argparse.ArgumentTypeError(f"must be a finite number {bound}, got {text}")
        return value

    return parse


count = bounded(int, 1)  # a count, a batch size, an epoch number
non_negative_int = bounded(int, 0)
positive_float = bounded(float, 0, inclusive=False)
non_negative_float = bounded(float, 0)


def fraction(text: str) -> float:
    """An argparse type: a share in [0, 1)."""
    value = non_negative_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be below 1, got {text}")
    return float(value)


def stages(text: str) -> tuple[tuple[int, int, int], ...]:
    """An argparse type: backbone stages as CHANNELS[:POOL_H:POOL_W],... e.g. 32:2:2,64,64:2:1."""
    result = []
    for part in text.split(","):
        fields = part.split(":")
        try:
            if len(fields) not in (1, 3):
                raise ValueError
            channels, pool_h, pool_w = (int(f) for f in fields) if len(fields) == 3 else (int(fields[0]), 1, 1)
        except ValueError:
            raise argparse.ArgumentTypeError(f"a stage is CHANNELS or CHANNELS:POOL_H:POOL_W, got {part!r}") from None
        if channels < 1 or pool_h < 1 or pool_w < 1:
            raise argparse.ArgumentTypeError(f"channels and pooling must be at least 1, got {part!r}")
        result.append((channels, pool_h, pool_w))
    return tuple(result)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seqocr", description="Sequence text recognition: train, evaluate, read.")
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("data", help="make datasets").add_subparsers(dest="data_command", required=True)
    synth = data.add_parser("synth", help="write synthetic MNIST digit strings as PNGs and labels.tsv")
    synth.add_argument("--out", type=Path, help="folder to write (created)")
    synth.add_argument("--gallery", type=Path, metavar="PNG", help="draw every style and effect into one picture")
    synth.add_argument("-n", type=count, default=1000, help="number of images (default 1000)")
    _synth_options(synth)
    synth.add_argument(
        "--split", choices=("train", "val", "test"), default="test", help="MNIST digits to draw from (default test)"
    )
    synth.add_argument("--seed", type=int, default=0)
    synth.set_defaults(handler=_cmd_synth)

    train = commands.add_parser("train", help="train a recognizer into a run folder")
    train.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="a recipe (default: digits, or folder with --data)",
    )
    train.add_argument("--data", type=Path, help="a labelled folder (labels.tsv or label-named images)")
    train.add_argument("--val", type=Path, help="a separate validation folder (default: hold out --val-split)")
    train.add_argument(
        "--val-split",
        type=fraction,
        help="share of --data held out for validation (default: 0.2 of 1,000 images or more, none of fewer)",
    )
    train.add_argument("--charset", help="the characters to read (default: those found in the labels)")
    train.add_argument("--init", help="start from this model: a bundled name, checkpoint or run folder")
    train.add_argument(
        "--ema", type=fraction, help="keep a moving average of the weights with this decay, e.g. 0.999 (default off)"
    )
    train.add_argument("--height", type=count, help="model input height in pixels")
    train.add_argument("--channels", type=int, choices=(1, 3), help="1: grayscale, 3: colour")
    train.add_argument("--no-augment", action="store_true", help="train on folder images unchanged")
    train.add_argument(
        "--synthetic",
        type=non_negative_float,
        metavar="R",
        help="synthetic digit strings per folder image each epoch (default: 1 under 1,000 images, else 0)",
    )
    train.add_argument("--out", type=Path, help="run folder (default runs/PRESET)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out from its last epoch")
    train.add_argument("--epochs", type=count)
    train.add_argument("--batch-size", type=count)
    train.add_argument("--lr", type=positive_float)
    train.add_argument("--weight-decay", type=non_negative_float, help="AdamW weight decay")
    train.add_argument("--samples-per-epoch", type=count)
    train.add_argument("--val-samples", type=count)
    train.add_argument("--patience", type=count, help="stop after this many epochs without improvement")
    train.add_argument("--seed", type=int)
    train.add_argument("--max-minutes", type=non_negative_float, help="stop after this much training time")
    train.add_argument("--threads", type=count, help="torch threads (default: the preset's, else all cores)")
    train.add_argument("--workers", type=non_negative_int, help="data worker processes (0: render in the trainer)")
    train.add_argument(
        "--arch", help="architecture: crnn (CTC), attention (encoder-decoder), cnn or mlp (one digit; --preset digit)"
    )
    train.add_argument("--stem", type=count, help="crnn, attention: channels of the stride-2 first convolution")
    train.add_argument(
        "--stages", type=stages, help="crnn, attention: backbone stages, CHANNELS[:POOL_H:POOL_W],... (32:2:2,64,...)"
    )
    train.add_argument("--sequence", choices=("conv", "lstm"), help="crnn: sequence model after the backbone")
    train.add_argument("--hidden", type=count, help="width of the sequence model (or dense layers)")
    train.add_argument("--dropout", type=fraction, help="dropout in the sequence model and before the output")
    _synth_options(train, defaults=False)
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(handler=_cmd_train)

    evaluate = commands.add_parser("eval", help="measure a model on a labelled folder")
    evaluate.add_argument("--model", default="digits", help="bundled name, checkpoint or run folder")
    evaluate.add_argument("--data", required=True, type=Path, help="folder with labels.tsv or label-named images")
    evaluate.add_argument("--json", type=Path, help="also write the metrics here as JSON")
    evaluate.add_argument("--batch-size", type=count, default=64)
    _decode_options(evaluate)
    evaluate.add_argument("--backend", choices=("torch", "onnx"), default="torch", help="run the network with")
    evaluate.set_defaults(handler=_cmd_eval)

    predict = commands.add_parser("predict", help="read images")
    predict.add_argument(
        "images", nargs="+", help="image files; put names that start with a dash after --: seqocr predict -- -1.png"
    )
    predict.add_argument("--model", default="digits", help="bundled name, checkpoint or run folder")
    predict.add_argument("--json", action="store_true", help="one JSON object per line")
    predict.add_argument("--batch-size", type=count, default=64)
    predict.add_argument(
        "--reject-below", type=bounded(float, 0), metavar="P", help="mark answers with confidence below P as rejected"
    )
    _decode_options(predict)
    predict.add_argument("--backend", choices=("torch", "onnx"), default="torch", help="run the network with")
    predict.add_argument(
        "--workers",
        type=count,
        default=1,
        help="read in this many one-thread processes (many images: one per core is fastest)",
    )
    predict.add_argument(
        "--show-attention",
        type=Path,
        metavar="OUT.png",
        help="attention models: draw where each character was read (OUT-N.png for several images)",
    )
    predict.set_defaults(handler=_cmd_predict)

    classify = commands.add_parser("classify", help="read one handwritten digit per image")
    classify.add_argument("images", nargs="+", help="image files, one digit each (any size, either polarity)")
    classify.add_argument("--model", default="digit", help="bundled name, checkpoint or run folder")
    classify.add_argument("--json", action="store_true", help="one JSON object per line")
    classify.add_argument("--batch-size", type=count, default=64)
    classify.set_defaults(handler=_cmd_classify)

    doctor = commands.add_parser("doctor", help="check a labelled folder before training on it")
    doctor.add_argument("data", type=Path, help="a labelled folder (labels.tsv or label-named images)")
    geometry = doctor.add_mutually_exclusive_group()
    geometry.add_argument("--model", help="check against this model's input geometry and charset")
    geometry.add_argument("--preset", choices=sorted(PRESETS), help="check against this recipe (default folder)")
    doctor.add_argument("--val", type=Path, help="a separate validation folder")
    doctor.add_argument(
        "--val-split",
        type=fraction,
        help="share held out for validation (default: 0.2 of 1,000 images or more, none of fewer)",
    )
    doctor.add_argument("--seed", type=int, help="seed of the split (default 0, as in training)")
    doctor.add_argument("--height", type=count, help="model input height in pixels")
    doctor.add_argument("--json", type=Path, help="also write the full report here as JSON")
    doctor.set_defaults(handler=_cmd_doctor)

    report = commands.add_parser("report", help="an HTML and Markdown report on a run or model, with insights")
    report.add_argument("model", help="a run folder (adds its curves and config), checkpoint or bundled name")
    report.add_argument("--data", type=Path, help="a labelled folder (default for digit models: MNIST test strings)")
    report.add_argument("--out", type=Path, default=Path("report.html"), help="the HTML file (Markdown beside it)")
    report.set_defaults(handler=_cmd_report)

    calibrate = commands.add_parser("calibrate", help="fit a model's confidence temperature on labelled data")
    calibrate.add_argument("model", help="bundled name, checkpoint or run folder")
    calibrate.add_argument("--data", required=True, type=Path, help="labelled validation images (not the test set)")
    calibrate.add_argument("--out", required=True, type=Path, help="the calibrated checkpoint to write")
    calibrate.set_defaults(handler=_cmd_calibrate)

    export = commands.add_parser("export", help="export a model to ONNX, checked against PyTorch")
    export.add_argument("model", help="bundled name, checkpoint or run folder")
    export.add_argument("--out", required=True, type=Path, help="the .onnx file to write")
    export.add_argument("--quantize", action="store_true", help="int8 weights (dynamic quantization)")
    export.add_argument("--check-data", type=Path, help="a labelled folder whose images the check reads too")
    export.set_defaults(handler=_cmd_export)

    bench = commands.add_parser("bench", help="images/s and latency of a model on both backends")
    bench.add_argument("model", nargs="?", default="digits", help="bundled name, checkpoint, run folder or .onnx")
    bench.add_argument("--data", type=Path, help="a labelled folder to read (default: 1-10 digit test strings)")
    bench.add_argument("-n", type=count, default=512, help="images to read (default 512)")
    bench.add_argument("--backend", choices=("torch", "onnx", "both"), default="both")
    bench.add_argument(
        "--workers", type=count, default=0, help="also read in this many one-thread processes (default: one per core)"
    )
    bench.add_argument("--json", type=Path, help="also write the figures here as JSON")
    bench.set_defaults(handler=_cmd_bench)

    serve = commands.add_parser("serve", help="an HTTP service and a drawing page")
    serve.add_argument(
        "--model",
        action="append",
        help="a model to serve (repeat for several; default digits); the first is the default",
    )
    serve.add_argument("--backend", choices=("torch", "onnx"), default="torch")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=non_negative_int, default=8000)
    serve.add_argument("--max-body-mb", type=positive_float, default=8.0, help="largest request body")
    serve.add_argument("--max-images", type=count, default=64, help="most images per request")
    serve.add_argument("--max-pixels", type=count, default=4_000_000, help="largest image, in pixels")
    serve.add_argument(
        "--max-request-pixels", type=count, default=16_000_000, help="all images of one request, in pixels"
    )
    serve.add_argument(
        "--request-timeout", type=positive_float, default=30.0, help="seconds a request may take to arrive whole"
    )
    serve.add_argument("--keep-alive", type=count, default=5, help="seconds an idle connection stays open")
    serve.add_argument("--max-connections", type=count, default=256, help="connections at once (more get 503)")
    serve.set_defaults(handler=_cmd_serve)

    models = commands.add_parser("models", help="list bundled models")
    models.set_defaults(handler=_cmd_models)
    return parser


def _synth_options(parser: argparse.ArgumentParser, defaults: bool = True) -> None:
    parser.add_argument("--min-len", type=count, default=1 if defaults else None, help="shortest string")
    parser.add_argument("--max-len", type=count, default=10 if defaults else None, help="longest string")
    parser.add_argument(
        "--style",
        choices=("default", "notebook", "touching", "document", "mixed"),
        default="default" if defaults else None,
        help="default: realistic variety; notebook: 28 px cells side by side; touching: tight and "
        "overlapping digits; document: marks, paper, pen and capture; mixed: the digits model's training mix",
    )
    parser.add_argument(
        "--effect",
        action="append",
        metavar="NAME=P",
        help="change one synthesis effect's probability, e.g. tight=0.5 (repeatable; names in data/effects.py)",
    )


def _decode_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("decoding (constraints act inside a CTC prefix beam search)")
    group.add_argument("--beam", type=count, help="beam search keeping N prefixes (default: greedy)")
    group.add_argument("--n-best", type=count, default=1, help="return K alternatives with their confidences")
    group.add_argument("--allowed", default="", help="only these characters, e.g. 0123456789")
    group.add_argument("--length", type=count, help="exactly this many characters")
    group.add_argument("--min-length", type=non_negative_int, default=0, help="at least this many characters")
    group.add_argument("--max-length", type=count, help="at most this many characters")
    group.add_argument("--pattern", default="", help="a regular expression the whole answer must match")


def _decode_config(args: argparse.Namespace) -> DecodeConfig:
    if args.length is not None and (args.min_length or args.max_length is not None):
        raise SeqocrError("--length fixes the length; do not combine it with --min-length/--max-length")
    return DecodeConfig(
        beam=args.beam or 0,
        n_best=args.n_best,
        allowed=args.allowed,
        min_length=args.length if args.length is not None else args.min_length,
        max_length=args.length if args.length is not None else args.max_length,
        pattern=args.pattern,
    )


def _cmd_synth(args: argparse.Namespace) -> int:
    from seqocr.config import SynthConfig
    from seqocr.data.gallery import draw_gallery
    from seqocr.data.writer import write_synth

    if args.gallery is None and args.out is None:
        raise SeqocrError("data synth: give --out FOLDER to write a set, or --gallery PNG to draw the effects")
    if args.gallery is not None:
        print(f"wrote {draw_gallery(args.gallery, seed=args.seed)}")
        if args.out is None:
            return 0

    config = SynthConfig(
        split=args.split,
        seed=args.seed,
        min_len=args.min_len,
        max_len=args.max_len,
        style=args.style,
        effects=_effects(args),
    )
    labels = write_synth(config, args.out, args.n)
    print(f"wrote {args.n} images and {labels}")
    return 0


def _effects(args: argparse.Namespace) -> tuple[tuple[str, float], ...]:
    from seqocr.data.effects import parse_override

    return tuple(parse_override(text) for text in args.effect or ())


def _cmd_train(args: argparse.Namespace) -> int:
    from seqocr.train.loop import train

    config = train_config_from(args)
    command = "seqocr " + " ".join(shlex.quote(a) for a in args.argv)
    best = train(config, resume=args.resume, progress=not args.no_progress, command=command)
    print(f"best checkpoint: {best}")
    return 0


def train_config_from(args: argparse.Namespace) -> RunConfig:
    """The preset's RunConfig with every option the user gave applied on top."""
    from seqocr.train.presets import preset, threads_beside

    name = args.preset or ("folder" if args.data else "digits")
    config = preset(name)
    overrides = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "weight_decay": args.weight_decay,
        "samples_per_epoch": args.samples_per_epoch,
        "val_samples": args.val_samples,
        "patience": args.patience,
        "seed": args.seed,
        "max_minutes": args.max_minutes,
        "threads": args.threads,
        "workers": args.workers,
        "init": args.init,
        "ema": args.ema,
    }
    if args.workers is not None and args.threads is None and config.train.threads:
        # the preset's threads are the cores its own workers leave: follow the workers asked for
        overrides["threads"] = threads_beside(args.workers)
    default_out = Path("runs") / (args.data.name if args.data and not args.preset else name)
    train_config = replace(
        config.train, out=str(args.out or default_out), **{k: v for k, v in overrides.items() if v is not None}
    )
    synth = {"min_len": args.min_len, "max_len": args.max_len, "style": args.style, "effects": _effects(args) or None}
    data = {
        "path": str(args.data) if args.data else None,
        "val_path": str(args.val) if args.val else None,
        "val_split": args.val_split,
        "augment": False if args.no_augment else None,
        "synthetic": args.synthetic,
    }
    preprocess = {"height": args.height, "channels": args.channels}
    model = {
        "arch": args.arch,
        "stem": args.stem,
        "stages": args.stages,
        "sequence": args.sequence,
        "hidden": args.hidden,
        "dropout": args.dropout,
    }
    charset = args.charset if args.charset is not None else ("" if args.data else config.charset)
    return replace(
        config,
        train=train_config,
        synth=replace(config.synth, **{k: v for k, v in synth.items() if v is not None}),
        data=replace(config.data, **{k: v for k, v in data.items() if v is not None}),
        preprocess=replace(config.preprocess, **{k: v for k, v in preprocess.items() if v is not None}),
        model=replace(config.model, **{k: v for k, v in model.items() if v is not None}),
        charset=charset,
    )


def _cmd_eval(args: argparse.Namespace) -> int:
    from seqocr.evaluate.runner import evaluate_folder, format_summary
    from seqocr.recognizer import load

    summary = evaluate_folder(load(args.model, args.backend), args.data, args.batch_size, _decode_config(args))
    for problem in summary["problems"]:
        print(f"seqocr: warning: {problem}", file=sys.stderr)
    print(format_summary(summary))
    if args.json:
        _write_json(args.json, summary)
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    """Read every image; an unusable one gets a one-line error and the rest are still read."""
    from seqocr.recognizer import load

    if args.show_attention and args.workers > 1:
        raise SeqocrError("--show-attention reads in one process: leave out --workers")
    decoding = _decode_config(args)
    if args.workers > 1:  # the pool loads the model in each worker
        from seqocr.pool import ReadingPool

        with ReadingPool(args.model, args.backend, args.workers) as pool:
            outcomes = pool.read_each(args.images, args.batch_size, decoding)
    else:
        recognizer = load(args.model, args.backend)
        if args.show_attention and (recognizer.model is None or recognizer.model.family != "attention"):
            raise SeqocrError(
                f"{args.model}: --show-attention needs an attention model (seqocr train --arch attention)"
            )
        outcomes = recognizer.read_each([(path, path) for path in args.images], args.batch_size, decoding)
    results, errors = _split_outcomes(outcomes)
    for index, path in enumerate(args.images):  # answers in input order, errors in place
        p = results.get(index)
        if args.json:
            row = {"path": path, "error": errors[index]} if p is None else _prediction_row(path, p)
            if p is not None and args.reject_below is not None:
                row["rejected"] = p.confidence < args.reject_below
            print(json.dumps(row))
        elif p is not None:
            rejected = "\trejected" if args.reject_below is not None and p.confidence < args.reject_below else ""
            print(f"{path}\t{p.text}\t{p.confidence:.4f}{rejected}")
            for rank, (text, confidence) in enumerate(p.alternatives[1:], start=2):
                print(f"{path}\t#{rank} {text}\t{confidence:.4f}")
    if args.show_attention:
        prepared = {i: recognizer.prepare(args.images[i], args.images[i]) for i in results}
        _draw_attention(args.show_attention, prepared, results, len(args.images))
    return 1 if errors else 0


def _split_outcomes(outcomes: list[Any]) -> tuple[dict[int, Prediction], dict[int, str]]:
    """`read_each`'s answers by index: the predictions, and the errors, each printed once."""
    results = {i: o for i, o in enumerate(outcomes) if not isinstance(o, SeqocrError)}
    errors = {i: str(o) for i, o in enumerate(outcomes) if isinstance(o, SeqocrError)}
    for error in errors.values():
        print(f"seqocr: error: {error}", file=sys.stderr)
    return results, errors


def _draw_attention(out: Path, prepared: dict[int, Any], results: dict[int, Prediction], total: int) -> None:
    from seqocr.evaluate.attention_map import draw_attention

    suffix = out.suffix or ".png"
    for index, tensor in prepared.items():
        p = results[index]
        target = out.with_suffix(suffix) if total == 1 else out.with_name(f"{out.stem}-{index + 1}{suffix}")
        if not p.text:
            print(f"seqocr: nothing read in image {index + 1}: no attention to draw", file=sys.stderr)
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            draw_attention(tensor, p.text, p.attention).save(target)
        except (OSError, ValueError) as error:  # unwritable, or an extension PIL cannot write
            raise SeqocrError(f"{target}: cannot write the attention picture ({error})") from None
        print(f"attention of image {index + 1} drawn in {target}", file=sys.stderr)


def _cmd_classify(args: argparse.Namespace) -> int:
    """One digit per image; an unusable image gets a one-line error and the rest are still read."""
    from seqocr.recognizer import load

    recognizer = load(args.model)
    if recognizer.model is None or recognizer.model.family != "classifier":
        raise SeqocrError(f"{args.model}: not a single-character classifier; read strings with seqocr predict")
    results, errors = _split_outcomes(recognizer.read_each([(path, path) for path in args.images], args.batch_size))
    for index, path in enumerate(args.images):
        p = results.get(index)
        if args.json:
            answer = {"digit": p.text, "confidence": round(p.confidence, 6)} if p is not None else None
            print(json.dumps({"path": path, **(answer or {"error": errors[index]})}))
        elif p is not None:
            print(f"{path}\t{p.text}\t{p.confidence:.4f}")
    return 1 if errors else 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    """Exit status 1 on fatal problems, so scripts can stop before training."""
    from seqocr.data.doctor import diagnose, format_report
    from seqocr.train.init import read_init, with_init_geometry
    from seqocr.train.presets import preset

    config = preset(args.preset or "folder")
    model_charset = None
    if args.model:
        init = read_init(args.model)
        config, model_charset = with_init_geometry(config, init), init["charset"]
    elif config.train.init:  # the preset starts from a model: training will use its geometry
        config = with_init_geometry(config, read_init(config.train.init))
    data = {
        "path": str(args.data),
        "val_path": str(args.val) if args.val else None,
        "val_split": args.val_split,
    }
    config = replace(
        config,
        data=replace(config.data, **{k: v for k, v in data.items() if v is not None}),
        train=replace(config.train, seed=config.train.seed if args.seed is None else args.seed),
        preprocess=replace(config.preprocess, height=args.height or config.preprocess.height),
    )
    report = diagnose(config, model_charset)
    print(format_report(report))
    if args.json:
        _write_json(args.json, report.as_dict())
    return 1 if report.fatal else 0


def _prediction_row(path: str, p: Prediction) -> dict[str, Any]:
    row: dict[str, Any] = {"path": path, "text": p.text, "confidence": round(p.confidence, 6)}
    row["chars"] = [round(c, 6) for c in p.char_confidences]
    if p.alternatives:
        row["alternatives"] = [{"text": t, "confidence": round(c, 6)} for t, c in p.alternatives]
    return row


def _cmd_report(args: argparse.Namespace) -> int:
    from seqocr.evaluate.report import build_report

    context = build_report(args.model, args.data, args.out)
    print("\n".join(f"- {line}" for line in context["insights"]))
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from seqocr.data.folder import read_folder
    from seqocr.data.transform import pad_batch
    from seqocr.evaluate.calibration import calibrate
    from seqocr.recognizer import load
    from seqocr.train.checkpoint import load_checkpoint, save_checkpoint

    recognizer = load(args.model)
    if recognizer.model is None:
        raise SeqocrError(f"{args.model}: calibration fits a checkpoint; give the .pt model, not its export")
    samples = read_folder(args.data).samples
    prepared = sorted(((recognizer.prepare(p, str(p)), t) for p, t in samples), key=lambda s: s[0].shape[-1])
    batches = []
    for start in range(0, len(prepared), 64):
        chunk = prepared[start : start + 64]
        images, widths = pad_batch([t for t, _ in chunk])
        batches.append((images, widths, [text for _, text in chunk]))
    result = calibrate(recognizer.model, batches, recognizer.charset)
    data = load_checkpoint(recognizer.info["path"])
    save_checkpoint(args.out, {**data, "temperature": result.temperature, "calibration": result.as_dict()})
    print(
        f"wrote {args.out}: temperature {result.temperature:.3f} fitted on {result.images} images, "
        f"ECE {100 * result.ece_before:.2f}% -> {100 * result.ece_after:.2f}%"
    )
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from seqocr.export.checks import check_images, real_check_images
    from seqocr.export.onnx import export_onnx
    from seqocr.recognizer import load

    recognizer = load(args.model)
    real = real_check_images(recognizer, args.check_data)
    check = export_onnx(recognizer, args.out, check_images(recognizer), real, quantize=args.quantize)
    print(
        f"wrote {args.out}: checked on {check.images} images, max logit difference "
        f"{check.max_logit_difference:.2e}, {100 * check.agreement:.1f}% read identically"
    )
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from seqocr.export.bench import bench_images, format_bench, run_bench

    backends = ["torch", "onnx"] if args.backend == "both" else [args.backend]
    if str(args.model).endswith(".onnx"):
        backends = ["onnx"]
    images = bench_images(args.data, args.n)
    results = run_bench(args.model, backends, images, args.workers)
    print(format_bench(results))
    if args.json:
        _write_json(args.json, results)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from seqocr.config import ServeConfig
    from seqocr.serve import serve

    serve(
        ServeConfig(
            models=tuple(args.model or ["digits"]),
            backend=args.backend,
            host=args.host,
            port=args.port,
            max_body_bytes=int(args.max_body_mb * 1024 * 1024),
            max_images=args.max_images,
            max_pixels=args.max_pixels,
            max_request_pixels=args.max_request_pixels,
            request_timeout_s=args.request_timeout,
            keep_alive_s=args.keep_alive,
            max_connections=args.max_connections,
        )
    )
    return 0


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def _cmd_models(args: argparse.Namespace) -> int:
    from seqocr.pretrained import bundled_models, resolve_model
    from seqocr.recognizer import load

    for name in bundled_models():
        recognizer = load(name)
        metrics = recognizer.info.get("metrics", {})
        print(f"{name}\t{resolve_model(name)}\t{json.dumps(metrics)}")
    return 0
