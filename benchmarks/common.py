"""Helpers shared by the benchmark scripts: machine description and JSON output."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
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


def invocation() -> str:
    """The benchmark command as it was typed, for the results it writes."""
    return "python " + " ".join(sys.argv)


def write_results(name: str, results: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"command": invocation(), "machine": describe_machine(), **results}
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def start_seqocr_server(
    arguments: list[str], probe: str = "/healthz", seconds: float = 90
) -> tuple[str, subprocess.Popen]:
    """`seqocr ARGUMENTS --port P` on a free loopback port, once `probe` answers 200:
    (its URL, the process). Exits with one line if it stops or takes longer than `seconds`."""
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "seqocr", *arguments, "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)  # its errors, if any, on our stderr
    deadline = time.monotonic() + seconds
    while server.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}{probe}", timeout=1).status_code == 200:
                return url, server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit(f"seqocr {arguments[0]} at {url} did not start")
