"""Argument types and the option groups several commands share."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from seqocr.config import DecodeConfig
from seqocr.device import PRECISIONS
from seqocr.errors import SeqocrError
from seqocr.files import write_whole


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


def workers_or_auto(text: str) -> int | str:
    """An argparse type: a number of processes, or `auto`."""
    return "auto" if text == "auto" else int(non_negative_int(text))


def shard(text: str) -> tuple[int, int]:
    """An argparse type: I/N, this machine's share (I from 0 to N-1) of a list split N ways."""
    try:
        index, total = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a shard is I/N, e.g. 0/4, got {text!r}") from None
    if total < 1 or not 0 <= index < total:
        raise argparse.ArgumentTypeError(f"a shard I/N needs 0 <= I < N, got {text!r}")
    return index, total


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


def add_device_options(parser: argparse.ArgumentParser, reading: bool = False) -> None:
    """--device, and --precision: mixed precision on a GPU by default for training; reading
    defaults to float32, the precision the confidence temperature was fitted at."""
    parser.add_argument("--device", default="auto", help="auto (a CUDA GPU if any, else the CPU), cpu, cuda:N or mps")
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="32" if reading else "auto",
        help="auto: bf16 (or 16) on a GPU, 32 elsewhere; 32: no mixed precision"
        + (" (default 32)" if reading else " (default auto)"),
    )


def add_synth_options(parser: argparse.ArgumentParser, defaults: bool = True) -> None:
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


def effects(args: argparse.Namespace) -> tuple[tuple[str, float], ...]:
    from seqocr.data.effects import parse_override

    return tuple(parse_override(text) for text in args.effect or ())


def add_decode_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("decoding (constraints act inside a beam search)")
    group.add_argument("--beam", type=count, help="beam search keeping N candidates (default: greedy)")
    group.add_argument("--n-best", type=count, default=1, help="return K alternatives with their confidences")
    group.add_argument("--allowed", default="", help="only these characters, e.g. 0123456789")
    group.add_argument("--length", type=count, help="exactly this many characters")
    group.add_argument("--min-length", type=non_negative_int, default=0, help="at least this many characters")
    group.add_argument("--max-length", type=count, help="at most this many characters")
    group.add_argument("--pattern", default="", help="a regular expression the whole answer must match")
    group.add_argument(
        "--any-length",
        action="store_true",
        help="answers of any length from a model whose training labels all had one length (it reads that "
        "length by default)",
    )


def decode_config(args: argparse.Namespace) -> DecodeConfig:
    if args.length is not None and (args.min_length or args.max_length is not None):
        raise SeqocrError("--length fixes the length; do not combine it with --min-length/--max-length")
    return DecodeConfig(
        beam=args.beam or 0,
        n_best=args.n_best,
        allowed=args.allowed,
        min_length=args.length if args.length is not None else args.min_length,
        max_length=args.length if args.length is not None else args.max_length,
        pattern=args.pattern,
        learnt_length=not args.any_length,
    )


def write_json(path: Path, data: Any) -> None:
    """`path` ("-": standard output) holds `data` as indented JSON."""
    text = json.dumps(data, indent=2, default=str) + "\n"
    if str(path) == "-":
        sys.stdout.write(text)
        return
    write_whole(path, text, "the JSON")


def add_locate_option(parser: Any) -> None:
    parser.add_argument(
        "--locate",
        choices=("auto", "on", "off"),
        help="find the number in a larger image (a cell, a field, a photo) first: auto (the default for digit "
        "models) skips images that are already tight crops; off (the default for others) reads the whole image",
    )
