"""Outputs that cannot be written end in one line naming the path and the reason, a
non-zero exit, and nothing half-written that looks whole."""

import resource
import subprocess
import sys
import warnings

import numpy as np
import pytest

from seqocr.cli import main

pytestmark = pytest.mark.heavy


@pytest.fixture(scope="module")
def a_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("outputs") / "plain.txt"
    path.write_text("not a folder")
    return path


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and err.count("\n") == 0, err
    return err


def test_answers_to_a_full_device_are_one_line(synth_folder, capsys):
    assert main(["predict", "--out", "/dev/full", str(synth_folder)]) == 1
    err = one_error_line(capsys)
    assert err.startswith("seqocr: error: /dev/full: cannot write the answers (No space left on device)")


@pytest.mark.parametrize(
    "command",
    [
        ["eval", "--data", "{data}", "--json", "{file}/metrics.json"],
        ["data", "synth", "-n", "2", "--out", "{file}/set"],
        ["report", "digits", "--data", "{data}", "--out", "{file}/r.html"],
        ["export", "digits", "--out", "{file}/digits.onnx"],
    ],
)
def test_a_path_under_a_file_is_one_line_naming_it(command, a_file, synth_folder, capsys):
    args = [part.format(file=a_file, data=synth_folder) for part in command]
    assert main(args) == 1
    err = one_error_line(capsys)
    assert str(a_file) in err and "cannot write" in err
    assert a_file.read_text() == "not a folder"


def test_answers_past_a_file_size_limit_are_one_line_not_a_kill(synth_folder, tmp_path):
    out = tmp_path / "answers.jsonl"

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (300, 300))

    result = subprocess.run(
        [sys.executable, "-m", "seqocr", "predict", "--out", str(out), str(synth_folder)],
        capture_output=True,
        text=True,
        preexec_fn=limit,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert f"{out}: cannot write the answers (File too large)" in result.stderr


def test_a_float_image_a_little_outside_0_1_reads_as_the_clipped_one(digits_model, test_digits):
    from seqocr.data.suites import suite

    image, text = suite("touching_1_10", test_digits, 1)[0]
    binary = (np.asarray(image, np.float32) > 128).astype(np.float32)
    overshoot = binary * 1.36 - 0.19  # -0.19..1.17, as a binarised scan after a bicubic resize
    assert digits_model.predict(overshoot).text == digits_model.predict(np.clip(overshoot, 0, 1)).text == text


def test_load_takes_no_device_as_the_default_and_export_names_where_it_runs(capsys, tmp_path):
    import seqocr

    assert seqocr.load("digits", device=None).device.type == "cpu"
    assert main(["export", "digits", "--device", "cuda:0", "--out", str(tmp_path / "d.onnx")]) == 1
    assert "export traces the network on the CPU" in one_error_line(capsys)


def checkpoint_with(tmp_path, change=None):
    """The bundled digits checkpoint saved anew, its raw fields then changed by `change`."""
    import torch

    from seqocr.checkpoint import Checkpoint, read_payload
    from seqocr.pretrained import resolve_model

    path = tmp_path / "changed.pt"
    Checkpoint.load(resolve_model("digits")).save(path)
    payload = read_payload(path)
    if change is not None:
        change(payload)
    torch.save(payload, path)
    return path


def nan_weights_of_an_older_file(payload):
    payload["state_dict"]["head.bias"].fill_(float("nan"))
    payload.pop("weights_sha256")  # written before checksums: only the values can tell


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda p: p.update(version="2"), "is not a version number"),
        (lambda p: p.update(version=None), "is not a version number"),
        (lambda p: p.update(state_dict=[1, 2]), "state_dict is not a mapping"),
        (lambda p: p["preprocess"].update(height=0), "preprocessing out of range"),
        (lambda p: p.update(temperature=0.0), "temperature 0.0 is not a positive number"),
        (lambda p: p.update(temperature=float("nan")), "is not a positive number"),
        (nan_weights_of_an_older_file, "not finite"),
    ],
)
def test_a_crafted_checkpoint_is_one_line_never_an_empty_answer(tmp_path, change, message, capsys, synth_folder):
    path = checkpoint_with(tmp_path, change)
    assert main(["predict", "--model", str(path), str(next(synth_folder.glob("*.png")))]) == 1
    err = one_error_line(capsys)
    assert message in err and str(path) in err


def test_damaged_weights_fail_their_checksum(tmp_path, capsys, synth_folder):
    path = checkpoint_with(tmp_path)
    data = bytearray(path.read_bytes())
    start = data.find(b"data/0") + 200  # inside the first tensor's bytes
    data[start : start + 64] = bytes(64)
    path.write_bytes(bytes(data))
    assert main(["predict", "--model", str(path), str(next(synth_folder.glob("*.png")))]) == 1
    assert "checkpoint damaged (its weights do not match their checksum)" in one_error_line(capsys)


def test_a_legacy_pickled_checkpoint_is_one_line_with_no_torch_warnings(tmp_path, synth_folder, capsys):
    import argparse

    import torch

    path = tmp_path / "legacy.pt"
    payload = {"format": "seqocr-checkpoint", "payload": argparse.Namespace(run="anything")}
    torch.save(payload, path, _use_new_zipfile_serialization=False)  # the pre-1.6 format
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")  # whatever torch warns would be printed to a user: none may be
        assert main(["predict", "--model", str(path), str(next(synth_folder.glob("*.png")))]) == 1
    assert warned == []
    error = one_error_line(capsys)
    assert "not a safe seqocr checkpoint" in error or "not a readable" in error
