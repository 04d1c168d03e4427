"""The inference API: a loaded model that reads images. One path for CLI, eval, service and Python.

A `Recognizer` holds a network (a PyTorch model, or an exported graph run by ONNX
Runtime), its charset, preprocessing and calibrated temperature. Callers ask it for
what they need (`family`, `parameter_count`, `checkpoint`, `uncalibrated`) and never
which backend it holds.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, overload

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from seqocr.charset import Charset
from seqocr.checkpoint import Checkpoint
from seqocr.config import DecodeConfig, ModelConfig, PreprocessConfig
from seqocr.data.images import ImageInput, as_pil
from seqocr.data.transform import pad_batch, preprocess, preprocess_with_box, width_batches
from seqocr.decode import Decoded, decode_logits
from seqocr.device import autocast, resolve_device, resolve_precision
from seqocr.errors import SeqocrError, attempt_each
from seqocr.models import RecognitionModel, channels_last
from seqocr.pretrained import resolve_model
from seqocr.schemas import Alternative, Answer, CharAnswer

BACKENDS = ("torch", "onnx")
Box = tuple[float, float, float, float]  # (left, top, right, bottom) in input pixels


@dataclass(frozen=True)
class Prediction:
    text: str
    confidence: float  # in [0, 1]
    char_confidences: tuple[float, ...]
    alternatives: tuple[tuple[str, float], ...] = ()  # with --n-best: (text, confidence), best first
    char_x: tuple[float, ...] = ()  # where each character was read: x in the input image's pixels
    attention: tuple[tuple[float, ...], ...] = ()  # attention models: each character's weights over time

    def answer(self, reject_below: float | None = None) -> Answer:
        """The answer format (seqocr/schemas.py) the CLI's JSON and the service share."""
        xs: Sequence[float | None] = self.char_x or [None] * len(self.text)
        return Answer(
            text=self.text,
            confidence=round(self.confidence, 6),
            chars=[
                CharAnswer(char=c, confidence=round(p, 6), x=x)
                for c, p, x in zip(self.text, self.char_confidences, xs, strict=True)
            ],
            alternatives=[Alternative(text=t, confidence=round(c, 6)) for t, c in self.alternatives] or None,
            rejected=None if reject_below is None else self.confidence < reject_below,
        )


class Network(Protocol):
    """What an exported CTC network runs: a padded batch (B, C, H, W) and real widths (B,) ->
    logits (B, T, C) and each image's real number of time steps (B,)."""

    def __call__(self, images: Tensor, widths: Tensor) -> tuple[Tensor, Tensor]: ...


def read_batch(
    network: RecognitionModel | Network,
    charset: Charset,
    images: Tensor,
    widths: Tensor,
    decoding: DecodeConfig | None = None,
    temperature: float = 1.0,
) -> list[Decoded]:
    """The one reading path: batch (B, C, H, W) with real widths (B,) -> decoded strings.
    A model reads by its family's decoding; an exported CTC network's logits go through
    the same CTC decoding. `temperature` (fitted on validation data) calibrates
    confidences, never the text."""
    if isinstance(network, RecognitionModel):
        return network.read(images, widths, charset, decoding, temperature)
    logits, lengths = network(images, widths)
    return decode_logits(logits, lengths, charset, decoding, temperature)


