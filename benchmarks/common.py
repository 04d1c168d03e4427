"""Helpers shared by the benchmark scripts: machine description and JSON output."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from seqocr.machine import describe_machine

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
SHARED_DATA = ROOT.parent / "shared" / "data"

if "SEQOCR_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
    os.environ["SEQOCR_DATA_DIR"] = str(SHARED_DATA)


def tagged(name: str, tag: str) -> str:
    """A results file's name: NAME, or NAME-TAG for a run told apart by --tag."""
    return f"{name}-{tag}" if tag else name


def write_results(name: str, results: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"command": "python " + " ".join(sys.argv), "machine": describe_machine(), **results}
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path
