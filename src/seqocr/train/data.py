"""What a run trains and validates on: synthetic digit strings, single MNIST digits or a labelled folder.

All kinds give the loop the same things: a charset, a fresh source each epoch, and a
fixed validation source (or none). A folder is checked first (data/checks.py): every
sample left out is listed in the run folder's `excluded.tsv` with its reason.
"""

from __future__ import annotations

import functools
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import replace

import torch

from seqocr.charset import DIGITS, Charset
from seqocr.config import RunConfig, SynthConfig
from seqocr.data.checks import Excluded, TimeSteps, check_samples
from seqocr.data.datasets import (
    AugmentedSource,
    ConcatSource,
    DigitSource,
    FolderSource,
    Source,
    Synthesizer,
    SynthSource,
)
from seqocr.data.folder import SMALL_SET, FolderSplit
from seqocr.data.handwriting import MARKS
from seqocr.data.mnist import load_split
from seqocr.data.synth import DigitStringSynth
from seqocr.data.text_synth import TextSynth, TextSynthConfig
from seqocr.errors import SeqocrError
from seqocr.models import RecognitionModel
from seqocr.train.initial_weights import known_as

VALIDATION_SEED_OFFSET = 1_000_003  # validation strings never share a seed with training


def time_steps_of(model: RecognitionModel) -> TimeSteps:
    """A model's width -> time steps arithmetic, cached: a folder has few distinct widths."""

    @functools.cache
    def steps(width: int) -> int:
        return int(model.output_lengths(torch.tensor([width]))[0])

    return steps


def resolve_charset(config: RunConfig, split: FolderSplit | None) -> Charset:
    """The configured charset, or the characters of all labels when it is ""."""
    if config.charset:
        return Charset(config.charset)
    if split is None:
        raise SeqocrError("an empty charset can only be inferred from a labelled folder (--data)")
    return Charset.from_labels([text for _, text in split.train + split.val])


CHARACTER_CLASSES = (string.digits, string.ascii_lowercase, string.ascii_uppercase)
MOSTLY_USED = 0.75  # a class the labels use this much of is taken to be used whole


def likely_unseen(labels: list[str], start: Charset) -> str:
    """Characters the labels lack but the images probably hold, for a run that starts
    from a model knowing them: the members of a class (digits, small letters, capitals)
    the labels use three quarters of or more, when some character is in the labels only
    once. By Good-Turing's estimate the chance that the next character is one never
    seen is about the share of characters seen once; with 25 captchas of [0-9a-z], two of the 36 were missing and 22% of
    the test strings held one, which a charset inferred from the labels alone could
    never read (docs/results.md, Few labels)."""
    counts = Counter(c for text in labels for c in text)
    if 1 not in counts.values():
        return ""
    unseen = []
    for members in CHARACTER_CLASSES:
        if sum(c in counts for c in members) >= MOSTLY_USED * len(members):
            unseen += [c for c in members if c not in counts and known_as(c, start) is not None]
    return "".join(unseen)


def labelled_marks(config: RunConfig, charset: Charset) -> SynthConfig:
    """The run's synthesis, labelling the marks it draws that the charset holds (dates: "/")."""
    return replace(config.synth, marks="".join(c for c in charset.chars if c in MARKS))


def synthetic_per_epoch(config: RunConfig, images: int) -> int:
    """How many synthetic strings join the `images` of a folder each epoch: `synthetic`
    per image, by default one for a set under 1,000 (it is learnt by heart otherwise)."""
    ratio = config.data.synthetic
    if ratio is None:
        ratio = 1.0 if images < SMALL_SET else 0.0
    return round(max(ratio, 0.0) * images)


