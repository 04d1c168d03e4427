"""Starting a run from a trained model (`--init`), even when the charset changes.

The output layer has one row per class. Rows of characters both charsets share (a
letter in either case), and the blank's (and an attention model's EOS and BOS), are
copied; rows of new characters start as a fresh layer would. No hand-editing of state
dicts, no size-mismatch crash.
With `init_backbone` (`--init M --sequence lstm`, a new sequence model), only the
backbone's weights are copied: what it learnt to see is kept, what it learnt to read
starts again.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from seqocr.charset import Charset
from seqocr.checkpoint import Checkpoint
from seqocr.config import RunConfig
from seqocr.errors import SeqocrError
from seqocr.models import RecognitionModel
from seqocr.pretrained import bundled_models, resolve_model

BACKBONE = "backbone."  # the state-dict prefix of a CRNN's or attention model's backbone


AUTO = "auto"  # the folder recipe's start: the bundled reader that best covers the folder's charset
BASE_MODELS = ("digits", "alnum")  # trained on synthesis of many styles, not on one task's images


def choose_start(charset: Charset) -> tuple[str, str]:
    """The bundled reader that knows the most characters of `charset` (a letter in either
    case, see `known_as`), a general base model (`digits`, `alnum`) before a one-task model
    on a tie and then the one with the fewest characters the labels lack, and why, in
    words. Starting from one beats scratch on every small set measured: CTC leaves its
    all-blank plateau at once, and strokes and alignment are known (docs/results.md,
    Fine-tuning on small sets)."""
    ranked = {}
    for name in bundled_models():
        checkpoint = Checkpoint.load(resolve_model(name))
        if checkpoint.model.arch in ("crnn", "attention"):  # readers of strings, not classifiers or locators
            known = sum(known_as(c, checkpoint.charset) is not None for c in charset.chars)
            extra = len(set(checkpoint.charset.chars) - set(charset.chars))
            ranked[name] = (known, name in BASE_MODELS, -extra)
    best = max(ranked, key=lambda name: ranked[name])
    return best, (
        f"starting from the bundled {best!r} model: it reads {ranked[best][0]} of the {len(charset.chars)} "
        "characters of these labels (--init none trains from scratch, --init MODEL starts from another)"
    )


def known_as(char: str, charset: Charset) -> str | None:
    """The character of `charset` whose output row `char` starts from: itself, or the same
    letter in the other case (a model of lower-case letters reads capitals as them)."""
    for candidate in (char, char.lower(), char.upper()):
        if len(candidate) == 1 and candidate in charset.chars:
            return candidate
    return None


def read_init(name_or_path: str) -> Checkpoint:
    return Checkpoint.load(resolve_model(name_or_path))


def with_init_geometry(config: RunConfig, init: Checkpoint) -> RunConfig:
    """The run's model and preprocessing become the initial model's: its weights fit them.
    With `init_backbone`, the run keeps its own sequence model over the initial backbone."""
    model = init.model
    if config.train.init_backbone:
        asked = config.model
        model = replace(model, sequence=asked.sequence, hidden=asked.hidden, layers=asked.layers, dropout=asked.dropout)
    return replace(config, model=model, preprocess=init.preprocess)


def load_initial_weights(model: RecognitionModel, init: Checkpoint, charset: Charset, backbone: bool = False) -> str:
    """Copy `init`'s weights into `model`, mapping class rows by character (or, with
    `backbone`, its backbone's weights alone); says what it kept."""
    if backbone:
        return _load_backbone(model, init)
    old = init.charset
    weights = dict(init.weights)
    own = model.state_dict()
    for name in model.class_indexed:
        fresh = own[name].clone()
        fresh[charset.blank] = weights[name][old.blank]
        for char in charset.chars:
            if (source := known_as(char, old)) is not None:
                fresh[charset.id_of(char)] = weights[name][old.id_of(source)]
        if fresh.shape[0] > charset.num_classes:  # an attention model's rows for its EOS and BOS tokens
            fresh[[charset.eos, charset.bos]] = weights[name][[old.eos, old.bos]]
        weights[name] = fresh
    mismatched = [k for k in own if k in weights and weights[k].shape != own[k].shape]
    if mismatched or set(own) != set(weights):
        raise SeqocrError(f"initial model does not fit this architecture (differs in {(mismatched or ['keys'])[0]})")
    with torch.no_grad():
        model.load_state_dict(weights)
    shared = sum(known_as(c, old) is not None for c in charset.chars)
    return f"initialised from {len(old.chars)}-character model: {shared} of {len(charset.chars)} characters kept"


def _load_backbone(model: RecognitionModel, init: Checkpoint) -> str:
    own = model.state_dict()
    kept = {k: v for k, v in init.weights.items() if k.startswith(BACKBONE)}
    mismatched = [k for k, v in kept.items() if k not in own or own[k].shape != v.shape]
    if not kept or mismatched:
        raise SeqocrError(
            f"initial model's backbone does not fit this architecture (differs in {(mismatched or ['keys'])[0]})"
        )
    with torch.no_grad():
        model.load_state_dict({**own, **kept})
    fresh = sum(v.numel() for k, v in own.items() if k not in kept)
    return (
        f"initialised the backbone from the initial model ({len(kept)} tensors); "
        f"{fresh:,} weights of the sequence model and head start fresh"
    )
