"""Calibration metrics on hand-computed cases, and calibrated confidence end to end."""

import json

import pytest
import torch

from seqocr.charset import Charset
from seqocr.cli import main
from seqocr.decode.ctc import scored
from seqocr.evaluate.calibration import (
    coverage_curve,
    expected_calibration_error,
    fit_temperature,
    threshold_for_error,
)
from seqocr.loading import load


def test_ece_by_hand():
    # bin [0.8, 0.867): confidences 0.8, 0.8 with 1 of 2 right -> |0.5 - 0.8| = 0.3, weight 2/4
    # bin [0.933, 1]: confidences 1.0, 1.0, both right -> 0, weight 2/4
    assert expected_calibration_error([0.8, 0.8, 1.0, 1.0], [True, False, True, True]) == pytest.approx(0.15)
    assert expected_calibration_error([0.7] * 10, [True] * 7 + [False] * 3) == pytest.approx(0.0)


def test_coverage_accepts_the_most_confident_first():
    points = coverage_curve([0.9, 0.8, 0.7, 0.6], [True, True, False, True])
    assert [(p.threshold, p.coverage, p.error) for p in points] == [
        (0.9, 0.25, 0.0),
        (0.8, 0.5, 0.0),
        (0.7, 0.75, pytest.approx(1 / 3)),
        (0.6, 1.0, 0.25),
    ]
    best = threshold_for_error(points, 0.0)
    assert best is not None and best.threshold == 0.8 and best.coverage == 0.5
    assert threshold_for_error(points, -1.0) is None


def test_temperature_scaling_fixes_an_overconfident_model():
    # one frame per image, one class right with probability 0.75 but logits saying ~0.98
    logits = torch.zeros(400, 1, 3)
    logits[:, 0, 1] = 4.0  # softmax: 0.964 on class 1
    reading = scored(logits, torch.ones(400, dtype=torch.long), Charset("ab"))
    assert reading.answers == ["a"] * 400
    correct = [i % 4 != 0 for i in range(400)]  # 75% right
    t = fit_temperature(reading.confidence_at, correct)
    assert t > 1.5  # softened
    after = reading.confidence_at(t)
    assert (
        expected_calibration_error(after, correct)
        < 0.03
        < expected_calibration_error(reading.confidence_at(1.0), correct)
    )


def test_calibrate_then_eval_reports_ece_and_predict_rejects(tmp_path, synth_folder, capsys):
    out = tmp_path / "calibrated.pt"
    assert main(["calibrate", "digits", "--data", str(synth_folder), "--out", str(out)]) == 0
    assert "temperature" in capsys.readouterr().out
    report = tmp_path / "eval.json"
    assert main(["eval", "--model", str(out), "--data", str(synth_folder), "--json", str(report)]) == 0
    summary = json.loads(report.read_text())
    assert summary["temperature"] == load(out).temperature != load("digits").temperature
    assert summary["ece"] < 0.2  # fitted on these very images: far below an uncalibrated model's worst
    capsys.readouterr()
    image = str(next(synth_folder.glob("*.png")))
    assert main(["predict", "--model", str(out), "--json", "--reject-below", "1.01", image]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["rejected"] is True and row["confidence"] == round(load(out).predict(image).confidence, 6)


def test_a_fitted_temperature_counts_as_fitted_even_when_it_comes_out_at_one(tmp_path):
    from dataclasses import replace

    from seqocr.checkpoint import Checkpoint
    from seqocr.pretrained import resolve_model

    bundled = Checkpoint.load(resolve_model("digits"))
    replace(bundled, temperature=1.0, calibration={"temperature": 1.0, "images": 3000}).save(tmp_path / "fitted.pt")
    replace(bundled, temperature=1.0, calibration=None).save(tmp_path / "unfitted.pt")
    assert load(tmp_path / "fitted.pt").info.calibrated  # the report then says "with the fitted temperature"
    assert not load(tmp_path / "unfitted.pt").info.calibrated
