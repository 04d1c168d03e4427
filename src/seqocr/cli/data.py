"""`seqocr data synth` and `seqocr doctor`: make a dataset, check one before training."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from seqocr.cli.options import add_synth_options, count, effects, fraction, write_json
from seqocr.errors import SeqocrError
from seqocr.train.presets import PRESETS


def add_commands(commands: Any) -> None:
    data = commands.add_parser("data", help="make datasets").add_subparsers(dest="data_command", required=True)
    synth = data.add_parser("synth", help="write synthetic MNIST digit strings as PNGs and labels.tsv")
    synth.add_argument("--out", type=Path, help="folder to write (created)")
    synth.add_argument("--gallery", type=Path, metavar="PNG", help="draw every style and effect into one picture")
    synth.add_argument("-n", type=count, default=1000, help="number of images (default 1000)")
    add_synth_options(synth)
    synth.add_argument(
        "--split", choices=("train", "val", "test"), default="test", help="MNIST digits to draw from (default test)"
    )
    synth.add_argument("--seed", type=int, default=0)
    synth.set_defaults(handler=synthesize)

    crops = data.add_parser(
        "crops", help="write what the reader sees after the locator, from synthetic cells, to fine-tune a reader on"
    )
    crops.add_argument("--out", type=Path, required=True, help="folder to write (created)")
    crops.add_argument("-n", type=count, default=10_000, help="cells to locate (default 10,000)")
    crops.add_argument("--locator", default="locator", help="bundled name or checkpoint of the locator")
    crops.add_argument("--seed", type=int, default=1, help="seed of the cells (the bundled locator trained on 0)")
    crops.add_argument("--start", type=int, default=0, help="first cell index (split the work between processes)")
    crops.set_defaults(handler=write_crops)

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
    doctor.add_argument("--json", type=Path, help="also write the full report here as JSON (-: standard output)")
    doctor.set_defaults(handler=check_folder)


def synthesize(args: argparse.Namespace) -> int:
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
        effects=effects(args),
    )
    labels = write_synth(config, args.out, args.n)
    print(f"wrote {args.n} images and {labels}")
    return 0


def write_crops(args: argparse.Namespace) -> int:
    from seqocr.locating import StringLocator
    from seqocr.train.located_crops import write_located_crops

    written = write_located_crops(StringLocator.load(args.locator), args.out, args.n, args.seed, args.start)
    print(f"wrote {written} located crops of {args.n} cells and {args.out / 'labels.tsv'}")
    return 0


def check_folder(args: argparse.Namespace) -> int:
    """Exit status 1 on fatal problems, so scripts can stop before training."""
    import sys

    from seqocr.train.doctor import checkup, format_report

    report = checkup(args.data, args.preset, args.model, args.val, args.val_split, args.seed, args.height)
    print(format_report(report), file=sys.stderr if str(args.json) == "-" else sys.stdout)
    if args.json:
        write_json(args.json, report.as_dict())
    return 1 if report.fatal else 0
