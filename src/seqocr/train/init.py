"""Starting a run from a trained model (`--init`), even when the charset changes.

The output layer has one row per class. Rows of characters both charsets share, and
the blank's (and an attention model's EOS and BOS), are copied; rows of new characters
start as a fresh layer would. No hand-editing of state dicts, no size-mismatch crash.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch

from seqocr.charset import Charset
from seqocr.config import ModelConfig, PreprocessConfig, RunConfig, from_dict
from seqocr.errors import SeqocrError
from seqocr.models import RecognitionModel
from seqocr.pretrained import resolve_model
from seqocr.train.checkpoint import load_checkpoint


def read_init(name_or_path: str) -> dict[str, Any]:
    path = resolve_model(name_or_path)
    data = load_checkpoint(path)
    if not all(key in data for key in ("charset", "model", "preprocess", "state_dict")):
        raise SeqocrError(f"{path}: not a seqocr model checkpoint")
    return data


def with_init_geometry(config: RunConfig, init: dict[str, Any]) -> RunConfig:
    """The run's model and preprocessing become the initial model's: its weights fit them."""
    return replace(
        config,
        model=from_dict(ModelConfig, init["model"]),
        preprocess=from_dict(PreprocessConfig, init["preprocess"]),
    )


def load_initial_weights(model: RecognitionModel, init: dict[str, Any], charset: Charset) -> str:
    """Copy `init`'s weights into `model`, mapping class rows by character; says what it kept."""
    old = Charset(init["charset"])
    weights = dict(init["state_dict"])
    own = model.state_dict()
    for name in model.class_indexed:
        fresh = own[name].clone()
        fresh[charset.blank] = weights[name][old.blank]
        for char in charset.chars:
            if char in old.chars:
                fresh[charset.encode(char)[0]] = weights[name][old.encode(char)[0]]
        if fresh.shape[0] > charset.num_classes:  # an attention model's EOS and BOS rows follow the characters
            fresh[charset.num_classes :] = weights[name][old.num_classes :]
        weights[name] = fresh
    mismatched = [k for k in own if k in weights and weights[k].shape != own[k].shape]
    if mismatched or set(own) != set(weights):
        raise SeqocrError(f"initial model does not fit this architecture (differs in {(mismatched or ['keys'])[0]})")
    with torch.no_grad():
        model.load_state_dict(weights)
    shared = sum(c in old.chars for c in charset.chars)
    return f"initialised from {len(old.chars)}-character model: {shared} of {len(charset.chars)} characters kept"
