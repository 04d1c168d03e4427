"""The CTC family: per-frame class scores (B, T, C), aligned to the text by CTC.

The network ends at the scores, so the same decoding (decode/ctc.py) reads the
PyTorch model and its ONNX export alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch.nn.functional as F
from torch import Tensor

from seqocr.charset import Charset
from seqocr.config import DecodeConfig
from seqocr.decode.ctc import decode_logits, greedy_decode, scored
from seqocr.decode.decoded import Decoded, Scored
from seqocr.models.registry import RecognitionModel

if TYPE_CHECKING:
    from seqocr.data.datasets import Batch


class CTCModel(RecognitionModel):
    """Subclasses give `forward(images, widths) -> logits (B, T, C)` and `output_lengths`."""

    family = "ctc"

    def loss(self, batch: Batch, charset: Charset) -> Tensor:
        logits = self(batch.images, batch.widths)
        return ctc_loss_of(logits, self.output_lengths(batch.widths), batch, charset)

    def read(
        self,
        images: Tensor,
        widths: Tensor,
        charset: Charset,
        decoding: DecodeConfig | None = None,
        temperature: float = 1.0,
    ) -> list[Decoded]:
        return decode_logits(self(images, widths), self.output_lengths(widths), charset, decoding, temperature)

    def scored(self, images: Tensor, widths: Tensor, charset: Charset) -> Scored:
        return scored(self(images, widths), self.output_lengths(widths), charset)

    def validation_step(self, batch: Batch, charset: Charset) -> tuple[float, list[str]]:
        logits = self(batch.images, batch.widths)  # one forward pass serves the loss and the decoding
        lengths = self.output_lengths(batch.widths)
        loss = ctc_loss_of(logits, lengths, batch, charset)
        return float(loss), [d.text for d in greedy_decode(logits, lengths, charset)]


def ctc_loss_of(logits: Tensor, input_lengths: Tensor, batch: Batch, charset: Charset) -> Tensor:
    """CTC loss of logits (B, T, C) whose real time steps are `input_lengths` (B,).

    Targets are never padded, and the summed loss is divided by the number of characters
    so that every character weighs the same (`reduction="mean"` would give a digit of a
    10-digit string a tenth of the weight of a lone digit). Computed in float32 whatever the
    autocast precision: CTC sums log probabilities over every alignment.
    """
    log_probs = logits.float().log_softmax(-1).transpose(0, 1)  # (T, B, C)
    total = F.ctc_loss(
        log_probs,
        batch.targets,
        input_lengths,
        batch.target_lengths,
        blank=charset.blank,
        reduction="sum",
        zero_infinity=True,
    )
    return total / batch.target_lengths.sum().clamp(min=1)
