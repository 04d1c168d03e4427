"""`seqocr train`: a recipe (preset) with the user's options on top, trained into a run folder."""

from __future__ import annotations

import argparse
import math
import shlex
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from seqocr.cli.options import (
    add_device_options,
    add_synth_options,
    count,
    effects,
    fraction,
    non_negative_float,
    positive_float,
    stages,
    workers_or_auto,
)
from seqocr.config import RunConfig, TrainConfig
from seqocr.errors import SeqocrError
from seqocr.train.initial_weights import AUTO
from seqocr.train.presets import PRESETS

# On a GPU the default batch is this many times the recipe's, and the learning rate
# grows with its square root (Adam's rule of thumb): a GPU idles on batches of 64.
GPU_BATCH_SCALE = 4
T = TypeVar("T")


def add_commands(commands: Any) -> None:
    train = commands.add_parser("train", help="train a recognizer into a run folder")
    _add_data_options(train)
    _add_run_options(train)
    _add_architecture_options(train)
    add_synth_options(train, defaults=False)
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(handler=run_training)
    blend = commands.add_parser(
        "blend", help="blend a fine-tuned model's weights with those of the model it started from"
    )
    blend.add_argument("model", help="the fine-tuned model: a checkpoint or run folder")
    blend.add_argument("--start", required=True, help="the model it was fine-tuned from: a bundled name or checkpoint")
    blend.add_argument(
        "--weight", required=True, type=fraction, help="the fine-tuned model's share, from 0 (the start) toward 1"
    )
    blend.add_argument("--out", required=True, type=Path, help="the blended checkpoint to write")
    blend.set_defaults(handler=blend_models)


def _add_data_options(train: argparse.ArgumentParser) -> None:
    """The recipe, what it trains on and starts from, and how images are prepared."""
    train.add_argument("--preset", choices=sorted(PRESETS), help="a recipe (default: digits, or folder with --data)")
    train.add_argument("--data", type=Path, help="a labelled folder (labels.tsv or label-named images)")
    train.add_argument("--val", type=Path, help="a separate validation folder (default: hold out --val-split)")
    train.add_argument(
        "--val-split",
        type=fraction,
        help="share of --data held out for validation (default: 0.2 of 1,000 images or more, none of fewer)",
    )
    train.add_argument("--charset", help="the characters to read (default: those found in the labels)")
    train.add_argument(
        "--init",
        help="start from this model: a bundled name, checkpoint or run folder (with --sequence or --hidden: its "
        "backbone); none: from scratch (default with --data: the bundled reader that best covers the labels)",
    )
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
        help="synthetic strings per folder image each epoch: text when the labels hold letters, "
        "digit strings when they hold digits (default: 1 under 1,000 images, else 0)",
    )


def _add_run_options(train: argparse.ArgumentParser) -> None:
    """Where the run goes, its schedule and budget, and the machine it trains on."""
    train.add_argument("--out", type=Path, help="run folder (default runs/PRESET)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out from its last epoch")
    train.add_argument(
        "--pause-after",
        type=non_negative_float,
        default=0.0,
        metavar="MINUTES",
        help="end this call at the first epoch's end past MINUTES, the run's schedule unchanged; continue "
        "with --resume",
    )
    train.add_argument("--epochs", type=count)
    train.add_argument(
        "--batch-size", type=count, help=f"per process (default: the recipe's; x{GPU_BATCH_SCALE} on a GPU)"
    )
    train.add_argument(
        "--lr",
        type=positive_float,
        help="peak learning rate (default: the recipe's; x2 on a GPU with its default batch)",
    )
    train.add_argument("--weight-decay", type=non_negative_float, help="AdamW weight decay")
    train.add_argument("--samples-per-epoch", type=count)
    train.add_argument("--val-samples", type=count)
    train.add_argument(
        "--patience",
        type=count,
        help="stop after this many epochs without improvement (with --resume: replaces the run's own, so a run "
        "stopped early goes on)",
    )
    train.add_argument("--seed", type=int)
    train.add_argument("--max-minutes", type=non_negative_float, help="stop after this much training time")
    train.add_argument("--threads", type=count, help="torch threads (default: the preset's, else all cores)")
    train.add_argument(
        "--workers",
        type=workers_or_auto,
        help="data worker processes (0: render in the trainer; auto, the GPU default: every core the trainer leaves)",
    )
    add_device_options(train)


def _add_architecture_options(train: argparse.ArgumentParser) -> None:
    train.add_argument(
        "--arch",
        help="architecture: crnn (CTC), attention (encoder-decoder), cnn or mlp (one digit; --preset digit), "
        "locator (finds digit strings in cells and fields; --preset locator)",
    )
    train.add_argument("--stem", type=count, help="crnn, attention: channels of the stride-2 first convolution")
    train.add_argument(
        "--stages", type=stages, help="crnn, attention: backbone stages, CHANNELS[:POOL_H:POOL_W],... (32:2:2,64,...)"
    )
    train.add_argument("--sequence", choices=("conv", "lstm"), help="crnn: sequence model after the backbone")
    train.add_argument("--hidden", type=count, help="width of the sequence model (or dense layers)")
    train.add_argument("--dropout", type=fraction, help="dropout in the sequence model and before the output")


