"""Run a recognizer over a labelled folder and summarise how well it reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seqocr.config import DecodeConfig
from seqocr.data.folder import read_folder
from seqocr.errors import SeqocrError
from seqocr.evaluate.calibration import expected_calibration_error
from seqocr.evaluate.metrics import summarize
from seqocr.recognizer import Recognizer

MAX_FAILURES_LISTED = 50


def evaluate_folder(
    recognizer: Recognizer, data: str | Path, batch_size: int = 64, decoding: DecodeConfig | None = None
) -> dict[str, Any]:
    """Metrics over every readable image of a folder dataset; problems are listed, not hidden.

    Labels with characters the model cannot emit are kept (they count as errors) and
    reported; unreadable images are excluded and reported.
    """
    folder = read_folder(data)
    problems = list(folder.problems)
    truths, paths, predictions = [], [], []
    outcomes = recognizer.read([(path, str(path)) for path, _ in folder.samples], batch_size, decoding)
    for (path, text), outcome in zip(folder.samples, outcomes, strict=True):
        if isinstance(outcome, SeqocrError):
            problems.append(str(outcome))
            continue
        if unknown := recognizer.charset.unknown_chars(text):
            problems.append(f"{path}: label {text!r} has characters the model cannot read: {unknown!r}")
        truths.append(text)
        paths.append(path)
        predictions.append(outcome)
    if not predictions:
        raise SeqocrError(f"{data}: no readable images ({len(problems)} problems)")
    summary = summarize(truths, [p.text for p in predictions])
    confidences = [p.confidence for p in predictions]
    summary["ece"] = expected_calibration_error(
        confidences, [p.text == t for p, t in zip(predictions, truths, strict=True)]
    )
    summary["temperature"] = recognizer.temperature
    failures: list[dict[str, Any]] = [
        {"path": str(path), "truth": truth, "prediction": p.text, "confidence": p.confidence}
        for path, truth, p in zip(paths, truths, predictions, strict=True)
        if p.text != truth
    ]
    failures.sort(key=lambda f: -f["confidence"])  # confident mistakes first: the worst kind
    summary.update(
        data=str(data),
        model=recognizer.info.path,
        excluded=len(folder.samples) - len(truths),
        problems=problems,
        failures=failures[:MAX_FAILURES_LISTED],
    )
    return summary


def format_summary(summary: dict[str, Any]) -> str:
    lines = [
        f"images           {summary['count']}"
        + (f"  ({summary['excluded']} excluded, see problems)" if summary["excluded"] else ""),
        f"string accuracy  {100 * summary['accuracy']:.2f}%",
        f"character error  {100 * summary['cer']:.3f}%",
        f"calibration ECE  {100 * summary['ece']:.2f}% (temperature {summary['temperature']:.3f})",
        "",
        "length  count  accuracy     CER",
    ]
    for length, row in summary["by_length"].items():
        lines.append(f"{length:>6}  {row['count']:>5}  {100 * row['accuracy']:>7.2f}%  {100 * row['cer']:>6.3f}%")
    if summary["failures"]:
        lines += ["", "most confident mistakes (truth -> prediction, confidence):"]
        for f in summary["failures"][:5]:
            lines.append(f"  {f['truth']} -> {f['prediction'] or '(empty)'}  {f['confidence']:.3f}  {f['path']}")
    return "\n".join(lines)
