"""A run folder: config.json, metrics.jsonl, curves.png, the checkpoints and excluded.tsv."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from seqocr.config import RunConfig, from_dict, to_dict
from seqocr.errors import SeqocrError


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
        _write_atomic(self.config_path, json.dumps(to_dict(config), indent=2) + "\n")
        self.metrics_path.write_text("")

    def refuse_existing(self) -> None:
        """A folder that holds a run is never overwritten; one whose run never saved a
        checkpoint (it stopped in its first epoch, or its disk was full) may start afresh."""
        if self.config_path.exists() and (self.last.exists() or self.best.exists()):
            raise SeqocrError(f"{self.root}: already holds a run; use --resume or choose another --out")

    def write_excluded(self, rows: list[tuple[str, str]]) -> None:
        """Every sample left out of training (where, reason): nothing is dropped silently."""
        lines = ["where\treason"] + [f"{where}\t{reason}".replace("\n", " ") for where, reason in rows]
        _write_atomic(self.excluded_path, "\n".join(lines) + "\n")

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
        _write_atomic(self.metrics_path, "".join(json.dumps(r) + "\n" for r in rows))

    def plot(self) -> None:
        rows = self.read_metrics()
        if not rows:
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        epochs = [r["epoch"] for r in rows]
        fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
        ax_loss.plot(epochs, [r["train_loss"] for r in rows], "o-", label="train")
        validated = [r for r in rows if r["val_accuracy"] is not None]
        if validated:
            ax_loss.plot([r["epoch"] for r in validated], [r["val_loss"] for r in validated], "o-", label="validation")
        ax_loss.set(xlabel="epoch", ylabel="CTC loss", yscale="log", title="loss")
        ax_loss.legend()
        val_epochs = [r["epoch"] for r in validated]
        ax_acc.plot(val_epochs, [100 * r["val_accuracy"] for r in validated], "o-", label="string accuracy")
        ax_acc.plot(val_epochs, [100 * (1 - r["val_cer"]) for r in validated], "o-", label="1 - CER")
        ax_acc.set(xlabel="epoch", ylabel="%", title="validation")
        ax_acc.legend()
        fig.tight_layout()
        tmp = self.plot_path.with_suffix(".tmp.png")
        try:
            fig.savefig(tmp, dpi=90)
            os.replace(tmp, self.plot_path)
        finally:
            plt.close(fig)
            tmp.unlink(missing_ok=True)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
