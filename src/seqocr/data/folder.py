"""Folders of labelled images: a `labels.tsv` (file<TAB>text) or the label as the file name.

Nothing is dropped silently: every line or file that cannot be used is returned in
`problems` with its reason, for the caller to print.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqocr.config import DataConfig
from seqocr.data.captcha import fetch_if_missing
from seqocr.data.checks import Excluded
from seqocr.errors import SeqocrError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
LABELS_FILE = "labels.tsv"
HEADER = "file\ttext"


@dataclass
class LabelledFolder:
    root: Path
    samples: list[tuple[Path, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        return [text for _, text in self.samples]


def read_folder(root: str | Path) -> LabelledFolder:
    """List the (image path, label) pairs of a folder dataset."""
    root = Path(root)
    if not root.is_dir():
        raise SeqocrError(f"{root}: not a directory")
    folder = LabelledFolder(root)
    labels = root / LABELS_FILE
    if labels.is_file():
        _read_labels_tsv(labels, folder)
    else:
        folder.samples = [(path, path.stem) for path in image_files(root)]
    if not folder.samples:
        raise SeqocrError(f"{root}: no labelled images found ({'; '.join(folder.problems[:3]) or 'empty'})")
    return folder


def image_files(root: Path, recursive: bool = False) -> list[Path]:
    """The image files in `root` (and below it, when `recursive`), sorted by path."""
    candidates = root.rglob("*") if recursive else root.iterdir()
    return sorted(p for p in candidates if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def _read_labels_tsv(labels: Path, folder: LabelledFolder) -> None:
    try:
        lines = labels.read_bytes().decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as error:
        raise SeqocrError(f"{labels}: not UTF-8 text (byte {error.start})") from None
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        where = f"{labels}:{number}"
        if not line.strip() or (number == 1 and line.strip() == HEADER):
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            folder.problems.append(f"{where}: expected 'file<TAB>text', found {len(parts)} fields")
            continue
        name, text = parts
        if not text:
            folder.problems.append(f"{where}: empty label for {name!r}")
            continue
        if name in seen:
            folder.problems.append(f"{where}: {name!r} already labelled on line {seen[name]}")
            continue
        seen[name] = number
        path = folder.root / name
        if not path.is_file():
            folder.problems.append(f"{where}: image {name!r} not found")
            continue
        folder.samples.append((path, text))


@dataclass
class FolderSplit:
    """A folder dataset split into training and validation (path, label) lists."""

    train: list[tuple[Path, str]]
    val: list[tuple[Path, str]]
    excluded: list[Excluded] = field(default_factory=list)


SMALL_SET = 1_000  # below this many images, none are held out unless asked (auto_val_split)


def auto_val_split(images: int) -> float:
    """The share held out when none is asked for: 20% of a set of 1,000 images or more
    (at least 200: enough to stop early and to fit a temperature on), none of a smaller
    set. Holding out a fifth of 100 images costs a fifth of the training data and buys a
    20-image verdict to stop early on, which stops too soon (docs/results.md, Fine-tuning
    on small sets)."""
    return 0.2 if images >= SMALL_SET else 0.0


def split_folder(data: DataConfig, seed: int) -> FolderSplit:
    """Read `data.path` (and `data.val_path`), holding out `val_split` with `seed`."""
    fetch_if_missing(Path(data.path))  # the captcha preset's set, downloaded on first use
    folder = read_folder(data.path)
    excluded = [Excluded.from_problem(p) for p in folder.problems]
    if data.val_path:
        val_folder = read_folder(data.val_path)
        excluded += [Excluded.from_problem(p) for p in val_folder.problems]
        return FolderSplit(folder.samples, val_folder.samples, excluded)
    order = np.random.default_rng(seed).permutation(len(folder.samples))
    share = data.val_split if data.val_split is not None else auto_val_split(len(folder.samples))
    n_val = round(share * len(folder.samples))
    if share > 0 and not 0 < n_val < len(folder.samples):
        raise SeqocrError(f"{data.path}: {len(folder.samples)} images cannot be split {1 - share:.0%} / {share:.0%}")
    val = [folder.samples[i] for i in sorted(order[:n_val])]
    train = [folder.samples[i] for i in sorted(order[n_val:])]
    return FolderSplit(train, val, excluded)
