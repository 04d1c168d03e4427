"""CTC decoding with confidences, for CTC models and their ONNX exports alike: greedy, or a
prefix beam search (decode/beam.py) when a beam, n-best answers or constraints are asked
for. Attention models decode step by step (decode/attention.py); classifiers pick one
class (models/classifier.py)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from seqocr.charset import Charset
from seqocr.config import DecodeConfig
from seqocr.decode.align import align
from seqocr.decode.beam import Checker, prefix_beam_search
from seqocr.decode.decoded import Decoded, Scored


def greedy_decode(logits: Tensor, lengths: Tensor, charset: Charset) -> list[Decoded]:
    """logits (B, T, C), lengths (B,) real time steps -> one Decoded per image."""
    logits, lengths = on_cpu(logits, lengths)
    log_probs = logits.float().log_softmax(-1)
    best_log_prob, best = log_probs.max(-1)  # (B, T), (B, T)
    readings = []
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
        readings.append((ids, confs, frames, length))
    confidences = text_probabilities(log_probs, lengths, [ids for ids, *_ in readings], charset.blank)
    return [
        Decoded(charset.decode(ids), confidence, tuple(confs), tuple(frames), steps=length)
        for (ids, confs, frames, length), confidence in zip(readings, confidences, strict=True)
    ]


def text_probabilities(log_probs: Tensor, lengths: Tensor, texts: list[list[int]], blank: int) -> list[float]:
    """P(text | image) summed over every CTC alignment, for each image's text (as ids).

    This, not the best path's probability, is the answer's confidence: a certain text
    read over frames that hesitate between "blank" and its character has many
    alignments, each unlikely, and would otherwise look unsure."""
    if log_probs.shape[0] == 0:
        return []
    targets = torch.tensor([i for ids in texts for i in ids], dtype=torch.long)
    target_lengths = torch.tensor([len(ids) for ids in texts], dtype=torch.long)
    nll = F.ctc_loss(
        log_probs.transpose(0, 1), targets, lengths, target_lengths, blank=blank, reduction="none", zero_infinity=False
    )
    return torch.exp(-nll).clamp(0.0, 1.0).tolist()


def decode(logits: Tensor, lengths: Tensor, charset: Charset, config: DecodeConfig | None = None) -> list[Decoded]:
    """Greedy, or a (constrained) prefix beam search per `config`."""
    logits, lengths = on_cpu(logits, lengths)
    config = config or DecodeConfig()
    if not config.uses_beam:
        return greedy_decode(logits, lengths, charset)
    checker = Checker(config, charset)  # validates the constraints once per call
    log_probs = logits.float().log_softmax(-1)
    results = []
    for i, length in enumerate(lengths.tolist()):
        hypotheses = prefix_beam_search(log_probs[i, :length], charset, checker, config.beam_width, config.n_best)
        if not hypotheses:
            results.append(Decoded("", 0.0, (), (), steps=length))
            continue
        best = hypotheses[0]
        frames = align(log_probs[i, :length], best.text, charset)
        ids = charset.encode(best.text)
        confs = tuple(float(log_probs[i, f, c].exp().max()) for f, c in zip(frames, ids, strict=True))
        alternatives = tuple((h.text, h.confidence) for h in hypotheses)
        first_frames = tuple(f[0] for f in frames)
        results.append(Decoded(best.text, best.confidence, confs, first_frames, alternatives, steps=length))
    return results


def decode_logits(
    logits: Tensor, lengths: Tensor, charset: Charset, config: DecodeConfig | None = None, temperature: float = 1.0
) -> list[Decoded]:
    """`decode` of logits scaled by the fitted temperature (which changes confidences, never the text)."""
    return decode(logits / temperature if temperature != 1.0 else logits, lengths, charset, config)


def scored(logits: Tensor, lengths: Tensor, charset: Charset) -> Scored:
    """Greedy answers of a batch, and P(answer | image) at any temperature."""
    logits, lengths = on_cpu(logits, lengths)
    answers = [d.text for d in greedy_decode(logits, lengths, charset)]
    ids = [charset.encode(a) for a in answers]

    def confidence_at(temperature: float) -> list[float]:
        return text_probabilities((logits.float() / temperature).log_softmax(-1), lengths, ids, charset.blank)

    return Scored(answers, confidence_at)


def on_cpu(logits: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
    """Float32 logits and lengths on the CPU: decoding walks them in Python whatever device
    the network ran on (the copy is a few kilobytes a batch)."""
    return logits.detach().float().cpu(), lengths.cpu()
