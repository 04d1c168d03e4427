"""Greedy CTC decoding with confidences: the one decoding path for every caller."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from seqocr.charset import Charset


@dataclass(frozen=True)
class Decoded:
    """One read string.

    `confidence` is the probability of the best CTC path (every frame's top class), so it
    is 1 only when every frame is certain; `char_confidences[i]` is the highest
    probability among the frames that emitted character i, at frames `char_frames[i]`.
    """

    text: str
    confidence: float
    char_confidences: tuple[float, ...]
    char_frames: tuple[int, ...]


def greedy_decode(logits: Tensor, lengths: Tensor, charset: Charset) -> list[Decoded]:
    """logits (B, T, C), lengths (B,) real time steps -> one Decoded per image."""
    log_probs = logits.float().log_softmax(-1)
    best_log_prob, best = log_probs.max(-1)  # (B, T), (B, T)
    results = []
    for row, score, length in zip(best.tolist(), best_log_prob, lengths.tolist(), strict=True):
        ids, confs, frames = [], [], []
        previous = charset.blank
        probs = score[:length].exp().tolist()
        for t in range(length):
            token = row[t]
            if token != charset.blank and token != previous:
                ids.append(token)
                confs.append(probs[t])
                frames.append(t)
            elif token != charset.blank and probs[t] > confs[-1]:
                confs[-1] = probs[t]
            previous = token
        confidence = float(torch.exp(score[:length].sum())) if length > 0 else 0.0
        results.append(Decoded(charset.decode(ids), confidence, tuple(confs), tuple(frames)))
    return results
