"""`seqocr doctor`: a readable report before training; fatal problems exit non-zero."""

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from seqocr.cli import main
from seqocr.data.checks import ctc_steps_needed


@pytest.fixture
def captchas(tmp_path, captcha_folder):
    folder = tmp_path / "captchas"
    shutil.copytree(captcha_folder, folder)
    return folder


def doctor(capsys, *args):
    status = main(["doctor", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


def test_ctc_needs_a_blank_between_repeated_neighbours():
    assert ctc_steps_needed("123") == 3
    assert ctc_steps_needed("88") == 3
    assert ctc_steps_needed("1111") == 7
    assert ctc_steps_needed("n8n8") == 4


def test_a_clean_captcha_folder_is_ready_to_train(captchas, capsys, tmp_path):
    status, out, _ = doctor(
        capsys, captchas, "--preset", "captcha", "--val-split", "0.2", "--json", tmp_path / "report.json"
    )
    assert status == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["usable"] == 60 and report["train"] == 48 and report["val"] == 12
    assert report["label_lengths"] == {"5": 60}
    assert set(report["charset"]) <= set("2345678bcdefgmnpwxy")
    assert sum(c["train"] + c["val"] for c in report["chars_per_split"].values()) == 300
    assert report["sizes"] == {"200x50": 60} and report["modes"] == {"RGBA": 60}
    assert "OK: ready to train" in out and "charset" in out


def test_every_problem_is_listed_with_its_reason(captchas, capsys, tmp_path):
    whole = (captchas / sorted(p.name for p in captchas.glob("*.png"))[0]).read_bytes()
    (captchas / "broken.png").write_bytes(whole[: len(whole) // 2])  # a truncated download
    Image.fromarray(np.full((20, 12), 255, np.uint8)).save(captchas / "123456789012.png")  # too narrow
    status, out, _ = doctor(capsys, captchas, "--preset", "captcha", "--json", tmp_path / "report.json")
    report = json.loads((tmp_path / "report.json").read_text())
    reasons = {e["where"].split("/")[-1]: e["reason"] for e in report["excluded"]}
    assert "truncated or corrupt" in reasons["broken.png"]
    assert "needs 12 time steps" in reasons["123456789012.png"]
    assert "at least" in reasons["123456789012.png"] and "px of width" in reasons["123456789012.png"]
    assert status == 1 and "FATAL" in out and "longer than the model can emit" in out


def test_labels_outside_a_models_charset_are_fatal(tmp_path, capsys, synth_folder):
    folder = tmp_path / "digits"
    shutil.copytree(synth_folder, folder)
    with (folder / "labels.tsv").open("a") as f:
        shutil.copy(folder / "000000.png", folder / "extra.png")
        f.write("extra.png\t12x4\n")
    status, out, _ = doctor(capsys, folder, "--model", "digits")
    assert status == 1
    assert "extra.png: label '12x4' has characters outside the charset: 'x'" in out


def test_a_resaved_copy_across_splits_is_a_near_duplicate(captchas, capsys, tmp_path):
    original = sorted(captchas.glob("*.png"))[0]
    val = tmp_path / "val"
    val.mkdir()
    Image.open(original).convert("RGB").resize((190, 48)).save(val / f"{original.stem}.jpg", quality=90)
    shutil.copy(sorted(captchas.glob("*.png"))[1], val)  # a different captcha: not a duplicate
    doctor(capsys, captchas, "--preset", "captcha", "--val", val, "--json", tmp_path / "r.json")
    report = json.loads((tmp_path / "r.json").read_text())
    pairs = [(p["train"].split("/")[-1], p["val"].split("/")[-1]) for p in report["near_duplicates"]]
    assert (original.name, f"{original.stem}.jpg") in pairs
    assert len(pairs) == 2  # the byte-identical copy too; nothing else


def test_an_empty_folder_is_a_one_line_error(tmp_path, capsys):
    status, _, err = doctor(capsys, tmp_path)
    assert status == 1 and "no labelled images" in err and len(err.strip().splitlines()) == 1


def test_a_set_under_1000_images_holds_none_out_unless_asked(captchas, capsys, tmp_path):
    status, _, _ = doctor(capsys, captchas, "--preset", "captcha", "--json", tmp_path / "report.json")
    report = json.loads((tmp_path / "report.json").read_text())
    assert status == 0 and report["train"] == 60 and report["val"] == 0