def run_training(args: argparse.Namespace) -> int:
    from seqocr.run_folder import RunFolder
    from seqocr.train.distributed import launched_as_main
    from seqocr.train.locator_loop import train_locator
    from seqocr.train.loop import train

    config = train_config_from(args)
    command = "seqocr " + " ".join(shlex.quote(a) for a in args.argv)
    arch = RunFolder(config.train.out).read_config().model.arch if args.resume else config.model.arch
    if arch == "locator":  # a resumed run is the run it was
        if args.pause_after:
            raise SeqocrError("--pause-after: the locator trains in one piece (give --max-minutes instead)")
        best = train_locator(config, resume=args.resume, progress=not args.no_progress, command=command)
    else:
        patience = args.patience if args.resume else None  # a resumed run keeps its own config, but for this
        best = train(config, args.resume, not args.no_progress, command, args.pause_after, patience)
    if launched_as_main():  # under torchrun, rank 0 speaks for the run
        print(f"best checkpoint: {best}")
    return 0


def train_config_from(args: argparse.Namespace) -> RunConfig:
    """The preset's RunConfig with every option the user gave applied on top."""
    from seqocr.train.presets import preset

    name = args.preset or ("folder" if args.data else "locator" if args.arch == "locator" else "digits")
    config = preset(name)
    train_config = _train_options(args, config, name)
    synth = {"min_len": args.min_len, "max_len": args.max_len, "style": args.style, "effects": effects(args) or None}
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
        synth=_given(config.synth, synth),
        data=_given(config.data, data),
        preprocess=_given(config.preprocess, preprocess),
        model=_given(config.model, model),
        charset=charset,
    )


def _train_options(args: argparse.Namespace, config: RunConfig, name: str) -> TrainConfig:
    """The recipe's training options with the user's on top; on a GPU, larger batches and
    every core it leaves rendering."""
    from seqocr.device import resolve_device
    from seqocr.train.presets import auto_workers, threads_beside

    on_gpu = resolve_device(args.device).type == "cuda"
    # a GPU trains faster than the recipe's two renderers draw: render on every core it leaves
    workers = auto_workers(on_gpu) if args.workers == "auto" or (args.workers is None and on_gpu) else args.workers
    overrides = {
        "epochs": args.epochs,
        "batch_size": args.batch_size or (config.train.batch_size * GPU_BATCH_SCALE if on_gpu else None),
        "lr": args.lr or (config.train.lr * math.sqrt(GPU_BATCH_SCALE) if on_gpu and not args.batch_size else None),
        "weight_decay": args.weight_decay,
        "samples_per_epoch": args.samples_per_epoch,
        "val_samples": args.val_samples,
        "patience": args.patience,
        "seed": args.seed,
        "max_minutes": args.max_minutes,
        "threads": args.threads,
        "workers": workers,
        "init": _init(args, config),
        # a new sequence model over an initial model: only its backbone's weights fit
        "init_backbone": True if args.init and (args.sequence or args.hidden) else None,
        "ema": args.ema,
        "device": args.device,
        "precision": args.precision,
    }
    if workers is not None and args.threads is None and config.train.threads:
        # the preset's threads are the cores its own workers leave: follow the workers asked for
        overrides["threads"] = threads_beside(workers)
    default_out = Path("runs") / (args.data.name if args.data and not args.preset else name)
    return _given(config.train, {"out": str(args.out or default_out), **overrides})


def _init(args: argparse.Namespace, config: RunConfig) -> str | None:
    """`--init`, with "none" meaning from scratch; the recipe's automatic start gives way
    to scratch when the user asks for a network or input geometry of their own."""
    if args.init is not None:
        return "" if args.init.lower() == "none" else args.init
    own_geometry = any(
        getattr(args, option) is not None
        for option in ("arch", "stem", "stages", "sequence", "hidden", "dropout", "height", "channels")
    )
    return "" if config.train.init == AUTO and own_geometry else None


def _given(config: T, values: dict[str, Any]) -> T:
    """`config` with the values the user gave (None: not given, the recipe's stays)."""
    return replace(config, **{k: v for k, v in values.items() if v is not None})  # type: ignore[type-var]


def blend_models(args: argparse.Namespace) -> int:
    """`seqocr blend`: a fine-tuned model moved back toward its start (train/averaging.py)."""
    from seqocr.checkpoint import Checkpoint
    from seqocr.pretrained import resolve_model
    from seqocr.train.averaging import blended

    start, tuned = (Checkpoint.load(resolve_model(m)) for m in (args.start, args.model))
    command = "seqocr " + " ".join(shlex.quote(a) for a in args.argv)
    blend = blended(start, tuned, args.weight, names=(args.start, args.model))
    replace(blend, command=command).save(args.out)
    print(
        f"wrote {args.out}: {args.weight:g} of {args.model} and {1 - args.weight:g} of {args.start}; "
        f"fit its confidence with: seqocr calibrate {args.out} --data VAL --out {args.out}"
    )
    return 0
