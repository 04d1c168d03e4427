"""Reading and measuring: `predict`, `classify`, `eval`, `report`, `calibrate`."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from seqocr.cli.options import (
    add_decode_options,
    add_device_options,
    add_locate_option,
    bounded,
    count,
    decode_config,
    shard,
    write_json,
)
from seqocr.errors import SeqocrError
from seqocr.files import reason


def add_commands(commands: Any) -> None:
    _add_predict(commands.add_parser("predict", help="read images, files or folders (JSON lines with --json)"))
    _add_classify(commands.add_parser("classify", help="read one handwritten digit per image"))
    _add_eval(commands.add_parser("eval", help="measure a model on a labelled folder"))
    _add_report(commands.add_parser("report", help="an HTML and Markdown report on a run or model, with insights"))
    _add_calibrate(commands.add_parser("calibrate", help="fit a model's confidence temperature on labelled data"))


def _add_predict(predict: argparse.ArgumentParser) -> None:
    _add_inputs(predict)
    predict.add_argument("--model", default="digits", help="bundled name, checkpoint or run folder")
    predict.add_argument("--json", action="store_true", help="one JSON object per line")
    predict.add_argument("--batch-size", type=count, default=64)
    predict.add_argument(
        "--reject-below", type=bounded(float, 0), metavar="P", help="mark answers with confidence below P as rejected"
    )
    add_decode_options(predict)
    predict.add_argument("--backend", choices=("torch", "onnx"), default="torch", help="run the network with")
    add_device_options(predict, reading=True)
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
    add_locate_option(predict)
    predict.add_argument(
        "--all", action="store_true", help="every string found, in reading order, each with its box (JSON: strings)"
    )
    predict.add_argument(
        "--show", type=Path, metavar="OUT.png", help="draw the boxes and readings (OUT-N.png for several images)"
    )
    predict.add_argument("--no-progress", action="store_true", help="no progress bar for large inputs")
    predict.set_defaults(handler=predict_files)


def _add_inputs(predict: argparse.ArgumentParser) -> None:
    """What `predict` reads, and how a large input is shared out, continued and answered."""
    predict.add_argument(
        "images",
        nargs="*",
        help="image files; put names that start with a dash after --: seqocr predict -- -1.png; "
        "folders are read recursively",
    )
    predict.add_argument(
        "--files-from", metavar="LIST", help="also read the files listed here, one per line (-: stdin)"
    )
    predict.add_argument(
        "--null", "-0", action="store_true", help="names in LIST end with a NUL byte, as find -print0 writes them"
    )
    predict.add_argument("--shard", type=shard, metavar="I/N", help="read only every N-th file from the I-th (0-based)")
    predict.add_argument("--skip-done", type=Path, metavar="OUT.jsonl", help="skip files this JSON lines file answered")
    predict.add_argument("--out", type=Path, metavar="OUT.jsonl", help="append JSON lines here (implies --json)")


def _add_classify(classify: argparse.ArgumentParser) -> None:
    classify.add_argument("images", nargs="+", help="image files, one digit each (any size, either polarity)")
    classify.add_argument("--model", default="digit", help="bundled name, checkpoint or run folder")
    classify.add_argument("--json", action="store_true", help="one JSON object per line")
    classify.add_argument("--batch-size", type=count, default=64)
    add_device_options(classify, reading=True)
    classify.set_defaults(handler=classify_files)


def _add_eval(evaluate: argparse.ArgumentParser) -> None:
    evaluate.add_argument("--model", default="digits", help="bundled name, checkpoint or run folder")
    evaluate.add_argument("--data", required=True, type=Path, help="folder with labels.tsv or label-named images")
    evaluate.add_argument("--json", type=Path, help="also write the metrics here as JSON (-: standard output)")
    evaluate.add_argument("--batch-size", type=count, default=64)
    add_decode_options(evaluate)
    evaluate.add_argument("--backend", choices=("torch", "onnx"), default="torch", help="run the network with")
    add_device_options(evaluate, reading=True)
    evaluate.set_defaults(handler=evaluate_model)


def _add_report(report: argparse.ArgumentParser) -> None:
    report.add_argument("model", help="a run folder (adds its curves and config), checkpoint, .onnx or bundled name")
    report.add_argument("--data", type=Path, help="a labelled folder (default for digit models: MNIST test strings)")
    report.add_argument("--out", type=Path, default=Path("report.html"), help="the HTML file (Markdown beside it)")
    add_device_options(report, reading=True)
    report.set_defaults(handler=write_report)


def _add_calibrate(calibrate: argparse.ArgumentParser) -> None:
    calibrate.add_argument("model", help="bundled name, checkpoint or run folder")
    calibrate.add_argument("--data", required=True, type=Path, help="labelled validation images (not the test set)")
    calibrate.add_argument("--out", required=True, type=Path, help="the calibrated checkpoint to write")
    add_device_options(calibrate, reading=True)
    calibrate.set_defaults(handler=calibrate_model)


def _load(args: argparse.Namespace) -> Any:
    from seqocr.loading import load

    backend = getattr(args, "backend", "torch")
    return load(args.model, backend, device=args.device, precision=args.precision, locate=getattr(args, "locate", None))


def predict_files(args: argparse.Namespace) -> int:
    """Read every file, a chunk at a time; an unusable one gets a one-line error in its
    place and the rest are still read. Exit status 1 when any could not be read."""
    from tqdm import tqdm

    from seqocr.input_files import CHUNK, answer_lines, answered, list_inputs, read_in_chunks, same_file, take_shard

    if not args.images and args.files_from is None:
        raise SeqocrError("predict: give image files or folders, or --files-from LIST")
    paths = list_inputs(args.images, args.files_from, separator=b"\0" if args.null else b"\n")
    if args.shard:
        paths = take_shard(paths, *args.shard)
    if args.skip_done:
        done = answered(args.skip_done)
        paths = [p for p in paths if same_file(p) not in done]
    if (args.show_attention or args.show) and args.workers > 1:
        raise SeqocrError("--show and --show-attention read in one process: leave out --workers")
    decoding = decode_config(args)
    as_json = args.json or args.out is not None
    sink = _append_lines(args.out) if args.out is not None else sys.stdout
    failures = 0
    attention: dict[int, Any] = {}
    shown: dict[int, Any] = {}
    try:
        with _reader(args, decoding) as (read, recognizer):
            if args.show_attention:
                recognizer.require("attention", "--show-attention")
            if args.all and recognizer is not None and recognizer.locate == "off":
                raise SeqocrError("--all lists the strings the locator finds: leave out --locate off")
            bar = tqdm(total=len(paths), unit="img", disable=args.no_progress or len(paths) < 2000, file=sys.stderr)
            for index, (path, outcome) in enumerate(read_in_chunks(read, paths)):
                bar.update()
                if isinstance(outcome, SeqocrError):
                    failures += 1
                    print(f"seqocr: error: {outcome}", file=sys.stderr)
                sink.write(answer_lines(path, outcome, as_json, args.reject_below))
                if index % CHUNK == CHUNK - 1:
                    sink.flush()  # a stopped run keeps what it read (--skip-done continues)
                if args.show and not isinstance(outcome, SeqocrError):
                    shown[index] = outcome
                if args.show_attention and not isinstance(outcome, SeqocrError):
                    attention[index] = (recognizer.prepare(path, path), outcome)
            bar.close()
            if sink is not sys.stdout:
                sink.close()  # buffered answers reach the disk here: a full one fails here
    except OSError as error:  # a full disk, /dev/full, a file-size limit
        if sink is sys.stdout or isinstance(error, BrokenPipeError):
            raise
        raise SeqocrError(f"{args.out}: cannot write the answers ({reason(error)})") from None
    finally:
        if sink is not sys.stdout and not sink.closed:
            with contextlib.suppress(OSError):
                sink.close()
    if args.show_attention:
        _draw_attention(args.show_attention, attention, len(paths))
    if args.show:
        _draw_boxes(args.show, paths, shown)
    return 1 if failures else 0


def _append_lines(path: Path) -> Any:
    """`path` opened to append JSON lines; the fragment of a line a stopped run left
    half-written is cut off first, so the file holds whole lines only."""
    try:
        if path.is_file() and path.stat().st_size > 0:
            with path.open("rb+") as written:
                written.seek(-1, 2)
                if written.read(1) != b"\n":
                    written.seek(0)
                    written.truncate(written.read().rfind(b"\n") + 1)
        return path.open("a")
    except OSError as error:
        raise SeqocrError(f"{path}: cannot write the answers ({error.strerror or error})") from None


@contextlib.contextmanager
def _reader(args: argparse.Namespace, decoding: Any) -> Iterator[tuple[Any, Any]]:
    """(read a list of paths, the recognizer or None): one recognizer here, or a pool of
    one-thread processes each holding the model (--workers)."""
    if args.workers <= 1:
        recognizer = _load(args)
        read = recognizer.read_every_string if args.all else recognizer.read
        yield (lambda part: read([(p, p) for p in part], args.batch_size, decoding)), recognizer
        return
    from seqocr.pool import ReadingPool

    if args.device not in ("cpu", "auto"):
        raise SeqocrError("--workers reads in CPU processes; on a GPU leave it out and raise --batch-size")
    with ReadingPool(args.model, args.backend, args.workers, args.locate) as pool:
        read_many = pool.read_every_string if args.all else pool.read
        yield (lambda part: read_many(part, args.batch_size, decoding)), None


def _draw_boxes(out: Path, paths: list[str], readings: dict[int, Any]) -> None:
    from seqocr.data.images import open_image
    from seqocr.evaluate.boxes import draw_readings

    suffix = out.suffix or ".png"
    for index, outcome in readings.items():
        target = out.with_suffix(suffix) if len(paths) == 1 else out.with_name(f"{out.stem}-{index + 1}{suffix}")
        strings = outcome if isinstance(outcome, list) else [outcome]
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            draw_readings(open_image(paths[index]), strings).save(target)
        except (OSError, ValueError) as error:  # unwritable, or an extension PIL cannot write
            raise SeqocrError(f"{target}: cannot write the picture ({error})") from None
        print(f"boxes of image {index + 1} drawn in {target}", file=sys.stderr)


def _draw_attention(out: Path, readings: dict[int, Any], total: int) -> None:
    from seqocr.evaluate.attention_map import draw_attention

    suffix = out.suffix or ".png"
    for index, (tensor, p) in readings.items():
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


def classify_files(args: argparse.Namespace) -> int:
    """One digit per image; an unusable image gets a one-line error and the rest are still read."""
    recognizer = _load(args)
    if recognizer.family != "classifier":
        raise SeqocrError(f"{args.model}: not a single-character classifier; read strings with seqocr predict")
    failures = 0
    for path, outcome in zip(args.images, recognizer.read([(p, p) for p in args.images], args.batch_size), strict=True):
        if isinstance(outcome, SeqocrError):
            failures += 1
            print(f"seqocr: error: {outcome}", file=sys.stderr)
            if args.json:
                print(json.dumps({"path": path, "error": str(outcome)}))
        elif args.json:
            print(json.dumps({"path": path, "digit": outcome.text, "confidence": round(outcome.confidence, 6)}))
        else:
            print(f"{path}\t{outcome.text}\t{outcome.confidence:.4f}")
    return 1 if failures else 0


def evaluate_model(args: argparse.Namespace) -> int:
    from seqocr.evaluate.runner import evaluate_folder, format_summary

    summary = evaluate_folder(_load(args), args.data, args.batch_size, decode_config(args))
    for problem in summary["problems"]:
        print(f"seqocr: warning: {problem}", file=sys.stderr)
    print(format_summary(summary), file=sys.stderr if str(args.json) == "-" else sys.stdout)
    if args.json:
        write_json(args.json, summary)
    return 0


def write_report(args: argparse.Namespace) -> int:
    from seqocr.evaluate.report import build_report

    context = build_report(_load(args), args.model, args.data, args.out)
    print("\n".join(f"- {line}" for line in context["insights"]))
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")
    return 0


def calibrate_model(args: argparse.Namespace) -> int:
    from seqocr.evaluate.calibration import calibrate_on_folder
    from seqocr.loading import load

    reader = load(args.model, device=args.device, precision=args.precision, locate="off")  # whole images, as trained
    result = calibrate_on_folder(reader, args.data, args.out)
    print(
        f"wrote {args.out}: temperature {result.temperature:.3f} fitted on {result.images} images, "
        f"ECE {100 * result.ece_before:.2f}% -> {100 * result.ece_after:.2f}%"
    )
    return 0
