"""ONNX Runtime as a backend: the same (images, widths) -> (logits, lengths) contract
as the PyTorch network, so preprocessing and decoding are shared, not re-implemented."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from seqocr.errors import SeqocrError


class OnnxNetwork:
    def __init__(self, path: str | Path, threads: int = 0):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or (os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only
        # no busy-waiting between runs: spinning threads would take the cores from the
        # preprocessing that runs between batches in the same process
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # ORT raises its own exception types for unreadable files
            raise SeqocrError(f"{path}: not a loadable ONNX model ({str(error).splitlines()[0]})") from None
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)

    def __call__(self, images: Tensor, widths: Tensor) -> tuple[Tensor, Tensor]:
        logits, lengths = self.session.run(
            None,
            {"images": np.ascontiguousarray(images.numpy(), dtype=np.float32), "widths": widths.numpy()},
        )
        return torch.from_numpy(logits), torch.from_numpy(lengths)


def read_metadata(network: OnnxNetwork, path: str | Path) -> dict[str, Any]:
    """The charset and configs seqocr stored in an exported model."""
    meta = network.metadata
    missing = [k for k in ("seqocr_charset", "seqocr_preprocess", "seqocr_model") if k not in meta]
    if missing:
        raise SeqocrError(f"{path}: not exported by seqocr (metadata lacks {', '.join(missing)})")
    return {
        "charset": meta["seqocr_charset"],
        "preprocess": json.loads(meta["seqocr_preprocess"]),
        "model": json.loads(meta["seqocr_model"]),
        "info": json.loads(meta.get("seqocr_info", "{}")),
        "quantized": meta.get("seqocr_quantized"),
        "temperature": float(meta.get("seqocr_temperature", "1.0")),
    }
