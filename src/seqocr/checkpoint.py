"""The checkpoint: one typed record, the only code that knows a checkpoint file's keys.

A file holds tensors and plain Python values only (the configs as dicts, the charset as
a string), so `torch.load(..., weights_only=True)` reads it without running code from
it. Weights are stored on the CPU, so a model trained on a GPU loads on a laptop and the
other way round. Saving is atomic: serialised in memory, written to a temporary file,
renamed; a full disk leaves the previous file as it was.

Training (best.pt, last.pt, `--init`), calibration, inference and export all read and
write checkpoints through `Checkpoint`.
"""

from __future__ import annotations

import hashlib
import io
import math
import pickle
import shutil
import warnings
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from seqocr.charset import Charset
from seqocr.config import ModelConfig, PreprocessConfig, from_dict, to_dict
from seqocr.errors import SeqocrError
from seqocr.files import write_atomic
from seqocr.models import RecognitionModel, build_model
from seqocr.version import __version__

FORMAT = "seqocr-checkpoint"
VERSION = 1
REQUIRED = ("charset", "model", "preprocess", "state_dict")
CHECKSUM = "weights_sha256"  # of every weight tensor's name, shape, type and bytes: damage fails the load
# What `last.pt` adds to resume a run: the optimizer, the loop's counters, the weight average.
RESUME_KEYS = ("optimizer", "state", "averaged")


class CheckpointWriteError(SeqocrError):
    """A checkpoint could not be written (a full disk, a file-size limit); the previous one stays."""


@dataclass(frozen=True)
class Checkpoint:
    """A trained model as a file: what it reads, how it sees, its weights and how sure to be.

    `resume` holds, in `last.pt` only, what continuing the run needs (RESUME_KEYS)."""

    charset: Charset
    model: ModelConfig
    preprocess: PreprocessConfig
    weights: dict[str, Tensor]
    temperature: float = 1.0  # confidences are softmax(logits / temperature)
    calibration: dict[str, Any] | None = None  # how the temperature was fitted
    metrics: dict[str, Any] = field(default_factory=dict)  # the run's best validation figures
    command: str = ""  # the command line that trained it
    # every training label's length when they all had one (a site's captchas): read by default
    label_length: int | None = None
    seqocr: str = __version__  # the version that wrote it
    resume: dict[str, Any] = field(default_factory=dict)

    def holding(self, network: RecognitionModel, **fields: Any) -> Checkpoint:
        """This record with `network`'s current weights (copied to the CPU) and `fields` changed."""
        return replace(self, weights=cpu_state(network.state_dict()), **fields)

    def build_model(self, where: str = "checkpoint") -> RecognitionModel:
        """The network this checkpoint describes, holding its weights, in evaluation mode."""
        network = build_model(self.model, self.preprocess, self.charset.num_classes)
        try:
            network.load_state_dict(self.weights)
        except RuntimeError as error:
            first = str(error).splitlines()[1].strip() if "\n" in str(error) else str(error)
            raise SeqocrError(f"{where}: weights do not match the architecture it names ({first})") from None
        return network.eval()

    def calibrated(self, temperature: float, calibration: dict[str, Any] | None = None) -> Checkpoint:
        return replace(self, temperature=temperature, calibration=calibration)

    def save(self, path: str | Path) -> None:
        payload: dict[str, Any] = {  # write_payload adds the format and version
            "charset": self.charset.chars,
            "model": to_dict(self.model),
            "preprocess": to_dict(self.preprocess),
            "state_dict": self.weights,
            CHECKSUM: weights_digest(self.weights),
            "temperature": self.temperature,
            "metrics": self.metrics,
            "command": self.command,
            "seqocr": self.seqocr,
            **({"label_length": self.label_length} if self.label_length is not None else {}),
            **({"calibration": self.calibration} if self.calibration is not None else {}),
            **self.resume,
        }
        write_payload(path, payload)

    @classmethod
    def load(cls, path: str | Path) -> Checkpoint:
        """Read a checkpoint safely; any problem is one SeqocrError naming the file: an
        unreadable file, damaged weights (their checksum), fields of the wrong type or out
        of range, a temperature that is not a positive number, weights that are not finite."""
        data = upgrade(read_payload(path), path)
        try:
            checkpoint = cls(
                charset=Charset(_typed(data, "charset", str)),
                model=from_dict(ModelConfig, _typed(data, "model", dict)),
                preprocess=from_dict(PreprocessConfig, _typed(data, "preprocess", dict)),
                weights=_weights(data["state_dict"]),
                temperature=float(data["temperature"]),
                calibration=data.get("calibration"),
                metrics=dict(data["metrics"]),
                command=str(data["command"] or ""),
                label_length=_length(data.get("label_length")),
                seqocr=str(data["seqocr"]),
                resume={key: data[key] for key in RESUME_KEYS if key in data},
            )
            problem = checkpoint.problem()
        except (ValueError, TypeError, SeqocrError) as error:
            raise SeqocrError(f"{path}: checkpoint configuration unreadable ({error})") from None
        if CHECKSUM in data and data[CHECKSUM] != weights_digest(checkpoint.weights):
            raise SeqocrError(f"{path}: checkpoint damaged (its weights do not match their checksum)")
        if problem:
            raise SeqocrError(f"{path}: {problem}")
        return checkpoint

    def problem(self) -> str:
        """What makes this record unusable, in words ("" when nothing does)."""
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            return f"checkpoint temperature {self.temperature} is not a positive number"
        p = self.preprocess
        if not (8 <= p.height <= 512 and p.channels in (1, 3) and 1 <= p.min_width <= p.max_width):
            return f"checkpoint preprocessing out of range (height {p.height}, channels {p.channels})"
        broken = [name for name, t in self.weights.items() if t.is_floating_point() and not torch.isfinite(t).all()]
        if broken:
            return f"checkpoint weights are not finite ({broken[0]} holds NaN or infinity)"
        return ""


