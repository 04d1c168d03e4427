"""A run's training curves (loss, validation accuracy, learning rate) as one PNG: the
run folder's `curves.png` and the report's figure."""

from __future__ import annotations

import io
from typing import Any


def curves_png(rows: list[dict[str, Any]]) -> bytes:
    """Rows of a run's metrics.jsonl -> a three-panel PNG."""
    from matplotlib.figure import Figure  # no pyplot: no global figure state, no GUI backend

    fig = Figure(figsize=(12, 3.6))
    # Fixed margins: tight_layout measures every label again at every plot, and a run
    # draws one at every epoch.
    fig.subplots_adjust(left=0.065, right=0.99, bottom=0.15, top=0.91, wspace=0.33)
    epochs = [r["epoch"] for r in rows]
    validated = [r for r in rows if r["val_accuracy"] is not None]
    val_epochs = [r["epoch"] for r in validated]
    ax = fig.add_subplot(1, 3, 1)
    ax.plot(epochs, [r["train_loss"] for r in rows], "o-", label="train")
    if validated and all(r.get("val_loss") is not None for r in validated):
        ax.plot(val_epochs, [r["val_loss"] for r in validated], "o-", label="validation")
    ax.set(xlabel="epoch", ylabel="loss per character", yscale="log", title="loss")
    ax.legend()
    ax = fig.add_subplot(1, 3, 2)
    boxes = bool(validated) and "val_recall" in validated[0]  # a locator's run: boxes found, not strings read
    first = "box F1" if boxes else "string accuracy"
    ax.plot(val_epochs, [100 * r["val_accuracy"] for r in validated], "o-", label=first)
    second = ("val_recall", "box recall") if boxes else ("val_cer", "1 - CER")
    values = [r[second[0]] if boxes else 1 - r[second[0]] for r in validated]
    ax.plot(val_epochs, [100 * v for v in values], "o-", label=second[1])
    ax.set(xlabel="epoch", ylabel="%", title="validation")
    ax.legend()
    ax = fig.add_subplot(1, 3, 3)
    ax.plot(epochs, [r["lr"] for r in rows], "o-")
    ax.set(xlabel="epoch", ylabel="learning rate (end of epoch)", title="learning rate")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()
