"""The inference API: a loaded model that reads images. One path for CLI, eval, service and Python.

A `Recognizer` holds a network (a PyTorch model, or an exported graph run by ONNX
Runtime), its charset, preprocessing and calibrated temperature. Callers ask it for
what they need (`family`, `parameter_count`, `checkpoint`, `uncalibrated`) and never
which backend it holds.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Protocol, overload

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from seqocr.boxes import Box
from seqocr.charset import Charset
from seqocr.checkpoint import Checkpoint
from seqocr.config import DecodeConfig, ModelConfig, PreprocessConfig
from seqocr.data.images import ImageInput, as_pil
from seqocr.data.transform import pad_batch, preprocess_with_box, width_batches
from seqocr.decode import Decoded, decode_logits
from seqocr.device import autocast, resolve_device, resolve_precision
from seqocr.errors import SeqocrError, attempt_each, in_place
from seqocr.locating import LOCATE_MODES, StringLocator, looks_tight, main_region
from seqocr.models import RecognitionModel, channels_last
from seqocr.pretrained import resolve_model
from seqocr.schemas import Alternative, Answer, CharAnswer

BACKENDS = ("torch", "onnx")
LOCATE_MARGIN = 0.15  # a located string is cut out with this share of its height around it
# --locate auto takes a second, located look at whole-image readings less sure than this
AUTO_CONFIDENCE = 0.5
# ...and at sure readings of framed images, whose located reading must then be surer by this:
# the larger of two confidences is biased upwards (docs/how-it-works.md, "Finding the number first")
AUTO_MARGIN = 0.1


@dataclass(frozen=True)
class Placement:
    """Where a prepared tensor came from in the input image: the part it shows (`read`,
    to place each character) and the string's box for the answer (`box`: the located
    string, or the ink a tight crop holds; None when nothing was found)."""

    read: Box
    box: Box | None


@dataclass(frozen=True)
class Prediction:
    text: str
    confidence: float  # in [0, 1]
    char_confidences: tuple[float, ...]
    alternatives: tuple[tuple[str, float], ...] = ()  # with --n-best: (text, confidence), best first
    char_x: tuple[float, ...] = ()  # where each character was read: x in the input image's pixels
    attention: tuple[tuple[float, ...], ...] = ()  # attention models: each character's weights over time
    box: Box | None = None  # where the string stands in the input image; None when nothing was found

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
            box=[round(v, 1) for v in self.box] if self.box is not None else None,
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


@dataclass(frozen=True)
class ModelInfo:
    """Where a reader comes from: its checkpoint (or exported graph), the metrics and the
    command it was trained with, and for a graph run by ONNX Runtime which one and how
    its weights are stored."""

    path: str
    metrics: dict[str, Any] = field(default_factory=dict)
    command: str | None = None
    onnx: str | None = None  # the exported graph a checkpoint's reader runs (backend "onnx")
    quantized: str | None = None  # "int8" for an export with quantized weights
    calibrated: bool = False  # its temperature was fitted on labelled images (it may come out 1.0)

    @classmethod
    def from_metadata(cls, values: dict[str, Any], **given: Any) -> ModelInfo:
        """From an export's stored info (the keys this version knows), with `given` on top."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in {**values, **given}.items() if k in known})


