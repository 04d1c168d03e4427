"""`seqocr report`: one self-contained HTML page (and the same as Markdown) on a model.

It reads a labelled folder (or, for a digit model, fresh strings of MNIST test digits),
then shows the run's configuration and curves, headline metrics with intervals, where
errors are, confusions, the worst failures with where each character was read, the
calibration of the confidence, and findings computed from all of it (analysis.py).
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.patches import Rectangle

from seqocr.charset import DIGITS
from seqocr.data.cell_suite import cell_suite
from seqocr.data.images import ImageInput, as_pil
from seqocr.data.mnist import load_split
from seqocr.data.suites import folder_or_suites
from seqocr.errors import SeqocrError
from seqocr.evaluate.analysis import MISSING, Confusion, CoveragePoint, Group, Position, analyse, insights
from seqocr.evaluate.calibration import expected_calibration_error, reliability
from seqocr.evaluate.curves import curves_png
from seqocr.evaluate.metrics import summarize
from seqocr.files import output_folder, write_whole
from seqocr.machine import describe_machine
from seqocr.recognizer import Recognizer, image_name, raise_first
from seqocr.run_folder import RunFolder

FAILURES_SHOWN = 12
LOCATED_SHOWN = 9
SUITE_STRINGS = 500  # strings of each test suite when no data is given
REPORT_SUITES = ("notebook_1_5", "default_1_10", "touching_1_10", "document_1_10")
CELLS = 200  # images of the cells suite (data/cell_suite.py) when the model locates


def report_data(recognizer: Recognizer, data: Path | None) -> tuple[list[ImageInput], list[str], str, list[str] | None]:
    """(images, truths, description, each image's test suite or None): a labelled folder,
    else the first strings of each MNIST-test suite (data/suites.py; single MNIST test
    digits for a classifier)."""
    if data is not None:
        folder = folder_or_suites(data, (), 0)
        return folder.images, folder.texts, folder.description, None
    if not set(recognizer.charset.chars) <= set(DIGITS.chars):
        raise SeqocrError("this model does not read digits: give --data DIR (a labelled folder) to report on")
    if recognizer.family == "classifier":
        digits = load_split("test")
        single: list[ImageInput] = list(digits.images)
        return single, [str(int(label)) for label in digits.labels], "the 10,000 MNIST test digits", None
    strings = folder_or_suites(None, REPORT_SUITES, SUITE_STRINGS)
    images, texts, sources = strings.images, strings.texts, strings.sources
    description = strings.description
    if recognizer.locate != "off":  # the number where it stands: cells, fields, photos
        cells = cell_suite(load_split("test"), CELLS)
        images, texts = images + [image for image, _, _ in cells], texts + [text for _, text, _ in cells]
        sources = sources + ["cells"] * len(cells)
        description += f", and {CELLS} of the cells suite"
    return images, texts, description, sources


def build_report(recognizer: Recognizer, model: str | Path, data: Path | None, out: Path) -> dict[str, Any]:
    """Write `out` (.html) and its Markdown twin (.md, figures in `<stem>_files/`) on
    `recognizer` (loaded from `model`: a run folder adds its curves)."""
    run = Path(model) if Path(model).is_dir() else None
    images, truths, description, suites = report_data(recognizer, data)
    named = [(image, image_name(image, i)) for i, image in enumerate(images)]
    predictions = raise_first(recognizer.read(named))
    texts = [p.text for p in predictions]
    by_suite = {}
    for name in dict.fromkeys(suites or []):
        picked = [i for i, s in enumerate(suites or []) if s == name]
        by_suite[name] = summarize([truths[i] for i in picked], [texts[i] for i in picked])
    confidences = [p.confidence for p in predictions]
    # temperature 1: the confidences before calibration
    raw_conf = [p.confidence for p in raise_first(recognizer.uncalibrated().read(named))]
    correct = [t == p for t, p in zip(truths, texts, strict=True)]
    ece_before = expected_calibration_error(raw_conf, correct)
    a = analyse(truths, texts, confidences)
    calibrated = recognizer.info.calibrated or recognizer.temperature != 1.0
    found = insights(a, ece_before if calibrated else None)
    figures = {
        "curves": curves_png(rows) if run and (rows := RunFolder(run).read_metrics()) else None,
        "lengths": _bars(a["by_length"], "string length", "whole-string accuracy (%)"),
        "positions": _bars(a["by_position"], "position in the string", "character accuracy (%)"),
        "confusions": _confusion_matrix(a["confusions"], recognizer.charset.chars),
        "reliability": _reliability(raw_conf, confidences, correct, recognizer.temperature),
        "coverage": _coverage(a["coverage"]),
        "failures": _failures(images, truths, predictions),
        "located": _located(images, truths, predictions, suites),
    }
    context = {
        "model": str(model),
        "data": description,
        "parameters": recognizer.parameter_count,
        "temperature": recognizer.temperature,
        "ece_before": ece_before,
        "machine": describe_machine(),
        "run": _run_summary(run),
        "command": recognizer.info.command,
        "analysis": a,
        "insights": found,
        "suites": by_suite,
    }
    files = output_folder(out.parent / f"{out.stem}_files", "the report's figures")
    for name, png in figures.items():
        if png is not None:
            write_whole(files / f"{name}.png", png, "a report figure")
    write_whole(out.with_suffix(".md"), _markdown(context, figures, files.name), "the report")
    write_whole(out.with_suffix(".json"), json.dumps(context, indent=2, default=str) + "\n", "the report")
    write_whole(out, _html(context, figures), "the report")
    return context


def _run_summary(run: Path | None) -> dict[str, Any] | None:
    if run is None or not (run / "metrics.jsonl").is_file():
        return None
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    config = json.loads((run / "config.json").read_text())
    train = config["train"]
    if config.get("data", {}).get("path"):
        data = f"labelled folder {config['data']['path']}"
    else:
        data = f"{train['samples_per_epoch']:,} fresh synthetic strings per epoch, {train['val_samples']:,} validation"
    return {
        "config": config,
        "epochs": len(rows),
        "training_minutes": rows[-1]["elapsed_s"] / 60 if rows else 0.0,
        "best_val_accuracy": max((r["val_accuracy"] or 0.0) for r in rows) if rows else None,
        "data": data,
        "rows": rows,
    }


# --- figures (PNG bytes) ---------------------------------------------------------------


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt, plt.figure(figsize=(width, height))


def _png(plt: Any, fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()


def _bars(groups: Mapping[int, Group | Position], xlabel: str, ylabel: str) -> bytes:
    plt, fig = _figure(6, 3.2)
    ax = fig.add_subplot(1, 1, 1)
    keys = list(groups)
    values = [100 * (groups[k]["accuracy"] or 0.0) for k in keys]
    ax.bar([str(k) for k in keys], values, color="#4477aa")
    low = min(values) if values else 0
    ax.set(xlabel=xlabel, ylabel=ylabel, ylim=(max(0, low - 2), 100.2))
    return _png(plt, fig)


def _confusion_matrix(confusions: list[Confusion], chars: str) -> bytes:
    labels = list(chars) + [MISSING]
    index = {c: i for i, c in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)))
    for c in confusions:
        matrix[index.get(c["truth"], -1), index.get(c["predicted"], -1)] += c["count"]
    plt, fig = _figure(6, 5.2)
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(matrix, cmap="Reds")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set(xlabel="read as", ylabel="truth", title="character errors (∅: dropped / inserted)")
    for i, j in zip(*np.nonzero(matrix), strict=True):
        ax.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=7)
    fig.colorbar(image, ax=ax, shrink=0.8)
    return _png(plt, fig)


def _reliability(raw: list[float], calibrated: list[float], correct: list[bool], temperature: float) -> bytes:
    plt, fig = _figure(5.2, 4.2)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot([0, 1], [0, 1], "--", color="gray", label="perfect calibration")
    for values, label in ((raw, "temperature 1"), (calibrated, f"temperature {temperature:.2f}")):
        bins = reliability(values, correct)
        ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o-", label=label)
    ax.set(xlabel="confidence", ylabel="accuracy", title="reliability", xlim=(0, 1), ylim=(0, 1.02))
    ax.legend()
    return _png(plt, fig)


def _coverage(points: list[CoveragePoint]) -> bytes:
    plt, fig = _figure(5.2, 4.2)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot([100 * p["coverage"] for p in points], [100 * p["error"] for p in points])
    ax.axhline(0.1, color="gray", linestyle="--", label="0.1% error")
    ax.set(xlabel="answers accepted (%)", ylabel="error among accepted (%)", title="accuracy vs coverage")
    ax.legend()
    return _png(plt, fig)


def _tiles(count: int, row_height: float, columns: int = 3) -> tuple[Any, Any, list[Any]]:
    """A figure of `count` image tiles, `columns` a row: (pyplot, figure, each tile's axes)."""
    rows = -(-count // columns)
    plt, fig = _figure(12, row_height * rows)
    return plt, fig, [fig.add_subplot(rows, columns, k + 1) for k in range(count)]


def _failures(images: list[ImageInput], truths: list[str], predictions: list[Any]) -> bytes | None:
    wrong = [i for i, (t, p) in enumerate(zip(truths, predictions, strict=True)) if t != p.text]
    wrong.sort(key=lambda i: -predictions[i].confidence)  # confident mistakes are the worst
    shown = wrong[:FAILURES_SHOWN]
    if not shown:
        return None
    plt, fig, axes = _tiles(len(shown), row_height=1.9)
    for ax, i in zip(axes, shown, strict=True):
        pil = as_pil(images[i], f"image {i}")
        ax.imshow(np.asarray(pil.convert("L")), cmap="gray")
        p = predictions[i]
        if p.box is not None:  # where the string was found
            x0, y0, x1, y1 = p.box
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="red", linewidth=1))
        for char, x in zip(p.text, p.char_x, strict=False):  # where each character was read
            ax.axvline(x, color="red", alpha=0.6, linewidth=1)
            ax.text(x, -2, char, color="red", ha="center", va="bottom", fontsize=9)
        ax.set_title(f"{truths[i]} → {p.text or '(empty)'}  ({p.confidence:.2f})", fontsize=9, pad=12)
        ax.set_axis_off()
    return _png(plt, fig)


def _located(
    images: list[ImageInput], truths: list[str], predictions: list[Any], suites: list[str] | None
) -> bytes | None:
    """The first cells of the cells suite, each with the box found and what was read in it."""
    from seqocr.evaluate.boxes import draw_readings

    shown = [i for i, s in enumerate(suites or []) if s == "cells"][:LOCATED_SHOWN]
    if not shown:
        return None
    plt, fig, axes = _tiles(len(shown), row_height=2.6)
    for ax, i in zip(axes, shown, strict=True):
        ax.imshow(np.asarray(draw_readings(as_pil(images[i], f"image {i}"), [predictions[i]])))
        ax.set_title(f"truth {truths[i]}", fontsize=9)
        ax.set_axis_off()
    return _png(plt, fig)


# --- documents --------------------------------------------------------------------------


def _tables(context: dict[str, Any]) -> dict[str, list[list[str]]]:
    a = context["analysis"]

    def pct(value: float | None) -> str:
        return "–" if value is None else f"{100 * value:.2f}%"

    headline = [
        ["string accuracy", f"{pct(a['accuracy'])} (95% CI {pct(a['accuracy_95ci'][0])}–{pct(a['accuracy_95ci'][1])})"],
        ["character error rate", f"{pct(a['cer'])} (95% CI {pct(a['cer_95ci'][0])}–{pct(a['cer_95ci'][1])})"],
        ["images / characters", f"{a['count']:,} / {a['characters']:,}"],
        ["ECE", f"{pct(a['ece'])} (temperature {context['temperature']:.3f}; {pct(context['ece_before'])} at 1)"],
    ]
    lengths = [[str(k), str(g["count"]), pct(g["accuracy"]), pct(g["cer"])] for k, g in a["by_length"].items()]
    positions = [[str(k), str(g["count"]), pct(g["accuracy"])] for k, g in a["by_position"].items()]
    repeats = [
        [name, str(g["count"]), pct(g["accuracy"]), pct(g["cer"])]
        for name, g in (("with an adjacent repeat", a["repeats"]["with"]), ("without", a["repeats"]["without"]))
    ]
    confusions = [[c["truth"], c["predicted"], str(c["count"])] for c in a["confusions"][:12]]
    setup = [
        ["model", context["model"]],
        ["evaluated on", context["data"]],
        ["parameters", f"{context['parameters']:,}" if context["parameters"] else "–"],
        [
            "machine",
            f"{context['machine']['cpu']}, {context['machine']['cores']} cores, torch {context['machine']['torch']}",
        ],
        ["training command", context["command"] or "–"],
    ]
    run = context["run"]
    if run:
        setup += [
            ["training data", run["data"]],
            ["training time", f"{run['training_minutes']:.1f} min, {run['epochs']} epochs"],
            ["model config", json.dumps(run["config"]["model"])],
            ["preprocessing", json.dumps(run["config"]["preprocess"])],
        ]
    suites = [
        [name, str(s["count"]), pct(s["accuracy"]), pct(s["cer"])] for name, s in context.get("suites", {}).items()
    ]
    return {
        "Setup": setup,
        "Headline": headline,
        **({"By test suite": [["suite", "strings", "accuracy", "CER"], *suites]} if suites else {}),
        "By length": [["length", "strings", "accuracy", "CER"], *lengths],
        "By position": [["position", "characters", "accuracy"], *positions],
        "Repeated adjacent characters": [["strings", "count", "accuracy", "CER"], *repeats],
        "Most frequent confusions": [["truth", "read as", "count"], *confusions],
    }


SECTIONS = [
    ("Training curves", "curves"),
    ("Accuracy by length", "lengths"),
    ("Accuracy by position", "positions"),
    ("Confusion matrix", "confusions"),
    ("Worst failures (most confident first; red: the string's box and where each character was read)", "failures"),
    ("Strings located in cells (box found and what was read in it)", "located"),
    ("Reliability", "reliability"),
    ("Accuracy vs coverage", "coverage"),
]


def _html(context: dict[str, Any], figures: dict[str, bytes | None]) -> str:
    esc = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>seqocr report</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2rem auto;color:#222}"
        "table{border-collapse:collapse;margin:0.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:3px 8px;"
        "text-align:left}img{max-width:100%}li{margin:0.3rem 0}</style></head><body>",
        f"<h1>seqocr report: {esc(context['model'])}</h1>",
        "<h2>Insights</h2><ul>" + "".join(f"<li>{esc(i)}</li>" for i in context["insights"]) + "</ul>",
    ]
    for title, rows in _tables(context).items():
        parts.append(f"<h2>{esc(title)}</h2><table>")
        parts += ["<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in row) + "</tr>" for row in rows]
        parts.append("</table>")
    for title, name in SECTIONS:
        png = figures.get(name)
        if png is not None:
            data = base64.b64encode(png).decode()
            parts.append(f"<h2>{esc(title)}</h2><img alt='{esc(name)}' src='data:image/png;base64,{data}'>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _markdown(context: dict[str, Any], figures: dict[str, bytes | None], files: str) -> str:
    lines = [f"# seqocr report: {context['model']}", "", "## Insights", ""]
    lines += [f"- {i}" for i in context["insights"]]
    for title, rows in _tables(context).items():
        lines += ["", f"## {title}", ""]
        header = rows[0] if title not in ("Setup", "Headline") else ["", ""]
        body = rows[1:] if title not in ("Setup", "Headline") else rows
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in body]
    for title, name in SECTIONS:
        if figures.get(name) is not None:
            lines += ["", f"## {title}", "", f"![{name}]({files}/{name}.png)"]
    return "\n".join(lines) + "\n"
