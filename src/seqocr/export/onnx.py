"""ONNX export with a gate: the file is kept only if ONNX Runtime agrees with PyTorch.

The graph holds the network only, with dynamic batch and width axes, and returns the
logits and each image's real number of time steps. Preprocessing and decoding stay in
seqocr (one implementation for both backends); the charset and configs travel in the
model's metadata, so an .onnx file loads on its own.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from seqocr.config import to_dict
from seqocr.data.transform import pad_batch, width_batches
from seqocr.decode import decode
from seqocr.errors import SeqocrError
from seqocr.files import atomic_path, output_folder, reason
from seqocr.models import RecognitionModel
from seqocr.recognizer import Recognizer

OPSET = 17
LOGIT_TOLERANCE = 1e-3  # max |logit difference| accepted between PyTorch and ONNX Runtime


class _WithLengths(nn.Module):
    """The network as exported: (images, widths) -> (logits, time steps)."""

    def __init__(self, model: RecognitionModel):
        super().__init__()
        self.model = model

    def forward(self, images: Tensor, widths: Tensor) -> tuple[Tensor, Tensor]:
        return self.model(images, widths), self.model.output_lengths(widths)


QUANTIZED_AGREEMENT = 0.99  # int8: share of real images that must read exactly as in PyTorch


@dataclass(frozen=True)
class ExportCheck:
    images: int
    max_logit_difference: float
    agreement: float  # share of images whose decoded string is identical

    @property
    def strings_identical(self) -> bool:
        return self.agreement == 1.0


def export_onnx(
    recognizer: Recognizer,
    out: str | Path,
    check_images: list[Tensor],
    real_images: list[Tensor] | None = None,
    quantize: bool = False,
) -> ExportCheck:
    """Write `recognizer`'s network to `out` only if ONNX Runtime agrees with PyTorch.

    Float export: on every check image (random strokes and `real_images`, preprocessed)
    the logits match within LOGIT_TOLERANCE and every decoded string is identical.
    `quantize` stores int8 weights (dynamic quantization), which moves the logits by
    design and flips the reading of noise images; it is checked on `real_images` only,
    at least QUANTIZED_AGREEMENT of which must read the same. On failure nothing is
    left at `out`."""
    real_images = real_images or []
    out = Path(out)
    network = recognizer.torch_network("export")
    if recognizer.device.type != "cpu":
        raise SeqocrError(
            f"export traces and checks on the CPU: load the model with device='cpu' ({recognizer.device})"
        )
    if recognizer.family != "ctc":
        raise SeqocrError(
            f"ONNX export covers CTC models (crnn); this {recognizer.model_config.arch!r} model "
            "runs with the torch backend"
        )
    if quantize and not real_images:
        raise SeqocrError("--quantize needs real images to check the int8 model on (give --check-data DIR)")
    if not check_images + real_images:
        raise SeqocrError("export needs at least one image to check the exported model against")
    metadata = {
        "seqocr_charset": recognizer.charset.chars,
        "seqocr_preprocess": json.dumps(to_dict(recognizer.preprocess)),
        "seqocr_model": json.dumps(to_dict(recognizer.model_config)),
        "seqocr_info": json.dumps({k: v for k, v in asdict(recognizer.info).items() if k != "path"}),
        "seqocr_temperature": repr(recognizer.temperature),
        "seqocr_label_length": json.dumps(recognizer.label_length),
    }
    output_folder(out.parent, "the exported model")
    try:
        with atomic_path(out) as tmp:
            return _write_checked(recognizer, network, tmp, metadata, quantize, check_images, real_images, out)
    except OSError as error:  # a full disk, a file-size limit
        raise SeqocrError(f"{out}: cannot write the exported model ({reason(error)}); nothing written") from None


def _write_checked(
    recognizer: Recognizer,
    network: RecognitionModel,
    tmp: Path,
    metadata: dict[str, str],
    quantize: bool,
    check_images: list[Tensor],
    real_images: list[Tensor],
    out: Path,
) -> ExportCheck:
    """The network traced into `tmp`, quantized if asked, and checked against PyTorch;
    an error (and so no file) when they disagree."""
    _trace(network, tmp, recognizer.preprocess.channels, recognizer.preprocess.height)
    _add_metadata(tmp, metadata)
    if quantize:
        _quantize(tmp)
        _add_metadata(tmp, {**metadata, "seqocr_quantized": "int8"})
        check = compare(recognizer, tmp, real_images)
        passed = check.agreement >= QUANTIZED_AGREEMENT
    else:
        check = compare(recognizer, tmp, check_images + real_images)
        passed = check.max_logit_difference <= LOGIT_TOLERANCE and check.strings_identical
    if not passed:
        raise SeqocrError(
            f"{out}: exported model disagrees with PyTorch on {check.images} check images "
            f"(max logit difference {check.max_logit_difference:.2e}, "
            f"{100 * check.agreement:.1f}% read identically); nothing written"
        )
    return check


def _trace(model: RecognitionModel, path: Path, channels: int, height: int) -> None:
    # the wrapper must be in eval mode too: the exporter restores the wrapper's mode
    # afterwards, recursively, which would otherwise leave `model` training
    wrapper = _WithLengths(model).eval()
    images = torch.rand(2, channels, height, 96)
    widths = torch.tensor([96, 57])
    with torch.no_grad(), warnings.catch_warnings(), _native_stderr_dropped():
        warnings.simplefilter("ignore")  # tracer notes about shapes, covered by the check
        torch.onnx.export(
            wrapper,
            (images, widths),
            str(path),
            input_names=["images", "widths"],
            output_names=["logits", "lengths"],
            dynamic_axes={
                "images": {0: "batch", 3: "width"},
                "widths": {0: "batch"},
                "logits": {0: "batch", 1: "time"},
                "lengths": {0: "batch"},
            },
            opset_version=OPSET,
            dynamo=False,
        )


@contextmanager
def _native_stderr_dropped() -> Iterator[None]:
    """Drop what torch's C++ side writes to stderr meanwhile: the exporter notes that it
    cannot infer the shapes of a BiLSTM's packed sequences ("prim::PackPadded"), which
    the check on real and random images covers. Python errors still raise as usual."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as sink:
            os.dup2(sink.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _quantize(path: Path) -> None:
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantizer logs advice to the root logger
    try:
        quantize_dynamic(str(path), str(path), weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)


def _add_metadata(path: Path, metadata: dict[str, str]) -> None:
    import onnx

    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))


