"""`seqocr blend`: a fine-tuned model's weights moved back toward the model it started from."""

from dataclasses import replace

import pytest
import torch

from seqocr.charset import Charset
from seqocr.checkpoint import Checkpoint
from seqocr.cli import main
from seqocr.errors import SeqocrError
from seqocr.loading import load
from seqocr.train.averaging import blended


@pytest.fixture
def start_and_tuned(tiny_run, tmp_path):
    """The tiny run's model as the start, and a "fine-tuned" copy: every weight moved, its
    temperature refitted."""
    start = Checkpoint.load(tiny_run / "best.pt")
    weights = {k: v + 1.0 if v.is_floating_point() else v + 5 for k, v in start.weights.items()}
    tuned = replace(start, weights=weights, temperature=2.0, calibration={"images": 10}, metrics={"val_accuracy": 1})
    start, tuned = replace(start, temperature=1.0), tuned
    start.save(tmp_path / "start.pt")
    tuned.save(tmp_path / "tuned.pt")
    return start, tuned


def test_a_blend_is_the_weighted_mean_of_each_weight(start_and_tuned):
    start, tuned = start_and_tuned
    blend = blended(start, tuned, 0.25)
    for key, value in start.weights.items():
        if value.is_floating_point():
            assert torch.allclose(blend.weights[key], 0.75 * value + 0.25 * tuned.weights[key])
        else:  # BatchNorm's step counters are the fine-tuned model's
            assert torch.equal(blend.weights[key], tuned.weights[key])
    assert blend.temperature == pytest.approx(0.75 * 1.0 + 0.25 * 2.0)
    assert blend.calibration is None and blend.metrics == {}  # neither model's figures describe the blend


def test_the_ends_of_a_blend_are_the_two_models(start_and_tuned):
    start, tuned = start_and_tuned
    for weight, same_as in ((0.0, start), (1.0, tuned)):
        blend = blended(start, tuned, weight)
        floats = [k for k, v in start.weights.items() if v.is_floating_point()]
        assert all(torch.equal(blend.weights[k], same_as.weights[k]) for k in floats)


def test_only_models_of_one_network_and_charset_blend(start_and_tuned):
    start, tuned = start_and_tuned
    with pytest.raises(SeqocrError, match="^digits and mine differ in their charset: only a model fine-tuned"):
        blended(start, replace(tuned, charset=Charset("0123456789x")), 0.5, names=("digits", "mine"))
    key = next(k for k, v in start.weights.items() if v.ndim == 2)
    other = dict(tuned.weights, **{key: torch.zeros(3, 3)})
    with pytest.raises(SeqocrError, match=f"differ in the shape of {key}"):
        blended(start, replace(tuned, weights=other), 0.5)


def test_blend_command_writes_a_model_that_reads(start_and_tuned, tmp_path, capsys, test_digits):
    out = tmp_path / "blend.pt"
    argv = ["blend", str(tmp_path / "tuned.pt"), "--start", str(tmp_path / "start.pt"), "--weight", "0.5"]
    assert main([*argv, "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"wrote {out}: 0.5 of ") and "seqocr calibrate" in said
    written = Checkpoint.load(out)
    assert written.command.startswith("seqocr blend ") and written.resume == {}
    reading = load(out, locate="off").predict(test_digits.images[0])
    assert set(reading.text) <= set("0123456789") and 0.0 <= reading.confidence <= 1.0


def test_blend_refuses_a_weight_outside_the_blend_and_a_missing_model(start_and_tuned, tmp_path, capsys):
    tuned, out = str(tmp_path / "tuned.pt"), str(tmp_path / "b.pt")
    with pytest.raises(SystemExit):
        main(["blend", tuned, "--start", str(tmp_path / "start.pt"), "--weight", "1.5", "--out", out])
    assert "--weight: must be below 1, got 1.5" in capsys.readouterr().err
    assert main(["blend", tuned, "--start", str(tmp_path / "nope.pt"), "--weight", "0.5", "--out", out]) == 1
    assert "nope.pt: no such model" in capsys.readouterr().err
    assert not (tmp_path / "b.pt").exists()
