"""`seqocr doctor`'s question: would training take this folder as it is?

The folder is checked with the split, preprocessing and model geometry a training run
would use: the recipe's (default `folder`), or the model's it would start from."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from seqocr.data.checks import time_steps_of
from seqocr.data.doctor import DoctorReport, diagnose
from seqocr.models import build_model
from seqocr.train.initial_weights import read_init, with_init_geometry
from seqocr.train.presets import preset


def checkup(
    data: Path,
    preset_name: str | None = None,
    model: str | None = None,
    val: Path | None = None,
    val_split: float | None = None,
    seed: int | None = None,
    height: int | None = None,
) -> DoctorReport:
    config = preset(preset_name or "folder")
    model_charset = None
    start = model or config.train.init  # training takes the starting model's geometry
    if start:
        init = read_init(start)
        config = with_init_geometry(config, init)
        model_charset = init.charset.chars if model else None
    config = replace(
        config,
        data=replace(
            config.data,
            path=str(data),
            val_path=str(val) if val else config.data.val_path,
            val_split=config.data.val_split if val_split is None else val_split,
        ),
        train=replace(config.train, seed=config.train.seed if seed is None else seed),
        preprocess=replace(config.preprocess, height=height or config.preprocess.height),
    )
    geometry = build_model(config.model, config.preprocess, num_classes=2)  # its width -> time steps only
    return diagnose(config, time_steps_of(geometry), model_charset)