def compare(recognizer: Recognizer, onnx_path: Path, images: list[Tensor], batch_size: int = 16) -> ExportCheck:
    """Run both backends on the same padded batches; compare logits and decoded strings."""
    from seqocr.export.runtime import OnnxNetwork

    network = OnnxNetwork(onnx_path)
    worst, same = 0.0, 0
    model = recognizer.torch_network("the export check")
    for chunk in width_batches([image.shape[-1] for image in images], batch_size):
        batch, widths = pad_batch([images[i] for i in chunk])
        with torch.inference_mode():
            expected = model(batch, widths)
            lengths = model.output_lengths(widths)
        logits, onnx_lengths = network(batch, widths)
        if not torch.equal(lengths, onnx_lengths):
            return ExportCheck(len(images), float("inf"), 0.0)
        for i, length in enumerate(lengths.tolist()):
            worst = max(worst, float((expected[i, :length] - logits[i, :length]).abs().max()))
        texts = [d.text for d in decode(expected, lengths, recognizer.charset)]
        onnx_texts = [d.text for d in decode(logits, onnx_lengths, recognizer.charset)]
        same += sum(a == b for a, b in zip(texts, onnx_texts, strict=True))
    return ExportCheck(len(images), worst, same / max(len(images), 1))


def random_check_images(channels: int, height: int, count: int = 24, seed: int = 0) -> list[Tensor]:
    """Images of many widths with random strokes: a numerical check needing no dataset."""
    rng = np.random.default_rng(seed)
    images = []
    for i in range(count):
        width = int(rng.integers(16, 400))
        pixels = (rng.random((channels, height, width)) ** (1 + i % 4)).astype(np.float32)
        images.append(torch.from_numpy(pixels))
    return images
