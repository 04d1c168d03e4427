"""The attention family: an encoder-decoder that writes the text one token at a time.

Encoder: the CRNN's convolutional backbone and a bidirectional LSTM over width.
Decoder: an LSTM cell with Luong attention ("general": score = h W a, or "dot":
score = h a) over the encoder states and input feeding (the previous attentional
vector is fed back in), trained with teacher forcing. Token ids come from the Charset:
BOS starts a text, EOS ends it, and padding (`pad`) is never a target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqocr.charset import Charset
from seqocr.config import DecodeConfig, ModelConfig, PreprocessConfig
from seqocr.decode.attention import DecoderState, attention_decode, greedy_attention
from seqocr.decode.decoded import Decoded, Scored
from seqocr.errors import SeqocrError
from seqocr.models.crnn import Backbone, LSTMSequence, mask_beyond
from seqocr.models.registry import RecognitionModel, register

if TYPE_CHECKING:
    from seqocr.data.datasets import Batch

SCORES = ("general", "dot")


@dataclass(frozen=True)
class Memory:
    """What the decoder attends to: encoder states of a batch and where they are real."""

    states: Tensor  # (B, T, F)
    keys: Tensor  # (B, T, F): the states as the attention score sees them
    mask: Tensor  # (B, T) True on real time steps
    lengths: Tensor  # (B,) real time steps: also the most characters an image can hold

    def select(self, rows: Tensor) -> Memory:
        return Memory(self.states[rows], self.keys[rows], self.mask[rows], self.lengths[rows])


class AttentionModel(RecognitionModel):
    family = "attention"
    class_indexed = ("head.weight", "head.bias", "embedding.weight")

    def __init__(self, config: ModelConfig, preprocess: PreprocessConfig, num_classes: int):
        super().__init__()
        if config.attention not in SCORES:
            raise SeqocrError(f"unknown attention score {config.attention!r}; choose one of: {', '.join(SCORES)}")
        self.tokens = Charset.special_tokens(num_classes)
        self.backbone = Backbone(preprocess.channels, config.stem, config.stages)
        with torch.no_grad():
            probe = self.backbone(torch.zeros(1, preprocess.channels, preprocess.height, 64))
        self.encoder = LSTMSequence(probe.shape[1] * probe.shape[2], config.hidden, config.layers, config.dropout)
        size = self.encoder.out_features
        vocabulary = self.tokens.vocabulary
        self.embedding = nn.Embedding(vocabulary, size, padding_idx=self.tokens.pad)
        self.cell = nn.LSTMCell(2 * size, size)  # input: previous token and previous attentional vector
        self.key = nn.Linear(size, size, bias=False) if config.attention == "general" else nn.Identity()
        self.combine = nn.Linear(2 * size, size)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(size, vocabulary)

    def encode(self, images: Tensor, widths: Tensor) -> Memory:
        images = images.contiguous(memory_format=torch.channels_last)
        f = self.backbone(images, widths)  # (B, C', H', T)
        b, c, h, t = f.shape
        lengths = self.output_lengths(widths)
        states = self.encoder(f.permute(0, 3, 1, 2).reshape(b, t, c * h), lengths)  # (B, T, F)
        return Memory(states, self.key(states), mask_beyond(lengths, t).bool(), lengths)

    def start(self, memory: Memory) -> DecoderState:
        zeros = memory.states.new_zeros(memory.states.shape[0], memory.states.shape[2])
        return zeros, zeros, zeros  # LSTM h, LSTM c, attentional vector

    def step(self, tokens: Tensor, state: DecoderState, memory: Memory) -> tuple[Tensor, DecoderState, Tensor]:
        """Previous tokens (B,) -> logits of the next (B, V), the new state and the attention (B, T)."""
        h, c, feed = state
        h, c = self.cell(torch.cat([self.embedding(tokens), feed], dim=1), (h, c))
        scores = torch.bmm(memory.keys, h.unsqueeze(2)).squeeze(2)  # (B, T)
        weights = scores.masked_fill(~memory.mask, float("-inf")).softmax(dim=1)
        context = torch.bmm(weights.unsqueeze(1), memory.states).squeeze(1)  # (B, F)
        feed = torch.tanh(self.combine(torch.cat([context, h], dim=1)))
        return self.head(self.dropout(feed)), (h, c, feed), weights

    def forward(self, images: Tensor, widths: Tensor, inputs: Tensor) -> Tensor:
        """Teacher forcing: images, widths and input tokens (B, L) starting with BOS -> logits (B, L, V)."""
        memory = self.encode(images, widths)
        state = self.start(memory)
        steps = []
        for t in range(inputs.shape[1]):
            logits, state, _ = self.step(inputs[:, t], state, memory)
            steps.append(logits)
        return torch.stack(steps, dim=1)

    def output_lengths(self, widths: Tensor) -> Tensor:
        return self.backbone.output_lengths(widths)

    def loss(self, batch: Batch, charset: Charset) -> Tensor:
        inputs, targets = teacher_forcing(batch.targets, batch.target_lengths, charset)
        logits = self(batch.images, batch.widths, inputs)
        return sequence_loss(logits, targets, batch.target_lengths + 1, charset.pad)

    def read(
        self,
        images: Tensor,
        widths: Tensor,
        charset: Charset,
        decoding: DecodeConfig | None = None,
        temperature: float = 1.0,
    ) -> list[Decoded]:
        return attention_decode(self, self.encode(images, widths), charset, decoding, temperature)

    def scored(self, images: Tensor, widths: Tensor, charset: Charset) -> Scored:
        answers = [d.text for d in greedy_attention(self, self.encode(images, widths), charset)]
        ids = [charset.encode(a) for a in answers]
        flat = torch.tensor([i for row in ids for i in row], dtype=torch.long, device=images.device)
        lengths = torch.tensor([len(row) for row in ids], dtype=torch.long, device=images.device)
        inputs, targets = teacher_forcing(flat, lengths, charset)
        logits = self(images, widths, inputs).float()
        real = torch.arange(targets.shape[1], device=images.device)[None, :] <= lengths[:, None]  # text and EOS

        def confidence_at(temperature: float) -> list[float]:
            log_probs = (logits / temperature).log_softmax(-1).gather(2, targets.unsqueeze(2)).squeeze(2)
            return (log_probs * real).sum(1).exp().tolist()

        return Scored(answers, confidence_at)


def teacher_forcing(targets: Tensor, lengths: Tensor, charset: Charset) -> tuple[Tensor, Tensor]:
    """Flat label ids and lengths (B,) -> decoder inputs [BOS, y1..yn] and targets
    [y1..yn, EOS], both (B, max n + 1) and padded with `charset.pad`."""
    size = int(lengths.max()) + 1 if len(lengths) else 1
    inputs = torch.full((len(lengths), size), charset.pad, dtype=torch.long, device=targets.device)
    outputs = torch.full((len(lengths), size), charset.pad, dtype=torch.long, device=targets.device)
    inputs[:, 0] = charset.bos
    start = 0
    for i, n in enumerate(lengths.tolist()):
        inputs[i, 1 : n + 1] = targets[start : start + n]
        outputs[i, :n] = targets[start : start + n]
        outputs[i, n] = charset.eos
        start += n
    return inputs, outputs


def sequence_loss(logits: Tensor, targets: Tensor, lengths: Tensor, pad: int) -> Tensor:
    """Cross-entropy per target token (characters and EOS) of logits (B, L, V). Positions
    at or past each row's length are ignored whatever they hold: they become `pad`, the
    loss's ignore_index."""
    real = torch.arange(targets.shape[1], device=targets.device)[None, :] < lengths[:, None]
    targets = targets.masked_fill(~real, pad)
    total = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), ignore_index=pad, reduction="sum")
    return total / real.sum().clamp(min=1)


@register("attention")
def attention(config: ModelConfig, preprocess: PreprocessConfig, num_classes: int) -> RecognitionModel:
    """Encoder-decoder with Luong attention; `config.hidden` sizes the encoder LSTM (each direction)."""
    return AttentionModel(config, preprocess, num_classes)
