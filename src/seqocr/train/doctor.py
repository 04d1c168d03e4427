"""`seqocr doctor`: would training take this labelled folder as it is?

The folder is checked with the split, preprocessing and model geometry a training run
would use: the recipe's (default `folder`), or the model's it would start from. Every
image is opened and preprocessed once by the checks training uses (data/checks.py), so
what the doctor says fits is what training will accept. Fatal problems (nothing usable, labels
the model cannot emit, validation characters never seen in training) make the exit
status non-zero; the rest are warnings. Every excluded sample is listed with its reason.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqocr.charset import Charset
from seqocr.config import RunConfig
from seqocr.data.checks import (
    CheckedSample,
    Excluded,
    TimeSteps,
    charset_warnings,
    check_samples,
    near_duplicates,
)
from seqocr.data.folder import read_folder, split_folder
from seqocr.models import build_model
from seqocr.train.data import time_steps_of
from seqocr.train.initial_weights import AUTO, choose_start, read_init, with_init_geometry
from seqocr.train.presets import preset


@dataclass
class DoctorReport:
    root: str
    labels_from: str
    listed: int
    train: list[CheckedSample]
    val: list[CheckedSample]
    excluded: list[Excluded]
    charset: str  # what the labels use
    model_charset: str | None  # what the chosen model reads, when it is fixed
    height: int
    duplicates: list[tuple[str, str, float]] = field(default_factory=list)
    identical: list[list[str]] = field(default_factory=list)
    fatal: list[str] = field(default_factory=list)

    @property
    def kept(self) -> list[CheckedSample]:
        return self.train + self.val

    def as_dict(self) -> dict[str, Any]:
        kept = self.kept
        return {
            "root": self.root,
            "labels_from": self.labels_from,
            "listed": self.listed,
            "usable": len(kept),
            "train": len(self.train),
            "val": len(self.val),
            "charset": self.charset,
            "model_charset": self.model_charset,
            "label_lengths": dict(sorted(Counter(len(s.text) for s in kept).items())),
            "chars_per_split": chars_per_split(self.train, self.val),
            "sizes": dict(Counter(f"{s.size[0]}x{s.size[1]}" for s in kept).most_common()),
            "modes": dict(Counter(s.mode for s in kept).most_common()),
            "time_steps": _spread([s.time_steps for s in kept]),
            "near_duplicates": [{"train": a, "val": b, "distance": d} for a, b, d in self.duplicates],
            "identical_files": self.identical,
            "excluded": [{"where": e.where, "reason": e.reason} for e in self.excluded],
            "fatal": self.fatal,
            "warnings": charset_warnings([s.text for s in kept]),
        }


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
    if start == AUTO:
        start = choose_start(Charset.from_labels([text for _, text in read_folder(data).samples]))[0]
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


def diagnose(config: RunConfig, steps: TimeSteps, model_charset: str | None = None) -> DoctorReport:
    """Check `config.data` for training with `config`'s split and preprocessing, and a model
    whose width -> time steps arithmetic is `steps` (data/checks.time_steps_of)."""
    split = split_folder(config.data, config.train.seed)
    charset = Charset(model_charset) if model_charset else None
    with torch.inference_mode():
        train = check_samples(split.train, config.preprocess, steps, charset)
        val = check_samples(split.val, config.preprocess, steps, charset)
    root = Path(config.data.path)
    report = DoctorReport(
        root=str(root),
        labels_from="labels.tsv" if (root / "labels.tsv").is_file() else "file names",
        listed=len(split.train) + len(split.val) + len(split.excluded),
        train=train.kept,
        val=val.kept,
        excluded=split.excluded + train.excluded + val.excluded,
        charset="".join(sorted({c for s in train.kept + val.kept for c in s.text})),
        model_charset=model_charset,
        height=config.preprocess.height,
    )
    report.duplicates = [(str(a.path), str(b.path), d) for a, b, d in near_duplicates(train.kept, val.kept)]
    report.identical = identical_files(report.kept)
    report.fatal = fatal_problems(report)
    return report


def chars_per_split(train: list[CheckedSample], val: list[CheckedSample]) -> dict[str, dict[str, int]]:
    train_counts = Counter(c for s in train for c in s.text)
    val_counts = Counter(c for s in val for c in s.text)
    chars = sorted(set(train_counts) | set(val_counts))
    return {c: {"train": train_counts[c], "val": val_counts[c]} for c in chars}


def identical_files(samples: list[CheckedSample]) -> list[list[str]]:
    """Groups of byte-identical files: the same image counted twice."""
    groups: dict[str, list[str]] = {}
    for sample in samples:
        digest = hashlib.sha256(sample.path.read_bytes()).hexdigest()
        groups.setdefault(digest, []).append(str(sample.path))
    return [paths for paths in groups.values() if len(paths) > 1]


def fatal_problems(report: DoctorReport) -> list[str]:
    fatal = []
    if not report.kept:
        fatal.append("no usable images")
    unfit = [e for e in report.excluded if "time steps" in e.reason]
    if unfit:
        fatal.append(f"{len(unfit)} labels are longer than the model can emit from their image (see excluded)")
    foreign = [e for e in report.excluded if "outside the charset" in e.reason]
    if foreign:
        fatal.append(f"{len(foreign)} labels use characters the model cannot read (see excluded)")
    unseen = sorted({c for s in report.val for c in s.text} - {c for s in report.train for c in s.text})
    if unseen:
        fatal.append(f"validation labels use characters no training label has: {''.join(unseen)!r}")
    return fatal


def _spread(values: list[int]) -> dict[str, float]:
    if not values:
        return {}
    return {"min": min(values), "median": float(np.median(values)), "max": max(values)}


def format_report(report: DoctorReport, show: int = 20) -> str:
    """The human-readable report; lists are cut at `show` lines (the JSON has them all)."""
    d = report.as_dict()
    lines = [
        f"dataset      {d['root']} (labels from {d['labels_from']})",
        f"images       {d['listed']} listed, {d['usable']} usable, {len(d['excluded'])} excluded",
        f"split        {d['train']} train, {d['val']} validation",
        f"modes        {_counts(d['modes'])}",
        f"sizes        {_counts(d['sizes'], 6)}",
        f"lengths      {_counts({str(k): v for k, v in d['label_lengths'].items()})}",
        f"charset      {len(d['charset'])} characters: {d['charset']}",
    ]
    if report.model_charset is not None:
        lines.append(f"model reads  {report.model_charset}")
    steps = d["time_steps"]
    if steps:
        lines.append(
            f"time steps   {steps['min']}-{steps['max']} (median {steps['median']:g}) at input height {report.height}"
        )
    lines.append("chars        char  train  val")
    for char, counts in d["chars_per_split"].items():
        flag = "  <- never in training" if counts["train"] == 0 else ""
        lines.append(f"             {char!r:>4} {counts['train']:>6} {counts['val']:>4}{flag}")
    lines.append(f"near-duplicates across splits: {len(d['near_duplicates'])}")
    lines += [f"  {p['train']} ~ {p['val']} (distance {p['distance']:.2f})" for p in d["near_duplicates"][:show]]
    lines.append(f"identical files: {len(d['identical_files'])} groups")
    lines += [f"  {' = '.join(group)}" for group in d["identical_files"][:show]]
    lines.append(f"excluded: {len(d['excluded'])}")
    lines += [f"  {e['where']}: {e['reason']}" for e in d["excluded"][:show]]
    if len(d["excluded"]) > show:
        lines.append(f"  ... and {len(d['excluded']) - show} more (--json lists all)")
    lines += [f"warning: {w}" for w in d["warnings"]]
    verdict = "OK: ready to train" if not report.fatal else "FATAL: " + "; ".join(report.fatal)
    lines.append(verdict)
    return "\n".join(lines)


def _counts(counts: dict[str, int], limit: int = 12) -> str:
    items = list(counts.items())
    text = ", ".join(f"{k}: {v}" for k, v in items[:limit])
    return text + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")
