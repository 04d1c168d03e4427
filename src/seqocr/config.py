"""Typed, frozen configuration. Only the CLI parses arguments; everything else takes these."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class PreprocessConfig:
    """How any image becomes a model input; stored in every checkpoint.

    `polarity="auto"` turns dark-on-light images into light-on-dark ones (judged from
    the median pixel), so one model reads both ink on paper and MNIST-style images.
    `crop` removes empty margins, so the text fills the model's height whatever the
    framing of the photo or scan.
    """

    height: int = 32
    channels: int = 1
    polarity: str = "auto"  # "auto" | "keep"
    crop: bool = True  # crop to the ink's bounding box (plus a margin) before resizing
    # fit into a height x height square, centred, instead of keeping the width (single characters)
    square: bool = False
    min_width: int = 16
    max_width: int = 4096


@dataclass(frozen=True)
class SynthConfig:
    """A synthetic digit-string set; a sample is a pure function of (seed, index)."""

    split: str = "train"  # "train" | "val" | "test"  (which MNIST digits are used)
    seed: int = 0
    min_len: int = 1
    max_len: int = 10
    style: str = "default"  # "default" | "notebook" | "touching" | "document" | "mixed"
    # (name, probability) pairs that override the style's effect probabilities (data/effects.py)
    effects: tuple[tuple[str, float], ...] = ()
    marks: str = ""  # marks written into the label when drawn (those the charset holds, e.g. "/")
    # Distort every digit (rotation, shear, aspect, a local elastic warp) so the model
    # sees more writers than the 55,000 training digits: training only, never for test sets.
    augment: bool = False


@dataclass(frozen=True)
class DecodeConfig:
    """How logits become text. Greedy unless a beam or a constraint is asked for;
    constraints act inside the search (CTC: decode/beam.py, attention: decode/attention.py);
    a classifier honours `allowed` and refuses length and pattern constraints.

    A model whose training labels all had one length reads that length unless a length is
    asked for here or `learnt_length` is False (Recognizer.decoding_for)."""

    beam: int = 0  # 0: greedy (fastest); N: prefix beam search keeping N prefixes
    n_best: int = 1  # answers to return per image, best first
    allowed: str = ""  # characters the answer may use ("": all the model reads)
    min_length: int = 0
    max_length: int | None = None
    pattern: str = ""  # a regular expression the whole answer must match
    learnt_length: bool = True  # False: ignore the label length a model records (--any-length)

    @property
    def asks_length(self) -> bool:
        return bool(self.min_length or self.max_length is not None)

    @property
    def constrained(self) -> bool:
        return bool(self.allowed or self.asks_length or self.pattern)

    @property
    def uses_beam(self) -> bool:
        return self.beam > 0 or self.constrained or self.n_best > 1

    @property
    def beam_width(self) -> int:
        return max(self.beam, self.n_best, DEFAULT_BEAM if not self.beam else 1)


DEFAULT_BEAM = 10  # the beam used when only constraints or --n-best ask for a search


@dataclass(frozen=True)
class DataConfig:
    """Training data from a labelled folder; with no `path`: synthetic digit strings of
    MNIST digits (`source="strings"`, see `synth`), MNIST's single digits (`"digits"`, for
    classifiers) or alphanumeric strings in captcha styles (`"text"`, data/text_synth.py,
    in the run's charset)."""

    path: str = ""
    source: str = "strings"  # without a path: "strings" | "digits" | "text"
    val_path: str = ""  # a separate validation folder; else `val_split` of `path`
    # held out with the run's seed; 0: no validation (the last epoch is kept);
    # None: 20% of a set of 1,000 images or more, none of a smaller one (data/folder.auto_val_split)
    val_split: float | None = None
    augment: bool = True  # geometric and photometric changes every epoch (data/augment.py)
    # synthetic strings drawn each epoch per folder image (text in captcha styles when the
    # labels hold letters, else digit strings when the charset holds the digits);
    # None: 1 for a set under 1,000 images, else 0 (train/data.py)
    synthetic: float | None = None


@dataclass(frozen=True)
class ModelConfig:
    arch: str = "crnn"
    stem: int = 16  # channels of the stride-2 first convolution
    # Backbone stages after the stem: output channels and the (height, width) pooling.
    stages: tuple[tuple[int, int, int], ...] = (
        (32, 2, 2),
        (64, 1, 1),
        (64, 2, 1),
        (96, 2, 1),
    )
    sequence: str = "conv"  # "conv" (1-D convolutions) | "lstm" (bidirectional)
    hidden: int = 192
    layers: int = 2
    dropout: float = 0.1
    attention: str = "general"  # attention models: Luong score "general" (h W a) or "dot" (h a)


@dataclass(frozen=True)
class TrainConfig:
    out: str = "runs/digits"
    epochs: int = 60  # an upper bound: the time budget usually ends the run first
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    samples_per_epoch: int = 20_000  # fresh synthetic strings each epoch
    val_samples: int = 2_000
    patience: int = 5
    seed: int = 0
    threads: int = 0  # 0: use torch's default (all cores)
    workers: int = 1  # processes drawing synthetic samples while the model trains
    max_minutes: float = 18.0  # time budget; the LR schedule spans it (0: steps only)
    # start from this model's weights (a bundled name, checkpoint or run folder); "": from
    # scratch; "auto": the bundled reader that best covers the labels' charset (train/initial_weights.py)
    init: str = ""
    # with `init`: take only its backbone; the sequence model asked for and the head start fresh
    init_backbone: bool = False
    ema: float = 0.0  # decay of an exponential moving average of the weights, validated and kept (0: off)
    device: str = "auto"  # "auto" (a CUDA GPU when present, else the CPU) | "cpu" | "cuda[:N]" | "mps"
    precision: str = "auto"  # "auto" (bf16 or 16 on a GPU, 32 elsewhere) | "32" | "bf16" | "16"


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a training run; written to `config.json`."""

    train: TrainConfig = field(default_factory=TrainConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    synth: SynthConfig = field(default_factory=lambda: SynthConfig(augment=True))
    data: DataConfig = field(default_factory=DataConfig)
    charset: str = "0123456789"  # "": the characters found in the training labels


@dataclass(frozen=True)
class ServeConfig:
    """`seqocr serve`: which models, where, and the limits every request must respect."""

    models: tuple[str, ...] = ("digits",)  # loaded once at start; the first is the default
    backend: str = "torch"  # "torch" | "onnx"
    device: str = "auto"  # the torch backend's device (device.py)
    precision: str = "32"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1  # uvicorn worker processes, each loading the models once
    locate: str | None = None  # find the number in larger images first: "auto" | "on" | "off" (None: per model)
    max_body_bytes: int = 8 * 1024 * 1024
    max_images: int = 64  # per request
    max_pixels: int = 4_000_000  # per image, checked from its header before decoding
    max_request_pixels: int = 16_000_000  # all images of a request together, also from their headers
    # the network's work for a request: each image's width after resizing to the model's
    # height, times that height, summed (an 8 x 1,020 px stripe is 4,080 x 32 of it)
    max_request_work: int = 2_000_000
    request_timeout_s: float = 30.0  # a request must arrive whole (headers and body) within this
    line_timeout_s: float = 3.0  # a new connection must send its first whole line within this
    keep_alive_s: int = 5  # an idle kept-alive connection is closed after this
    max_connections: int = 256  # more at once are answered 503
    max_batch: int = 64  # images read in one network run
    batch_wait_ms: float = 2.0  # how long a batch waits for more requests


def to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild a (nested) config dataclass from `to_dict` output; unknown keys fail."""
    kwargs: dict[str, Any] = {}
    hints = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key, value in data.items():
        if key not in hints:
            raise ValueError(f"unknown {cls.__name__} field {key!r}")
        default = getattr(cls(), key)
        if dataclasses.is_dataclass(default):
            value = from_dict(type(default), value)
        elif isinstance(default, tuple):
            value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        kwargs[key] = value
    return cls(**kwargs)
