"""Which samples of a labelled folder a model can learn from, and why the others cannot.

Shared by `seqocr doctor` (which reports) and training (which excludes and lists):
nothing is dropped without its reason being written down.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from seqocr.charset import Charset
from seqocr.config import PreprocessConfig
from seqocr.data.images import open_image
from seqocr.data.transform import preprocess
from seqocr.errors import SeqocrError, attempt_each

TimeSteps = Callable[[int], int]  # an input width (after preprocessing) -> CTC time steps


@dataclass
class Excluded:
    where: str  # a file, or a file:line of labels.tsv
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"

    @classmethod
    def from_problem(cls, problem: str) -> Excluded:
        """From a folder reader's "where: reason" problem line."""
        where, _, reason = problem.partition(": ")
        return cls(where, reason)


@dataclass
class CheckedSample:
    path: Path
    text: str
    size: tuple[int, int]  # the file's (width, height)
    mode: str
    width: int  # after preprocessing
    time_steps: int
    thumbnail: np.ndarray  # 16x16 grayscale, for finding near-duplicates


@dataclass
class CheckedSamples:
    kept: list[CheckedSample] = field(default_factory=list)
    excluded: list[Excluded] = field(default_factory=list)

    @property
    def samples(self) -> list[tuple[Path, str]]:
        return [(s.path, s.text) for s in self.kept]


def ctc_steps_needed(text: str) -> int:
    """CTC emits a blank between equal neighbours, so "88" needs 3 time steps, not 2."""
    return len(text) + sum(a == b for a, b in zip(text, text[1:], strict=False))


def check_samples(
    samples: Sequence[tuple[Path, str]],
    preprocess_config: PreprocessConfig,
    time_steps: TimeSteps,
    charset: Charset | None = None,
) -> CheckedSamples:
    """Open and preprocess every image once; keep what a model can learn from."""

    def opened(sample: tuple[Path, str]) -> tuple[Image.Image, int]:
        image = open_image(sample[0])
        return image, int(preprocess(image, preprocess_config, str(sample[0])).shape[-1])

    result = CheckedSamples()
    for (path, text), outcome in zip(samples, attempt_each(opened, samples), strict=True):
        if charset is not None and charset.unknown_chars(text):
            reason = f"label {text!r} has characters outside the charset: {charset.unknown_chars(text)!r}"
            result.excluded.append(Excluded(str(path), reason))
            continue
        if isinstance(outcome, SeqocrError):
            result.excluded.append(Excluded(str(path), str(outcome).removeprefix(f"{path}: ")))
            continue
        image, width = outcome
        steps, needed = time_steps(width), ctc_steps_needed(text)
        if steps < needed:
            advice = fit_advice(needed, width, preprocess_config.height, time_steps)
            reason = f"label {text!r} needs {needed} time steps, the model gets {steps} from this image; {advice}"
            result.excluded.append(Excluded(str(path), reason))
            continue
        result.kept.append(CheckedSample(path, text, image.size, image.mode, width, steps, thumbnail(image)))
    return result


def fit_advice(needed: int, width: int, height: int, time_steps: TimeSteps) -> str:
    """The input width, or the model height, at which a label of `needed` steps fits."""
    min_width = width
    while time_steps(min_width) < needed and min_width < 100_000:
        min_width += 1
    min_height = -(-height * min_width // max(width, 1))
    return f"it needs at least {min_width} px of width at height {height} (or a model input height of {min_height})"


def thumbnail(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L").resize((16, 16), Image.Resampling.BOX), dtype=np.float32)


def near_duplicates(
    first: Sequence[CheckedSample], second: Sequence[CheckedSample], threshold: float = 6.0
) -> list[tuple[CheckedSample, CheckedSample, float]]:
    """Pairs across two splits whose 16x16 thumbnails differ by under `threshold` grey
    levels on average: the same picture saved twice, re-encoded or slightly resized.
    (A resized JPEG copy of a captcha differs by about 3; two different captchas of
    captcha_images_v2 by 14 or more.)"""
    if not first or not second:
        return []
    a = np.stack([s.thumbnail.ravel() for s in first])
    b = np.stack([s.thumbnail.ravel() for s in second])
    a -= a.mean(axis=1, keepdims=True)  # ignore a global brightness change
    b -= b.mean(axis=1, keepdims=True)
    pairs = []
    for j, row in enumerate(b):
        distances = np.abs(a - row).mean(axis=1)
        i = int(distances.argmin())
        if distances[i] < threshold:
            pairs.append((first[i], second[j], float(distances[i])))
    return pairs


RARE = 0.01  # a character in fewer than 1% of the labels is more likely a typo than a symbol to read


def charset_warnings(labels: list[str]) -> list[str]:
    """What looks wrong in the characters of `labels`: whitespace, and characters so rare
    they are more likely mistakes (a stray `x`, an `é`) than symbols to learn."""
    warnings = []
    spaces = sorted({c for text in labels for c in text if c.isspace()})
    if spaces:
        with_space = sum(any(c.isspace() for c in text) for text in labels)
        warnings.append(f"{with_space} labels hold whitespace ({', '.join(repr(c) for c in spaces)}): is it meant?")
    counts = Counter(c for text in labels for c in set(text))
    rare = sorted(c for c, n in counts.items() if n < RARE * len(labels) and not c.isspace())
    if rare:
        listed = ", ".join(f"{c!r} in {counts[c]}" for c in rare)
        warnings.append(f"rare characters (in fewer than 1% of {len(labels)} labels): {listed}; check those labels")
    return warnings