def folder_companion(config: RunConfig, charset: Charset, labels: list[str]) -> Synthesizer | None:
    """The synthesis that joins a folder's images: text in captcha styles when its labels
    hold letters (in the folder's letters and digits, as long as its labels), digit
    strings when its charset holds the ten digits, else none."""
    if any(c.isalpha() for c in charset.chars):
        drawn = "".join(c for c in charset.chars if c.isalnum())
        cased = any(c.lower() != c and c.lower() in charset.chars for c in charset.chars)
        lengths = [len(text) for text in labels] or [config.synth.min_len, config.synth.max_len]
        return TextSynth(
            TextSynthConfig(
                seed=config.synth.seed,
                charset=drawn,
                min_len=max(1, min(lengths)),
                max_len=max(1, max(lengths)),
                mixed_case=not cased,
            )
        )
    if set(DIGITS.chars) <= set(charset.chars):
        return DigitStringSynth(labelled_marks(config, charset))
    return None


class TrainingData:
    """The sources a run draws from, built once the model (and so its geometry) exists."""

    def __init__(self, config: RunConfig, charset: Charset, model: RecognitionModel, split: FolderSplit | None):
        self.config, self.charset = config, charset
        self.excluded: list[Excluded] = []
        # the one length every folder label has, when they share one: the model reads it by default
        self.label_length: int | None = None
        self.synthetic = 0  # synthetic strings joining a folder's images each epoch
        self._draw: Callable[[int], Source]  # epoch -> that epoch's training samples
        if split is None and config.data.source == "digits":
            train_digits = load_split("train")
            self.validation: Source | None = DigitSource(load_split("val"), config.train.seed)
            self.samples_per_epoch = len(train_digits)
            self._draw = lambda epoch: DigitSource(train_digits, config.train.seed, epoch, config.data.augment)
            return
        if split is None and config.data.source == "text":
            text = TextSynthConfig(seed=config.synth.seed, charset=charset.chars, min_len=config.synth.min_len,
                                   max_len=config.synth.max_len)  # fmt: skip
            val_text = replace(text, seed=config.synth.seed + VALIDATION_SEED_OFFSET)
            self.validation = SynthSource(TextSynth(val_text), config.train.val_samples)
            n = self.samples_per_epoch = config.train.samples_per_epoch
            self._draw = lambda epoch: SynthSource(TextSynth(text), n, start=(epoch - 1) * n)
            return
        if split is None:
            if config.data.source != "strings":
                raise SeqocrError(f"unknown data source {config.data.source!r}; choose strings, digits or text")
            synth_config = labelled_marks(config, charset)
            synth = DigitStringSynth(synth_config)
            val_synth = DigitStringSynth(
                replace(synth_config, split="val", seed=config.synth.seed + VALIDATION_SEED_OFFSET, augment=False),
                digits=load_split("val"),
            )
            self.validation = SynthSource(val_synth, config.train.val_samples)
            n = self.samples_per_epoch = config.train.samples_per_epoch
            self._draw = lambda epoch: SynthSource(synth, n, start=(epoch - 1) * n)
            return

        steps = time_steps_of(model)
        train = check_samples(split.train, config.preprocess, steps, charset)
        val = check_samples(split.val, config.preprocess, steps, charset)
        self.excluded = split.excluded + train.excluded + val.excluded
        if not train.kept:
            raise SeqocrError(f"{config.data.path}: no usable training images ({len(self.excluded)} excluded)")
        self.validation = FolderSource(val.samples) if val.kept else None
        lengths = {len(text) for _, text in train.samples + val.samples}
        if len(lengths) == 1 and model.family != "classifier":  # a classifier reads one character anyway
            self.label_length = lengths.pop()
        images = FolderSource(train.samples)
        folder_draw = (
            (lambda epoch: AugmentedSource(images, seed=config.train.seed, epoch=epoch))
            if config.data.augment
            else (lambda epoch: images)
        )
        companion = folder_companion(config, charset, [text for _, text in train.samples])
        n = self.synthetic = synthetic_per_epoch(config, len(images)) if companion else 0
        self.samples_per_epoch = len(images) + n
        if companion is None or n == 0:
            self._draw = folder_draw
            return
        self._draw = lambda epoch: ConcatSource(folder_draw(epoch), SynthSource(companion, n, start=(epoch - 1) * n))

    def epoch_source(self, epoch: int) -> Source:
        """Fresh strings or digits each epoch, or the folder's images changed anew (augmented)."""
        return self._draw(epoch)
