"""The inference API: a loaded model that reads images. One path for CLI, eval and Python."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, overload

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from seqocr.charset import Charset
from seqocr.config import DecodeConfig, ModelConfig, PreprocessConfig, from_dict
from seqocr.data.images import ImageInput, as_pil
from seqocr.data.transform import pad_batch, preprocess, preprocess_with_box
from seqocr.decode import Decoded, decode_logits
from seqocr.errors import SeqocrError
from seqocr.models import RecognitionModel, build_model, channels_last
from seqocr.pretrained import resolve_model
from seqocr.train.checkpoint import load_checkpoint


@dataclass(frozen=True)
class Prediction:
    text: str
    confidence: float  # in [0, 1]
    char_confidences: tuple[float, ...]
    alternatives: tuple[tuple[str, float], ...] = ()  # with --n-best: (text, confidence), best first
    char_x: tuple[float, ...] = ()  # where each character was read: x in the input image's pixels
    attention: tuple[tuple[float, ...], ...] = ()  # attention models: each character's weights over time

    def as_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {"text": self.text, "confidence": self.confidence, "chars": list(self.char_confidences)}
        if self.char_x:
            row["char_x"] = list(self.char_x)
        if self.alternatives:
            row["alternatives"] = [{"text": t, "confidence": c} for t, c in self.alternatives]
        return row


Box = tuple[float, float, float, float]  # (left, top, right, bottom) in input pixels


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

    `backend` is "torch" (the model itself) or "onnx" (ONNX Runtime running its
    exported graph); both share the preprocessing and decoding here."""

    def __init__(
        self,
        model: RecognitionModel | None,
        charset: Charset,
        preprocess_config: PreprocessConfig,
        model_config: ModelConfig,
        info: dict[str, Any],
        network: Network | None = None,
        temperature: float = 1.0,
    ):
        self.model = channels_last(model.eval()) if model is not None else None
        if network is None and self.model is None:
            raise ValueError("a Recognizer needs a model or a network")
        self.network: RecognitionModel | Network = network if network is not None else self.model  # type: ignore[assignment]
        self.backend = "torch" if network is None else "onnx"
        self.temperature = temperature  # confidences are softmax(logits / temperature)
        self.charset = charset
        self.preprocess = preprocess_config
        self.model_config = model_config
        self.info = info

    @classmethod
    def from_checkpoint(cls, name_or_path: str | Path) -> Recognizer:
        path = resolve_model(name_or_path)
        data = load_checkpoint(path)
        missing = [key for key in ("charset", "model", "preprocess", "state_dict") if key not in data]
        if missing:
            raise SeqocrError(f"{path}: checkpoint lacks {', '.join(missing)}")
        try:
            charset = Charset(data["charset"])
            preprocess_config = from_dict(PreprocessConfig, data["preprocess"])
            model_config = from_dict(ModelConfig, data["model"])
        except (ValueError, TypeError, SeqocrError) as error:
            raise SeqocrError(f"{path}: checkpoint configuration unreadable ({error})") from None
        model = build_model(model_config, preprocess_config, charset.num_classes)
        try:
            model.load_state_dict(data["state_dict"])
        except RuntimeError as error:
            first = str(error).splitlines()[1].strip() if "\n" in str(error) else str(error)
            raise SeqocrError(f"{path}: weights do not match the architecture it names ({first})") from None
        info = {"path": str(path), "metrics": data.get("metrics", {}), "command": data.get("command")}
        return cls(
            model, charset, preprocess_config, model_config, info, temperature=float(data.get("temperature", 1.0))
        )

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
        prepared: dict[int, tuple[Tensor, Box]] = {}
        errors: dict[int, SeqocrError] = {}
        for index, (image, name) in enumerate(named):
            try:
                prepared[index] = self.prepare_with_box(image, name)
            except SeqocrError as error:
                errors[index] = error
        tensors, boxes = [t for t, _ in prepared.values()], [b for _, b in prepared.values()]
        predictions = iter(self.predict_tensors(tensors, batch_size, decoding, boxes))
        return [errors[index] if index in errors else next(predictions) for index in range(len(named))]

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
        order = sorted(range(len(tensors)), key=lambda i: tensors[i].shape[-1])
        results: list[Prediction | None] = [None] * len(tensors)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            images, widths = pad_batch([tensors[i] for i in chunk])
            decoded_batch = read_batch(self.network, self.charset, images, widths, decoding, self.temperature)
            for i, d in zip(chunk, decoded_batch, strict=True):
                char_x = _char_x(d, tensors[i].shape[-1], boxes[i]) if boxes is not None else ()
                # nothing read is never a sure answer: a blank page, a crop that missed the
                # text and an image read wrong look alike, and a reject threshold must catch them
                confidence = d.confidence if d.text else 0.0
                results[i] = Prediction(d.text, confidence, d.char_confidences, d.alternatives, char_x, d.attention)
        return results  # type: ignore[return-value]


def _char_x(decoded: Decoded, width: int, box: Box) -> tuple[float, ...]:
    """Each character's emitting frame, mapped back to an x in the input image."""
    left, _, right, _ = box
    steps = max(decoded.steps, 1)
    return tuple(round(left + (f + 0.5) / steps * (right - left), 1) for f in decoded.char_frames)


def image_name(image: ImageInput, index: int) -> str:
    """How errors name an input: a file by its path, anything else by its place."""
    return str(image) if isinstance(image, (str, Path)) else f"image {index}"


def load(name_or_path: str | Path = "digits", backend: str = "torch", threads: int = 0) -> Recognizer:
    """Load a bundled model by name ("digits"), a checkpoint, a run folder or an exported
    .onnx file. `backend="onnx"` runs a checkpoint through ONNX Runtime: it is exported
    once (checked against PyTorch) into the user cache and reused. `threads` caps the
    ONNX Runtime threads one call uses (0: all cores); PyTorch's are process-wide
    (`torch.set_num_threads`)."""
    if backend not in BACKENDS:
        raise SeqocrError(f"unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
    if str(name_or_path).endswith(".onnx"):
        from seqocr.export.cache import load_onnx

        return load_onnx(name_or_path, threads)
    recognizer = Recognizer.from_checkpoint(name_or_path)
    if backend == "onnx":
        from seqocr.export.cache import onnx_twin

        return onnx_twin(recognizer, threads)
    return recognizer


BACKENDS = ("torch", "onnx")
