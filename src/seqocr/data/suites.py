"""The fixed test suites: digit strings made only from MNIST *test* digits.

- notebook: 1-5 digits, the seed notebooks' 28 px cells side by side (synth style).
- default: 1-10 digits in the synthesizer's default style.
- touching: 1-10 digits written tight, dark ink on light paper, drawn here and not by
  the training synthesizer: whole 28x28 MNIST cells placed so that neighbouring digits'
  ink is from 1 px apart to overlapping by 5 px (a quarter of MNIST's 20 px digit height),
  never by more than 45% of the narrower digit's ink.
- document: 1-10 digits with marks, paper, pen and capture effects (synth style).
- long: 20-25 digits in the default style, twice the training lengths.
- writers: 4-8 digits in other writers' conventions (continental 1s, crossed 7s,
  looped 0s, open and closed 4s, straight-tailed 9s), drawn by data/writers_suite.py.

A suite is a pure function of its name, the seed and the count. `folder_or_suites` is
the one place that decides what a report, a speed measurement or an export check reads
when the user gives no folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqocr.config import SynthConfig
from seqocr.data.folder import read_folder
from seqocr.data.images import ImageInput
from seqocr.data.mnist import Digits, load_split
from seqocr.data.synth import DigitStringSynth
from seqocr.data.writers_suite import WRITERS_SEED, writers_suite
from seqocr.errors import SeqocrError

TEST_SEED = 20_261_121  # fixed: the benchmark sets never change
SUITES: dict[str, SynthConfig] = {
    "notebook_1_5": SynthConfig(split="test", seed=TEST_SEED, min_len=1, max_len=5, style="notebook"),
    "default_1_10": SynthConfig(split="test", seed=TEST_SEED, min_len=1, max_len=10),
    "touching_1_10": SynthConfig(split="test", seed=TEST_SEED, min_len=1, max_len=10, style="touching"),
    "document_1_10": SynthConfig(split="test", seed=TEST_SEED, min_len=1, max_len=10, style="document"),
    "long_20_25": SynthConfig(split="test", seed=TEST_SEED, min_len=20, max_len=25),
    "writers_4_8": SynthConfig(split="test", seed=WRITERS_SEED, min_len=4, max_len=8, style="writers"),
}
INK = 40  # MNIST pixels above this are the digit's ink when measuring its edges


@dataclass(frozen=True)
class LabelledImages:
    """Images with their true texts, each image's source (a suite's name, or the folder),
    and all of it in words."""

    images: list[ImageInput]
    texts: list[str]
    sources: list[str]
    description: str


def folder_or_suites(data: Path | None, suites: Sequence[str], count: int) -> LabelledImages:
    """A labelled folder's images, else the first `count` strings of each suite in `suites`."""
    if data is not None:
        samples = read_folder(data).samples
        paths: list[ImageInput] = [path for path, _ in samples]
        return LabelledImages(paths, [t for _, t in samples], [str(data)] * len(paths), f"labelled folder {data}")
    digits = load_split("test")
    strings = [(item, name) for name in suites for item in suite(name, digits, count)]
    return LabelledImages(
        [image for (image, _), _ in strings],
        [text for (_, text), _ in strings],
        [name for _, name in strings],
        f"the first {count} strings of each MNIST-test suite: {', '.join(suites)}",
    )


def suite(name: str, digits: Digits, count: int) -> list[tuple[np.ndarray, str]]:
    """`count` (image, text) pairs of the suite `name`, from the MNIST test `digits`."""
    if name not in SUITES:
        raise SeqocrError(f"unknown test suite {name!r}; choose one of: {', '.join(SUITES)}")
    config = SUITES[name]
    if config.style == "touching":
        return [touching_string(digits, config, i) for i in range(count)]
    if config.style == "writers":
        return writers_suite(digits, count, config.seed)
    return DigitStringSynth(config, digits=digits).samples(count)


def touching_string(digits: Digits, config: SynthConfig, index: int) -> tuple[np.ndarray, str]:
    """Whole MNIST cells at negative offsets: touching and overlapping neighbours, dark on light."""
    rng = np.random.default_rng([config.seed, index, 2])
    length = int(rng.integers(config.min_len, config.max_len + 1))
    picks = rng.integers(0, len(digits), size=length)
    cells = digits.images[picks]  # (L, 28, 28) light ink on black
    edges = [np.flatnonzero(cell.max(axis=0) > INK) for cell in cells]
    lefts, rights = [int(e[0]) for e in edges], [int(e[-1]) + 1 for e in edges]
    xs: list[int] = []
    x = 0
    for k in range(length):
        if k:
            gap = rng.uniform(-5.0, 1.0)  # between the previous digit's ink and this one's
            narrower = min(rights[k - 1] - lefts[k - 1], rights[k] - lefts[k])
            gap = max(gap, -0.45 * narrower)
            x = round(xs[-1] + rights[k - 1] + gap - lefts[k])
        xs.append(x)
    shift = -min(xs)
    ys = rng.integers(0, 5, size=length)  # a little vertical wander
    canvas = np.zeros((32, max(xs) + shift + 28), dtype=np.uint8)
    for cell, x, y in zip(cells, xs, ys, strict=True):
        region = canvas[y : y + 28, x + shift : x + shift + 28]
        np.maximum(region, cell, out=region)
    paper, ink = rng.uniform(200, 255), rng.uniform(0, 60)
    pixels = paper - (paper - ink) * canvas.astype(np.float32) / 255.0
    pixels += rng.uniform(0, 6) * rng.standard_normal(pixels.shape)
    text = "".join(str(int(digits.labels[i])) for i in picks)
    return np.clip(pixels, 0, 255).astype(np.uint8), text