class Recognizer:
    """A model with its charset and preprocessing, ready to read images.

    Two doors read: `predict(images)` for people (one image gives one answer; an unusable
    image raises its error) and `read(named)` for programs, where an unusable image's
    place holds its error and every other image is still read (the CLI, the reading pool,
    evaluation). `read_every_string` answers `--all`. The service, which batches tensors
    across requests, runs read's stages itself: `prepare_with_box`, `read_prepared`,
    `second_looks`; benchmarks time `read_prepared` to leave preprocessing out.

    `backend` is "torch" (the model itself, on `device` at `precision`) or "onnx" (ONNX
    Runtime on the CPU running its exported graph); both share the preprocessing and
    decoding here."""

    def __init__(
        self,
        model: RecognitionModel | None,
        charset: Charset,
        preprocess_config: PreprocessConfig,
        model_config: ModelConfig,
        info: ModelInfo,
        network: Network | None = None,
        temperature: float = 1.0,
        device: str = "cpu",
        precision: str = "32",
        label_length: int | None = None,
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
        self.label_length = label_length  # every training label's length, when they shared one
        self.charset = charset
        self.preprocess = preprocess_config
        self.model_config = model_config
        self.info = info
        self.locator: StringLocator | None = None  # set by `locating`
        self.locate = "off"  # "auto": locate unless the image is already a tight crop; "on"; "off"

    @classmethod
    def from_checkpoint(cls, name_or_path: str | Path, device: str = "cpu", precision: str = "32") -> Recognizer:
        path = resolve_model(name_or_path)
        checkpoint = Checkpoint.load(path)
        if checkpoint.model.arch == "locator":
            raise SeqocrError(f"{name_or_path}: a locator finds strings, it does not read them; give a reader (digits)")
        info = ModelInfo(
            str(path), checkpoint.metrics, checkpoint.command or None, calibrated=checkpoint.calibration is not None
        )
        return cls(
            checkpoint.build_model(str(path)),
            checkpoint.charset,
            checkpoint.preprocess,
            checkpoint.model,
            info,
            temperature=checkpoint.temperature,
            device=device,
            precision=precision,
            label_length=checkpoint.label_length,
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
            raise SeqocrError(f"{self.info.path}: {what} needs {article} {family} model")

    def torch_network(self, what: str) -> RecognitionModel:
        """The PyTorch network itself, for a use (`what`) only it supports (tracing it)."""
        if self.model is None:
            raise SeqocrError(f"{what} needs a PyTorch model (a checkpoint or bundled name), not an .onnx file")
        return self.model

    def checkpoint(self) -> Checkpoint:
        """The checkpoint this recognizer was loaded from (to calibrate or export it)."""
        if self.model is None or self.info.path.endswith(".onnx"):
            raise SeqocrError(f"{self.info.path}: an exported model; give its .pt checkpoint")
        return Checkpoint.load(self.info.path)

    def locating(self, mode: str, locator: StringLocator | None) -> Recognizer:
        """The same reader that finds the string first: `mode` "on" always, "auto" unless
        the image is already a tight crop (locating.looks_tight), "off" never."""
        if mode not in LOCATE_MODES:
            raise SeqocrError(f"unknown --locate {mode!r}; choose one of: {', '.join(LOCATE_MODES)}")
        if mode != "off" and locator is None:
            raise SeqocrError(f"--locate {mode} needs a locator")
        twin = copy.copy(self)
        twin.locate, twin.locator = mode, locator
        return twin

    def decoding_for(self, decoding: DecodeConfig | None) -> DecodeConfig | None:
        """`decoding`, asking for the length every training label had when the model records
        one and the caller asks for no length of its own (nor `learnt_length=False`): a
        site's captchas all have five characters, and a reading of four is always wrong."""
        n = self.label_length
        if n is None or (decoding is not None and (decoding.asks_length or not decoding.learnt_length)):
            return decoding
        return replace(decoding or DecodeConfig(), min_length=n, max_length=n)

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
        return raise_first(
            self.read([(image, image_name(image, i)) for i, image in enumerate(images)], batch_size, decoding)
        )

    def read(
        self, named: Sequence[tuple[ImageInput, str]], batch_size: int = 64, decoding: DecodeConfig | None = None
    ) -> list[Prediction | SeqocrError]:
        """Read (image, the name its errors give) pairs; an unusable image's place holds its
        error. The one reading path: open, prepare (locating first with `--locate on`),
        read; then `looks_again` where a reading needs it."""
        prepared = attempt_each(self._open_and_prepare, named)
        usable = [p for p in prepared if not isinstance(p, SeqocrError)]
        predictions = self.read_prepared([t for _, t, _ in usable], batch_size, decoding, [b for _, _, b in usable])
        return in_place(prepared, self.looks_again([o for o, _, _ in usable], predictions, batch_size, decoding))

    def _open_and_prepare(self, item: tuple[ImageInput, str]) -> tuple[tuple[Image.Image, str], Tensor, Placement]:
        """(the opened image and its name, its tensor, where it came from)."""
        opened = (as_pil(*item), item[1])
        return (opened, *self.prepare_with_box(*opened))

    def looks_again(
        self,
        images: Sequence[tuple[Image.Image, str]],
        predictions: Sequence[Prediction],
        batch_size: int = 64,
        decoding: DecodeConfig | None = None,
    ) -> list[Prediction]:
        """Every reading path's last step, for the (image, name) pairs just read: with
        `--locate auto`, a located second look where one is needed (`second_looks`); with
        `auto` or `on`, the other strings found where the main one reads unsure
        (`other_strings`). Without locating, the readings as they are."""
        if self.locate == "auto":
            predictions = self.second_looks(images, predictions, batch_size, decoding)
        if self.locate != "off":
            predictions = self.other_strings(images, predictions, batch_size, decoding)
        return list(predictions)

    def may_look_again(self, image: tuple[Image.Image, str], prediction: Prediction) -> bool:
        """Whether `looks_again` could change the reading of (image, name): the service asks
        before it hands the work to a thread."""
        if self.locate == "auto":
            return self.needs_second_look(image, prediction)
        return self.locate == "on" and prediction.confidence < AUTO_CONFIDENCE

    def second_looks(
        self,
        images: Sequence[tuple[Image.Image, str]],
        predictions: Sequence[Prediction],
        batch_size: int = 64,
        decoding: DecodeConfig | None = None,
    ) -> list[Prediction]:
        """`--locate auto`: the whole-image readings, with a second look, located, at each
        (image, name) whose reading is unsure (below AUTO_CONFIDENCE) or that does not look
        like a tight crop (a band, a rule or a frame at its edges: `looks_tight`). An unsure
        reading gives way to a more confident located one; a sure one to a located one
        more confident by AUTO_MARGIN. A tight crop read surely costs nothing more; an image
        the locator refuses (over its pixel budget) keeps its whole-image reading."""
        candidates = [
            i for i, (image, p) in enumerate(zip(images, predictions, strict=True)) if self.needs_second_look(image, p)
        ]

        def surer(first: Prediction, located: Prediction) -> bool:
            margin = AUTO_MARGIN if first.confidence >= AUTO_CONFIDENCE else 0.0
            return located.confidence > first.confidence + margin

        return self._read_instead(
            predictions, candidates, lambda i: [self._locate_main(*images[i])], surer, batch_size, decoding
        )

    def other_strings(
        self,
        images: Sequence[tuple[Image.Image, str]],
        predictions: Sequence[Prediction],
        batch_size: int = 64,
        decoding: DecodeConfig | None = None,
    ) -> list[Prediction]:
        """A reading less sure than AUTO_CONFIDENCE gives way to a surer reading of another
        string the locator found in the same image. The main string is the one with the
        most text probability, and a printed caption or a "$" can hold more of it than a
        single small digit (docs/results.md). Only unsure readings are located again."""
        assert self.locator is not None
        locator = self.locator

        def others(i: int) -> list[tuple[Tensor, Placement]]:
            image, name = images[i]
            regions = locator.locate([image], [name])[0]
            main = main_region(regions)
            return [self._cut_out(image, r.box, name) for r in regions if r is not main]

        unsure = [i for i, p in enumerate(predictions) if p.confidence < AUTO_CONFIDENCE]
        return self._read_instead(
            predictions, unsure, others, lambda now, other: bool(other.text) and other.confidence > now.confidence,
            batch_size, decoding,
        )  # fmt: skip

    def _read_instead(
        self,
        predictions: Sequence[Prediction],
        candidates: Sequence[int],
        cuts_of: Callable[[int], list[tuple[Tensor, Placement]]],
        wins: Callable[[Prediction, Prediction], bool],
        batch_size: int,
        decoding: DecodeConfig | None,
    ) -> list[Prediction]:
        """The later looks' one mechanism: the other cuts of each candidate image
        (`cuts_of(i)`, prepared; an image the locator refuses has none and keeps its
        reading), read in one batch, each replacing the reading so far where `wins(reading
        so far, its reading)`."""
        found = attempt_each(cuts_of, candidates)
        owners = [
            i for i, cuts in zip(candidates, found, strict=True) if not isinstance(cuts, SeqocrError) for _ in cuts
        ]
        cuts = [c for cs in found if not isinstance(cs, SeqocrError) for c in cs]
        kept = list(predictions)
        if not cuts:
            return kept
        read = self.read_prepared([t for t, _ in cuts], batch_size, decoding, [b for _, b in cuts])
        for i, p in zip(owners, read, strict=True):
            if wins(kept[i], p):
                kept[i] = p
        return kept

    def needs_second_look(self, image: tuple[Image.Image, str], prediction: Prediction) -> bool:
        """`--locate auto`: whether a whole-image reading of (image, name) gets a located second look."""
        return prediction.confidence < AUTO_CONFIDENCE or not looks_tight(image[0])

    def read_every_string(
        self, named: Sequence[tuple[ImageInput, str]], batch_size: int = 64, decoding: DecodeConfig | None = None
    ) -> list[list[Prediction] | SeqocrError]:
        """Every string the locator finds in each image, in reading order (`--all`); an
        image with none (or none that reads as text) gives an empty list, an unusable one
        its error in its place."""
        found = attempt_each(lambda item: self.prepare_every_string(*item), named)
        flat = [p for strings in found if not isinstance(strings, SeqocrError) for p in strings]
        predictions = iter(self.read_prepared([t for t, _ in flat], batch_size, decoding, [b for _, b in flat]))
        read = [s if isinstance(s, SeqocrError) else [next(predictions) for _ in s] for s in found]
        return [s if isinstance(s, SeqocrError) else [p for p in s if p.text] for s in read]

    def prepare(self, image: ImageInput, name: str = "image") -> Tensor:
        """Load and preprocess one image; raises SeqocrError naming `name` if it is unusable."""
        return self.prepare_with_box(image, name)[0]

    def prepare_with_box(self, image: ImageInput, name: str = "image") -> tuple[Tensor, Placement]:
        """`prepare`, and where the tensor came from in the input image: the whole image
        (cropped to its ink), or with `--locate on` the main string the locator found (a
        blank with no box when it found none: `read_prepared` answers "" at confidence 0)."""
        pil = as_pil(image, name)
        return self._locate_main(pil, name) if self.locate == "on" else self._whole(pil, name)

    def prepare_every_string(self, image: ImageInput, name: str = "image") -> list[tuple[Tensor, Placement]]:
        """Each string the locator finds, prepared, in reading order (none: an empty list).
        With locating off, the whole image is one string."""
        pil = as_pil(image, name)
        if self.locator is None or self.locate == "off":
            return [self._whole(pil, name)]
        return [self._cut_out(pil, region.box, name) for region in self.locator.locate([pil], [name])[0]]

    def _whole(self, image: Image.Image, name: str) -> tuple[Tensor, Placement]:
        """The whole image, cropped to its ink, prepared; its box is that ink."""
        tensor, read = preprocess_with_box(image, self.preprocess, name)
        return tensor, Placement(read, read)

    def _locate_main(self, image: Image.Image, name: str) -> tuple[Tensor, Placement]:
        """The main string the locator finds, prepared; a blank when it finds none."""
        assert self.locator is not None
        region = main_region(self.locator.locate([image], [name])[0])
        if region is None:
            blank = torch.zeros(self.preprocess.channels, self.preprocess.height, self.preprocess.min_width)
            return blank, Placement((0.0, 0.0, float(image.width), float(image.height)), None)
        return self._cut_out(image, region.box, name)

    def _cut_out(self, image: Image.Image, box: Box, name: str) -> tuple[Tensor, Placement]:
        """The string in `box`, with a margin, cut from the full-resolution image and preprocessed."""
        cut = located_cut(box, image.size)
        tensor, (left, top, right, bottom) = preprocess_with_box(image.crop(cut), self.preprocess, name)
        read = (left + cut[0], top + cut[1], right + cut[0], bottom + cut[1])
        return tensor, Placement(read, box)

    @torch.inference_mode()
    def read_prepared(
        self,
        tensors: Sequence[Tensor],
        batch_size: int = 64,
        decoding: DecodeConfig | None = None,
        boxes: Sequence[Placement] | None = None,
    ) -> list[Prediction]:
        """Preprocessed images -> predictions; batches images of similar width together.
        With each tensor's placement (from `prepare_with_box`), predictions say where in
        the input image the string stands and each character was read."""
        results: list[Prediction | None] = [None] * len(tensors)
        readable = []
        for i in range(len(tensors)):
            if boxes is not None and boxes[i].box is None:  # the locator found no string: nothing to read
                results[i] = Prediction("", 0.0, ())
            else:
                readable.append(i)
        for batch in width_batches([tensors[i].shape[-1] for i in readable], batch_size):
            chunk = [readable[k] for k in batch]
            images, widths = pad_batch([tensors[i] for i in chunk])
            decoded_batch = self._read_padded(images, widths, decoding)
            for i, d in zip(chunk, decoded_batch, strict=True):
                char_x = _char_x(d, boxes[i].read) if boxes is not None else ()
                box = boxes[i].box if boxes is not None else None
                # nothing read is never a sure answer: a blank page, a crop that missed the
                # text and an image read wrong look alike, and a reject threshold must catch them
                confidence = d.confidence if d.text else 0.0
                results[i] = Prediction(
                    d.text, confidence, d.char_confidences, d.alternatives, char_x, d.attention, box if d.text else None
                )
        return results  # type: ignore[return-value]

    @torch.inference_mode()
    def _read_padded(self, images: Tensor, widths: Tensor, decoding: DecodeConfig | None = None) -> list[Decoded]:
        """A padded batch (B, C, H, W) with real widths (B,), on the CPU -> decoded strings."""
        if self.backend == "torch":
            images = images.to(self.device, non_blocking=True)
            widths = widths.to(self.device, non_blocking=True)
        with autocast(self.device, self.precision):
            return read_batch(self.network, self.charset, images, widths, self.decoding_for(decoding), self.temperature)


def located_cut(box: Box, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The part of an image (`size`: width, height) a located string is read from: its box
    and a margin of LOCATE_MARGIN of its height on every side (at least 2 px)."""
    x0, y0, x1, y1 = box
    margin = max(2.0, LOCATE_MARGIN * (y1 - y0))
    return (
        max(0, int(x0 - margin)),
        max(0, int(y0 - margin)),
        min(size[0], int(np.ceil(x1 + margin))),
        min(size[1], int(np.ceil(y1 + margin))),
    )


def _char_x(decoded: Decoded, box: Box) -> tuple[float, ...]:
    """Each character's emitting frame, mapped back to an x in the input image."""
    left, _, right, _ = box
    steps = max(decoded.steps, 1)
    return tuple(round(left + (f + 0.5) / steps * (right - left), 1) for f in decoded.char_frames)


def raise_first(results: list[Prediction | SeqocrError]) -> list[Prediction]:
    """`results` as predictions, or the first unusable image's error raised."""
    for result in results:
        if isinstance(result, SeqocrError):
            raise result
    return results  # type: ignore[return-value]


def image_name(image: ImageInput, index: int) -> str:
    """How errors name an input: a file by its path, anything else by its place."""
    return str(image) if isinstance(image, (str, Path)) else f"image {index}"
