"""The classifier family: one character per image (a handwritten digit), a class per image.

Two architectures, so their difference is measured rather than asserted: "mlp", the
notebooks' baseline (flattened pixels through dense layers), and "cnn" (three conv
layers and a dense layer). Both need square inputs (`PreprocessConfig.square`): the
ink cropped, fitted into a `height` x `height` square and centred, like MNIST.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqocr.charset import Charset
from seqocr.config import DecodeConfig, ModelConfig, PreprocessConfig
from seqocr.decode.beam import Checker
from seqocr.decode.decoded import Decoded, Scored
from seqocr.errors import SeqocrError
from seqocr.models.crnn import conv_block
from seqocr.models.registry import RecognitionModel, register

if TYPE_CHECKING:
    from seqocr.data.datasets import Batch


class Classifier(RecognitionModel):
    """Subclasses give `forward(images) -> logits (B, classes)`; class 0 (the blank) is never an answer."""

    family = "classifier"

    def output_lengths(self, widths: Tensor) -> Tensor:
        return torch.ones_like(widths)

    def loss(self, batch: Batch, charset: Charset) -> Tensor:
        return self._loss_of(self(batch.images), batch)

    def validation_step(self, batch: Batch, charset: Charset) -> tuple[float, list[str]]:
        logits = self(batch.images)  # one forward pass serves the loss and the answers
        return float(self._loss_of(logits, batch)), _answers(logits, charset)[0]

    @staticmethod
    def _loss_of(logits: Tensor, batch: Batch) -> Tensor:
        if bool((batch.target_lengths != 1).any()):
            text = next(t for t in batch.texts if len(t) != 1)
            raise SeqocrError(f"a classifier reads one character per image; got the label {text!r}")
        return F.cross_entropy(logits.float(), batch.targets)

    def read(
        self,
        images: Tensor,
        widths: Tensor,
        charset: Charset,
        decoding: DecodeConfig | None = None,
        temperature: float = 1.0,
    ) -> list[Decoded]:
        config = decoding or DecodeConfig()
        if config.min_length or config.max_length is not None or config.pattern:
            raise SeqocrError(
                "a classifier reads one character per image: length and pattern constraints do not apply "
                "(--allowed does)"
            )
        allowed = Checker(config, charset).allowed_ids
        probs = (self(images).detach().float() / temperature).softmax(-1)
        ranked = probs[:, allowed].argsort(dim=1, descending=True)
        results = []
        for row, order in zip(probs, ranked, strict=True):
            best = [(allowed[k], float(row[allowed[k]])) for k in order[: max(config.n_best, 1)].tolist()]
            token, p = best[0]
            alternatives = tuple((charset.decode([c]), q) for c, q in best) if config.n_best > 1 else ()
            results.append(Decoded(charset.decode([token]), p, (p,), (0,), alternatives, steps=1))
        return results

    def scored(self, images: Tensor, widths: Tensor, charset: Charset) -> Scored:
        logits = self(images).detach().float()
        texts, answers = _answers(logits, charset)

        def confidence_at(temperature: float) -> list[float]:
            return (logits / temperature).softmax(-1).gather(1, answers[:, None]).squeeze(1).tolist()

        return Scored(texts, confidence_at)


def _answers(logits: Tensor, charset: Charset) -> tuple[list[str], Tensor]:
    """The likeliest class of each row of logits (B, classes), never the blank: as text and as ids."""
    choice = logits.detach().float().clone()
    choice[:, charset.blank] = float("-inf")
    answers = choice.argmax(-1)
    return [charset.decode([int(a)]) for a in answers], answers


class MLP(Classifier):
    """The baseline: pixels -> two dense layers -> classes."""

    def __init__(self, config: ModelConfig, preprocess: PreprocessConfig, num_classes: int):
        super().__init__()
        size = preprocess.channels * preprocess.height * preprocess.height
        self.body = nn.Sequential(
            nn.Flatten(),
            nn.Linear(size, config.hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, config.hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(config.dropout),
        )
        self.head = nn.Linear(config.hidden, num_classes)

    def forward(self, images: Tensor, widths: Tensor | None = None) -> Tensor:
        return self.head(self.body(images))


class CNN(Classifier):
    """Three 3x3 convolutions, each followed by 2x2 pooling, then a dense layer."""

    def __init__(self, config: ModelConfig, preprocess: PreprocessConfig, num_classes: int):
        super().__init__()
        self.features = nn.Sequential(
            conv_block(preprocess.channels, 32),
            nn.MaxPool2d(2),
            conv_block(32, 64),
            nn.MaxPool2d(2),
            conv_block(64, 128),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        with torch.no_grad():
            features = self.features(torch.zeros(1, preprocess.channels, preprocess.height, preprocess.height))
        self.dense = nn.Sequential(
            nn.Dropout(config.dropout),
            nn.Linear(features.shape[1], config.hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(config.dropout),
        )
        self.head = nn.Linear(config.hidden, num_classes)

    def forward(self, images: Tensor, widths: Tensor | None = None) -> Tensor:
        return self.head(self.dense(self.features(images.contiguous(memory_format=torch.channels_last))))


def _square_only(preprocess: PreprocessConfig, arch: str) -> None:
    if not preprocess.square:
        raise SeqocrError(
            f"architecture {arch!r} reads one character from a square image; train it with --preset digit"
        )


@register("mlp")
def mlp(config: ModelConfig, preprocess: PreprocessConfig, num_classes: int) -> RecognitionModel:
    _square_only(preprocess, "mlp")
    return MLP(config, preprocess, num_classes)


@register("cnn")
def cnn(config: ModelConfig, preprocess: PreprocessConfig, num_classes: int) -> RecognitionModel:
    _square_only(preprocess, "cnn")
    return CNN(config, preprocess, num_classes)
