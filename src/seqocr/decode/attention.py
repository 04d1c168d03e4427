"""Decoding an attention encoder-decoder: greedy, or a beam search with constraints.

The decoder writes one token at a time until EOS, at most one character per encoder
time step (the most an image of that width can hold). Confidence is P(text, EOS | image),
the product of each chosen token's probability under the model; constraints (allowed
characters, a length range, a regular expression) only ever choose among tokens, so
they never inflate it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor

from seqocr.charset import Charset
from seqocr.config import DecodeConfig
from seqocr.decode.beam import Checker
from seqocr.decode.decoded import Decoded

DecoderState = tuple[Tensor, ...]  # tensors with the batch first


class StepDecoder(Protocol):
    """What the decoding needs of an attention model (models/attention.py)."""

    def start(self, memory: Any) -> DecoderState: ...

    def step(self, tokens: Tensor, state: DecoderState, memory: Any) -> tuple[Tensor, DecoderState, Tensor]: ...


def attention_decode(
    model: StepDecoder, memory: Any, charset: Charset, config: DecodeConfig | None = None, temperature: float = 1.0
) -> list[Decoded]:
    """The attention family's one decoding entry point: greedy unless `config` asks for a beam."""
    config = config or DecodeConfig()
    if not config.uses_beam:
        return greedy_attention(model, memory, charset, temperature)
    checker = Checker(config, charset)
    return [
        beam_search(
            model, memory.select(torch.tensor([i], device=memory.lengths.device)), charset, checker, config, temperature
        )
        for i in range(len(memory.lengths))
    ]


@dataclass
class _Reading:
    ids: list[int]
    log_prob: float
    confidences: list[float]
    frames: list[int]
    attention: list[tuple[float, ...]]

    def extended(self, token: int, log_prob: float, weights: Tensor | None) -> _Reading:
        if weights is None:  # EOS: ends the text, adds its probability
            return _Reading(self.ids, self.log_prob + log_prob, self.confidences, self.frames, self.attention)
        return _Reading(
            self.ids + [token],
            self.log_prob + log_prob,
            self.confidences + [math.exp(log_prob)],
            self.frames + [int(weights.argmax())],
            self.attention + [tuple(weights.tolist())],
        )

    def decoded(self, charset: Charset, steps: int, alternatives: tuple[tuple[str, float], ...] = ()) -> Decoded:
        return Decoded(
            charset.decode(self.ids),
            math.exp(self.log_prob),
            tuple(self.confidences),
            tuple(self.frames),
            alternatives,
            steps=steps,
            attention=tuple(self.attention),
        )


def greedy_attention(model: StepDecoder, memory: Any, charset: Charset, temperature: float = 1.0) -> list[Decoded]:
    """The likeliest token at every step, for the whole batch at once, until every image said EOS."""
    batch = len(memory.lengths)
    limits = memory.lengths.tolist()
    readings = [_Reading([], 0.0, [], [], []) for _ in range(batch)]
    done = [False] * batch
    device = memory.lengths.device
    tokens = torch.full((batch,), charset.bos, dtype=torch.long, device=device)
    state = model.start(memory)
    for t in range(max(limits) + 1):
        logits, state, weights = model.step(tokens, state, memory)
        log_probs = (logits.float() / temperature).log_softmax(-1)
        choice = _choosable(log_probs, charset)
        full = torch.tensor([t >= limit for limit in limits], device=device)  # no room for another character
        choice[full, : charset.eos] = float("-inf")
        tokens = choice.argmax(-1)
        for i, token in enumerate(tokens.tolist()):
            if done[i]:
                continue
            is_end = token == charset.eos
            step_weights = None if is_end else weights[i, : limits[i]]
            readings[i] = readings[i].extended(token, float(log_probs[i, token]), step_weights)
            done[i] = is_end
        if all(done):
            break
    return [r.decoded(charset, limit) for r, limit in zip(readings, limits, strict=True)]


def beam_search(
    model: StepDecoder, memory: Any, charset: Charset, checker: Checker, config: DecodeConfig, temperature: float
) -> Decoded:
    """One image: keep the `beam_width` likeliest prefixes the constraints allow; a prefix
    ends with EOS only where the constraints accept it as a whole answer."""
    limit = int(memory.lengths[0])
    device = memory.lengths.device
    width = config.beam_width
    alive = [_Reading([], 0.0, [], [], [])]
    finished: list[_Reading] = []
    state = model.start(memory)
    for t in range(limit + 1):
        rows = torch.zeros(len(alive), dtype=torch.long, device=device)
        tokens = torch.tensor([r.ids[-1] if r.ids else charset.bos for r in alive], dtype=torch.long, device=device)
        logits, state, weights = model.step(tokens, state, memory.select(rows))
        log_probs = (logits.float() / temperature).log_softmax(-1)
        candidates: list[tuple[float, int, int]] = []  # (score, hypothesis, token)
        for j, reading in enumerate(alive):
            text = charset.decode(reading.ids)
            if checker.complete(text):
                finished.append(reading.extended(charset.eos, float(log_probs[j, charset.eos]), None))
            if t == limit:
                continue
            ranked = sorted(checker.allowed_ids, key=lambda c: float(log_probs[j, c]), reverse=True)
            for c in ranked[:width]:
                if checker.viable(text + charset.char_of(c)):
                    candidates.append((reading.log_prob + float(log_probs[j, c]), j, c))
        candidates.sort(reverse=True)
        candidates = candidates[:width]
        finished.sort(key=lambda r: r.log_prob, reverse=True)
        finished = finished[: config.n_best]
        # log probabilities only fall as a prefix grows: stop once no prefix can overtake
        if not candidates or (len(finished) >= config.n_best and candidates[0][0] < finished[-1].log_prob):
            break
        keep = torch.tensor([j for _, j, _ in candidates], dtype=torch.long, device=device)
        state = tuple(s[keep] for s in state)
        alive = [alive[j].extended(c, float(log_probs[j, c]), weights[j, :limit]) for _, j, c in candidates]
    if not finished:
        return Decoded("", 0.0, (), (), steps=limit)
    alternatives = tuple((charset.decode(r.ids), math.exp(r.log_prob)) for r in finished)
    return finished[0].decoded(charset, limit, alternatives)


def _choosable(log_probs: Tensor, charset: Charset) -> Tensor:
    """Scores to choose by: padding and BOS are never outputs."""
    choice = log_probs.clone()
    choice[:, charset.pad] = float("-inf")
    choice[:, charset.bos] = float("-inf")
    return choice
