"""A run folder: config.json, metrics.jsonl, curves.png, the checkpoints and excluded.tsv."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from seqocr.config import RunConfig, from_dict, to_dict
from seqocr.errors import SeqocrError
from seqocr.files import write_atomic


class RunFolder:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.config_path = self.root / "config.json"
        self.metrics_path = self.root / "metrics.jsonl"
        self.plot_path = self.root / "curves.png"
        self.best = self.root / "best.pt"
        self.last = self.root / "last.pt"
        self.excluded_path = self.root / "excluded.tsv"

    def create(self, config: RunConfig) -> None:
        """Start a new run; refuses to overwrite an existing one."""
        self.refuse_existing()
        self.root.mkdir(parents=True, exist_ok=True)
        self.write_config(config)
        self.metrics_path.write_text("")

    def write_config(self, config: RunConfig) -> None:
        write_atomic(self.config_path, json.dumps(to_dict(config), indent=2) + "\n")

    def refuse_existing(self) -> None:
        """A folder that holds a run it can resume (its `last.pt`) is never overwritten; one
        whose run never saved `last.pt` (it stopped in its first epoch, or its disk filled
        up between `best.pt` and `last.pt`) cannot resume and may start afresh."""
        if self.config_path.exists() and self.last.exists():
            raise SeqocrError(f"{self.root}: already holds a run; use --resume or choose another --out")

    def write_excluded(self, rows: list[tuple[str, str]]) -> None:
        """Every sample left out of training (where, reason): nothing is dropped silently."""
        lines = ["where\treason"] + [f"{where}\t{reason}".replace("\n", " ") for where, reason in rows]
        write_atomic(self.excluded_path, "\n".join(lines) + "\n")

    def read_config(self) -> RunConfig:
        try:
            return from_dict(RunConfig, json.loads(self.config_path.read_text()))
        except FileNotFoundError:
            raise SeqocrError(f"{self.root}: no run to resume (config.json missing)") from None
        except (ValueError, TypeError) as error:
            raise SeqocrError(f"{self.config_path}: unreadable run config ({error})") from None

    def append_metrics(self, row: dict[str, Any]) -> None:
        with self.metrics_path.open("a") as f:
            f.write(json.dumps(row) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        if not self.metrics_path.exists():
            return []
        return [json.loads(line) for line in self.metrics_path.read_text().splitlines() if line.strip()]

    def keep_metrics_until(self, epoch: int) -> None:
        """On resume, drop rows of epochs after the last saved checkpoint."""
        rows = [r for r in self.read_metrics() if r["epoch"] <= epoch]
        write_atomic(self.metrics_path, "".join(json.dumps(r) + "\n" for r in rows))

    def write_plot(self, png: bytes) -> None:
        """curves.png (evaluate/curves.py draws it from the metrics)."""
        write_atomic(self.plot_path, png)
