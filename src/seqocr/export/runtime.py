"""ONNX Runtime as a backend: the same (images, widths) -> (logits, lengths) contract
as the PyTorch network, so preprocessing and decoding are shared, not re-implemented."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from seqocr.charset import Charset
from seqocr.checkpoint import valid_label_length
from seqocr.config import ModelConfig, PreprocessConfig, from_dict
from seqocr.errors import SeqocrError
from seqocr.machine import usable_cores
from seqocr.recognizer import ModelInfo, Recognizer


def load_onnx(path: str | Path, threads: int = 0) -> Recognizer:
    """An exported model (.onnx written by `seqocr export`) as a Recognizer on ONNX Runtime."""
    network = OnnxNetwork(path, threads)
    meta = read_metadata(network, path)
    info = ModelInfo.from_metadata(meta["info"], path=str(path), quantized=meta["quantized"])
    return Recognizer(
        None,
        Charset(meta["charset"]),
        from_dict(PreprocessConfig, meta["preprocess"]),
        from_dict(ModelConfig, meta["model"]),
        info,
        network=network,
        temperature=meta["temperature"],
        label_length=meta["label_length"],
    )


class OnnxNetwork:
    """An exported network under ONNX Runtime, with two sessions of the same graph: one
    with `threads` (0: every core) for large batches, one with a single thread for
    batches under SMALL_BATCH images: waking a second thread costs a few images more than
    it saves (docs/results.md, "One thread for small batches")."""

    SMALL_BATCH = 32

    def __init__(self, path: str | Path, threads: int = 0):
        threads = threads or usable_cores()
        self.session = _session(path, threads)
        self.small_batch_session = self.session if threads == 1 else _session(path, 1)
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)

    def __call__(self, images: Tensor, widths: Tensor) -> tuple[Tensor, Tensor]:
        session = self.small_batch_session if images.shape[0] < self.SMALL_BATCH else self.session
        logits, lengths = session.run(
            None,
            {"images": np.ascontiguousarray(images.numpy(), dtype=np.float32), "widths": widths.numpy()},
        )
        return torch.from_numpy(logits), torch.from_numpy(lengths)


def _session(path: str | Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    # no busy-waiting between runs: spinning threads take the cores from the Python work
    # (preprocessing, decoding) between runs (docs/results.md, Speed)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # ORT raises its own exception types for unreadable files
        raise SeqocrError(f"{path}: not a loadable ONNX model ({str(error).splitlines()[0]})") from None


def read_metadata(network: OnnxNetwork, path: str | Path) -> dict[str, Any]:
    """The charset and configs seqocr stored in an exported model."""
    meta = network.metadata
    missing = [k for k in ("seqocr_charset", "seqocr_preprocess", "seqocr_model") if k not in meta]
    if missing:
        raise SeqocrError(f"{path}: not exported by seqocr (metadata lacks {', '.join(missing)})")
    try:
        values = {
            "charset": meta["seqocr_charset"],
            "preprocess": json.loads(meta["seqocr_preprocess"]),
            "model": json.loads(meta["seqocr_model"]),
            "info": json.loads(meta.get("seqocr_info", "{}")),
            "quantized": meta.get("seqocr_quantized"),
            "temperature": float(meta.get("seqocr_temperature", "1.0")),
            "label_length": json.loads(meta.get("seqocr_label_length", "null")),
        }
    except ValueError as error:
        raise SeqocrError(f"{path}: seqocr metadata unreadable ({error})") from None
    if not valid_label_length(values["label_length"]):
        raise SeqocrError(f"{path}: seqocr metadata unreadable (label length {values['label_length']!r})")
    return values