class Recognizer:
    """A model with its charset and preprocessing, ready to read images.

    `backend` is "torch" (the model itself, on `device` at `precision`) or "onnx" (ONNX
    Runtime on the CPU running its exported graph); both share the preprocessing and
    decoding here."""

    def __init__(
        self,
        model: RecognitionModel | None,
        charset: Charset,
        preprocess_config: PreprocessConfig,
        model_config: ModelConfig,
        info: dict[str, Any],
        network: Network | None = None,
        temperature: float = 1.0,
        device: str = "cpu",
        precision: str = "32",
    ):
        if network is None and model is None:
            raise ValueError("a Recognizer needs a model or a network")
        self.device = resolve_device(device) if model is not None else torch.device("cpu")
        self.precision = resolve_precision(precision, self.device)
        if model is not None:
            model = model.eval().to(self.device)
            model = channels_last(model) if self.device.type == "cpu" else model
        self.model = model
        self.network: RecognitionModel | Network = network if network is not None else model  # type: ignore[assignment]
        self.backend = "torch" if network is None else "onnx"
        self.temperature = temperature  # confidences are softmax(logits / temperature)
        self.charset = charset
        self.preprocess = preprocess_config
        self.model_config = model_config
        self.info = info

    @classmethod
    def from_checkpoint(cls, name_or_path: str | Path, device: str = "cpu", precision: str = "32") -> Recognizer:
        path = resolve_model(name_or_path)
        checkpoint = Checkpoint.load(path)
        info = {"path": str(path), "metrics": checkpoint.metrics, "command": checkpoint.command or None}
        return cls(
            checkpoint.build_model(str(path)),
            checkpoint.charset,
            checkpoint.preprocess,
            checkpoint.model,
            info,
            temperature=checkpoint.temperature,
            device=device,
            precision=precision,
        )

    @property
    def family(self) -> str:
        """How it reads: "ctc", "attention" or "classifier" (an exported graph is CTC)."""
        return self.model.family if self.model is not None else "ctc"

    @property
    def parameter_count(self) -> int | None:
        """Trainable numbers in the network (None for an exported graph: not counted there)."""
        return sum(p.numel() for p in self.model.parameters()) if self.model is not None else None

    def require(self, family: str, what: str) -> None:
        """Refuse, in one line, a use (`what`) that only models of `family` support."""
        if self.family != family:
            article = "an" if family[0] in "aeiou" else "a"
            raise SeqocrError(f"{self.info.get('path', 'this model')}: {what} needs {article} {family} model")

    def torch_network(self, what: str) -> RecognitionModel:
        """The PyTorch network itself, for a use (`what`) only it supports (tracing it)."""
        if self.model is None:
            raise SeqocrError(f"{what} needs a PyTorch model (a checkpoint or bundled name), not an .onnx file")
        return self.model

    def checkpoint(self) -> Checkpoint:
        """The checkpoint this recognizer was loaded from (to calibrate or export it)."""
        if self.model is None or "path" not in self.info or str(self.info["path"]).endswith(".onnx"):
            raise SeqocrError(f"{self.info.get('path', 'model')}: an exported model; give its .pt checkpoint")
        return Checkpoint.load(self.info["path"])

    def uncalibrated(self) -> Recognizer:
        """The same reader at temperature 1: confidences as the network gives them."""
        twin = copy.copy(self)
        twin.temperature = 1.0
        return twin

    @overload
    def predict(  # type: ignore[overload-overlap]  # a path string is one image, not a sequence of them
        self, images: ImageInput, batch_size: int = 64, decoding: DecodeConfig | None = None
    ) -> Prediction: ...

    @overload
    def predict(
        self, images: Sequence[ImageInput], batch_size: int = 64, decoding: DecodeConfig | None = None
    ) -> list[Prediction]: ...

    def predict(
        self, images: ImageInput | Sequence[ImageInput], batch_size: int = 64, decoding: DecodeConfig | None = None
    ) -> list[Prediction] | Prediction:
        """Read each image (a path, PIL image or HxW[xC] array); results keep input order.
        One image, not in a list, gives one prediction.

        `decoding` asks for beam search, n-best answers or constraints (allowed
        characters, length, a regular expression); greedy by default."""
        if isinstance(images, (str, Path, Image.Image, np.ndarray)):
            return self.predict([images], batch_size, decoding)[0]
        if not isinstance(images, Sequence):
            raise SeqocrError(f"expected an image or a list of images, got {type(images).__name__}")
        return self.predict_named(
            [(image, image_name(image, i)) for i, image in enumerate(images)], batch_size, decoding
        )

    def predict_named(
        self, named: Sequence[tuple[ImageInput, str]], batch_size: int = 64, decoding: DecodeConfig | None = None
    ) -> list[Prediction]:
        """`predict` on (image, the name its errors give) pairs: a part of a larger input
        (`ReadingPool`'s shards) names its images by their place in the whole."""
        prepared = [self.prepare_with_box(image, name) for image, name in named]
        return self.predict_tensors([t for t, _ in prepared], batch_size, decoding, [b for _, b in prepared])

    def read_each(
        self, named: Sequence[tuple[ImageInput, str]], batch_size: int = 64, decoding: DecodeConfig | None = None
    ) -> list[Prediction | SeqocrError]:
        """`predict_named` that keeps going: an unusable image's place holds its error, and
        every other image is still read (the CLI reading a folder)."""
        prepared = attempt_each(lambda item: self.prepare_with_box(*item), named)
        return self.read_prepared(prepared, batch_size, decoding)

    def read_prepared(
        self,
        prepared: Sequence[tuple[Tensor, Box] | SeqocrError],
        batch_size: int = 64,
        decoding: DecodeConfig | None = None,
    ) -> list[Prediction | SeqocrError]:
        """Read the prepared images of `prepare_with_box`'s outcomes; errors keep their place."""
        good = [p for p in prepared if not isinstance(p, SeqocrError)]
        predictions = iter(self.predict_tensors([t for t, _ in good], batch_size, decoding, [b for _, b in good]))
        return [p if isinstance(p, SeqocrError) else next(predictions) for p in prepared]

    def prepare(self, image: ImageInput, name: str = "image") -> Tensor:
        """Load and preprocess one image; raises SeqocrError naming `name` if it is unusable."""
        return preprocess(as_pil(image, name), self.preprocess, name)

    def prepare_with_box(self, image: ImageInput, name: str = "image") -> tuple[Tensor, Box]:
        """`prepare`, and the part of the input image the tensor shows (to locate characters)."""
        return preprocess_with_box(as_pil(image, name), self.preprocess, name)

    @torch.inference_mode()
    def predict_tensors(
        self,
        tensors: Sequence[Tensor],
        batch_size: int = 64,
        decoding: DecodeConfig | None = None,
        boxes: Sequence[Box] | None = None,
    ) -> list[Prediction]:
        """Preprocessed images -> predictions; batches images of similar width together.
        With each tensor's `boxes` (from `prepare_with_box`), predictions say where in the
        input image each character was read."""
        results: list[Prediction | None] = [None] * len(tensors)
        for chunk in width_batches([t.shape[-1] for t in tensors], batch_size):
            images, widths = pad_batch([tensors[i] for i in chunk])
            decoded_batch = self.read_padded(images, widths, decoding)
            for i, d in zip(chunk, decoded_batch, strict=True):
                char_x = _char_x(d, tensors[i].shape[-1], boxes[i]) if boxes is not None else ()
                # nothing read is never a sure answer: a blank page, a crop that missed the
                # text and an image read wrong look alike, and a reject threshold must catch them
                confidence = d.confidence if d.text else 0.0
                results[i] = Prediction(d.text, confidence, d.char_confidences, d.alternatives, char_x, d.attention)
        return results  # type: ignore[return-value]

    @torch.inference_mode()
    def read_padded(self, images: Tensor, widths: Tensor, decoding: DecodeConfig | None = None) -> list[Decoded]:
        """A padded batch (B, C, H, W) with real widths (B,), on the CPU -> decoded strings."""
        if self.backend == "torch":
            images = images.to(self.device, non_blocking=True)
            widths = widths.to(self.device, non_blocking=True)
        with autocast(self.device, self.precision):
            return read_batch(self.network, self.charset, images, widths, decoding, self.temperature)


def _char_x(decoded: Decoded, width: int, box: Box) -> tuple[float, ...]:
    """Each character's emitting frame, mapped back to an x in the input image."""
    left, _, right, _ = box
    steps = max(decoded.steps, 1)
    return tuple(round(left + (f + 0.5) / steps * (right - left), 1) for f in decoded.char_frames)


def image_name(image: ImageInput, index: int) -> str:
    """How errors name an input: a file by its path, anything else by its place."""
    return str(image) if isinstance(image, (str, Path)) else f"image {index}"