def _typed(data: dict[str, Any], key: str, kind: type) -> Any:
    if not isinstance(data[key], kind):
        raise TypeError(f"{key} is a {type(data[key]).__name__}, not a {kind.__name__}")
    return data[key]


def valid_label_length(value: Any) -> bool:
    """A recorded label length (a checkpoint's or an export's) is None or a positive int."""
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 1)


def _length(value: Any) -> int | None:
    if not valid_label_length(value):
        raise ValueError(f"label_length {value!r} is not a positive whole number")
    return value


def _weights(state: Any) -> dict[str, Tensor]:
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, Tensor) for k, v in state.items()):
        raise TypeError("state_dict is not a mapping of names to tensors")
    return state


def weights_digest(weights: dict[str, Tensor]) -> str:
    """SHA-256 of every tensor's name, type, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(weights):
        tensor = weights[name].detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def upgrade(data: dict[str, Any], path: str | Path) -> dict[str, Any]:
    """A payload of any version this seqocr reads, in the current version's shape. Files
    written before the temperature, the command or the version were recorded load with
    the values they behaved by (temperature 1)."""
    version = data.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise SeqocrError(f"{path}: checkpoint version {version!r} is not a version number")
    if version > VERSION:
        raise SeqocrError(f"{path}: checkpoint version {version} is newer than this seqocr reads")
    missing = [key for key in REQUIRED if key not in data]
    if missing:
        raise SeqocrError(f"{path}: checkpoint lacks {', '.join(missing)}")
    defaults = {"temperature": 1.0, "metrics": {}, "command": "", "seqocr": "unknown"}
    return {**defaults, **{k: v for k, v in data.items() if v is not None or k not in defaults}}


def read_payload(path: str | Path) -> dict[str, Any]:
    """The raw dictionary of a seqocr checkpoint file, read without unpickling objects."""
    path = Path(path)
    if not path.is_file():
        raise SeqocrError(f"{path}: no such checkpoint file")
    try:
        with warnings.catch_warnings():  # torch warns about legacy formats before failing: one line is ours
            warnings.simplefilter("ignore")
            data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        # torch's message advises weights_only=False, which would run whatever the file holds: never pass it on
        if "unsupported global" in str(error).lower():
            raise SeqocrError(f"{path}: not a safe seqocr checkpoint (it holds pickled Python objects)") from None
        raise SeqocrError(f"{path}: not a readable seqocr checkpoint (not a checkpoint file)") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise SeqocrError(f"{path}: not a readable seqocr checkpoint ({reason})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SeqocrError(f"{path}: not a seqocr checkpoint")
    return data


def write_payload(path: str | Path, payload: dict[str, Any]) -> None:
    """Write atomically: serialised in memory, written to a temporary file, renamed. A disk
    that fills up leaves the previous file as it was and no temporary file behind."""
    path = Path(path)
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "version": VERSION, **payload}, buffer)
    data = buffer.getvalue()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
    except OSError as error:  # the half-written file is gone: the free space reported is true
        free = shutil.disk_usage(path.parent).free if path.parent.is_dir() else 0
        raise CheckpointWriteError(
            f"{path.parent}: cannot write {path.name} ({error.strerror or error}; it needs "
            f"{len(data) / 1e6:.1f} MB, {free / 1e6:.1f} MB free)"
        ) from None


def cpu_state(state: Any) -> Any:
    """A state dict (or optimizer state, nested) with every tensor detached on the CPU."""
    if isinstance(state, Tensor):
        return state.detach().cpu()
    if isinstance(state, dict):
        return {key: cpu_state(value) for key, value in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(cpu_state(value) for value in state)
    return state
