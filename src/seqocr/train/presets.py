"""Named starting points for `seqocr train --preset NAME`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from seqocr.config import DataConfig, ModelConfig, PreprocessConfig, RunConfig, TrainConfig
from seqocr.data.captcha import captcha_dir
from seqocr.data.text_synth import ALNUM
from seqocr.errors import SeqocrError
from seqocr.machine import usable_cores
from seqocr.train.distributed import processes_on_this_machine
from seqocr.train.initial_weights import AUTO


def digits() -> RunConfig:
    """Digit strings of 1-10 MNIST digits in the realistic default style.

    Rendering an augmented string costs about as much as training on it, so two
    processes render and the model trains on the cores they leave: torch's threads wait
    on each other when a renderer takes one of their cores (docs/results.md, `make run`
    training time). Folder training, whose data costs little, uses every core."""
    workers = 2
    return RunConfig(train=TrainConfig(workers=workers, threads=threads_beside(workers)))


def auto_workers(gpu: bool) -> int:
    """`--workers auto`: on a GPU, every core this process's share leaves beside the
    trainer (up to 8; torchrun's processes share the machine's cores); on the CPU, the
    recipe's balance of renderers and torch threads (digits: 2)."""
    cores = usable_cores() // processes_on_this_machine()
    return max(1, min(8, cores - 1)) if gpu else 2


def threads_beside(workers: int) -> int:
    """The torch threads that fit on the cores `workers` data processes leave (at least 1)."""
    return max(1, usable_cores() - workers)


def folder() -> RunConfig:
    """A labelled folder of a hundred to many thousand images (`--data DIR`): the charset
    read from the labels, augmentation every epoch, and a start from the bundled reader
    that best covers that charset, with its network (`init="auto"`). Asked for another
    architecture or geometry, or `--init none`, it trains from scratch: a BiLSTM, which
    reads touching and overlapping characters better than local convolutions. A set of 1,000 images or
    more holds 20% out for validation with the run's seed; a smaller one trains on all
    its images, with as many synthetic strings beside them: text when its labels hold
    letters, digit strings when they hold the digits (data/folder.py, train/data.py)."""
    return RunConfig(
        train=TrainConfig(
            out="runs/folder", epochs=400, batch_size=32, lr=2e-3, patience=60, max_minutes=15.0, init=AUTO
        ),
        model=ModelConfig(sequence="lstm", hidden=128, layers=2, dropout=0.25),
        data=DataConfig(),
        charset="",
    )


def captcha() -> RunConfig:
    """captcha_images_v2 (200x50, 5 of 19 symbols): the folder recipe, started from the
    bundled `alnum` base model (and so with its geometry), which knows the letters. From
    scratch, a few hundred captchas leave CTC on its all-blank plateau for minutes, for
    as long as the seed decides; a model that already reads strings knows strokes and
    alignment (docs/results.md, Captchas)."""
    config = folder()
    return replace(
        config,
        train=replace(config.train, out="runs/captcha", init="alnum", max_minutes=10.0),
        data=replace(config.data, path=str(captcha_dir(download=False))),
    )


def alnum() -> RunConfig:
    """Alphanumeric strings in captcha styles (data/text_synth.py; 4-6 of [0-9a-z], letters
    drawn in either case): the bundled `alnum` base model, the start for folders whose
    labels hold letters. The digits network, its backbone started from `digits`
    (`--init digits` gives the whole model; the head's rows for letters start fresh)."""
    config = digits()
    return replace(
        config,
        train=replace(config.train, out="runs/alnum", init="digits", max_minutes=60.0),
        synth=replace(config.synth, min_len=4, max_len=6),
        data=DataConfig(source="text"),
        charset=ALNUM,
    )


def digit() -> RunConfig:
    """Single handwritten digits (MNIST, any size, either polarity): the CNN classifier of
    the bundled `digit` model; `--arch mlp` trains the baseline it is compared with."""
    return RunConfig(
        train=TrainConfig(out="runs/digit", epochs=40, batch_size=128, lr=3e-3, patience=8, max_minutes=15.0),
        model=ModelConfig(arch="cnn", hidden=256, dropout=0.3),
        preprocess=PreprocessConfig(height=28, square=True),
        data=DataConfig(source="digits"),
    )


def locator() -> RunConfig:
    """The locator (models/locator.py) on synthetic cells and fields (data/cells.py): one
    process renders cells while the network trains on the other core."""
    from seqocr.models.locator import LOCATOR_CONFIG

    return RunConfig(
        train=TrainConfig(
            out="runs/locator",
            epochs=200,
            batch_size=16,
            lr=3e-3,
            samples_per_epoch=3_000,
            val_samples=400,
            patience=6,
            max_minutes=40.0,
            workers=1,
            threads=threads_beside(1),
        ),
        model=LOCATOR_CONFIG,
    )


PRESETS: dict[str, Callable[[], RunConfig]] = {
    "digits": digits,
    "locator": locator,
    "alnum": alnum,
    "digit": digit,
    "folder": folder,
    "captcha": captcha,
}


def preset(name: str) -> RunConfig:
    try:
        return PRESETS[name]()
    except KeyError:
        raise SeqocrError(f"unknown preset {name!r}; choose one of: {', '.join(sorted(PRESETS))}") from None
