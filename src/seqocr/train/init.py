"""Starting a run from a trained model (`--init`), even when the charset changes.

The output layer has one row per class. Rows of characters both charsets share, and
the blank's (and an attention model's EOS and BOS), are copied; rows of new characters
start as a fresh layer would. No hand-editing of state dicts, no size-mismatch crash.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from seqocr.charset import Charset
from seqocr.checkpoint import Checkpoint
from seqocr.config import RunConfig
from seqocr.errors import SeqocrError
from seqocr.models import RecognitionModel
from seqocr.pretrained import resolve_model


def read_init(name_or_path: str) -> Checkpoint:
    return Checkpoint.load(resolve_model(name_or_path))


def with_init_geometry(config: RunConfig, init: Checkpoint) -> RunConfig:
    """The run's model and preprocessing become the initial model's: its weights fit them."""
    return replace(config, model=init.model, preprocess=init.preprocess)


def load_initial_weights(model: RecognitionModel, init: Checkpoint, charset: Charset) -> str:
    """Copy `init`'s weights into `model`, mapping class rows by character; says what it kept."""
    old = init.charset
    weights = dict(init.weights)
    own = model.state_dict()
    for name in model.class_indexed:
        fresh = own[name].clone()
        fresh[charset.blank] = weights[name][old.blank]
        for char in charset.chars:
            if char in old.chars:
                fresh[charset.id_of(char)] = weights[name][old.id_of(char)]
        if fresh.shape[0] > charset.num_classes:  # an attention model's rows for its EOS and BOS tokens
            fresh[[charset.eos, charset.bos]] = weights[name][[old.eos, old.bos]]
        weights[name] = fresh
    mismatched = [k for k in own if k in weights and weights[k].shape != own[k].shape]
    if mismatched or set(own) != set(weights):
        raise SeqocrError(f"initial model does not fit this architecture (differs in {(mismatched or ['keys'])[0]})")
    with torch.no_grad():
        model.load_state_dict(weights)
    shared = sum(c in old.chars for c in charset.chars)
    return f"initialised from {len(old.chars)}-character model: {shared} of {len(charset.chars)} characters kept"
