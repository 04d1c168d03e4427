"""Shared fixtures. Data comes from ../shared/data (never a download)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

if "SEQOCR_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
    os.environ["SEQOCR_DATA_DIR"] = str(SHARED_DATA)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = Path(os.environ["SEQOCR_DATA_DIR"])
    assert (path / "mnist").is_dir(), f"MNIST files expected in {path}/mnist"
    return path


@pytest.fixture(scope="session")
def test_digits(data_dir):
    from seqocr.data.mnist import load_split

    return load_split("test")


@pytest.fixture(scope="session")
def digits_model():
    import seqocr

    return seqocr.load("digits")


@pytest.fixture(scope="session")
def synth_folder(tmp_path_factory, test_digits) -> Path:
    """40 default-style test strings written by `seqocr data synth`."""
    from seqocr.cli import main

    out = tmp_path_factory.mktemp("synth")
    assert main(["data", "synth", "--out", str(out), "-n", "40", "--split", "test", "--seed", "7"]) == 0
    return out


@pytest.fixture(scope="session")
def captcha_folder(tmp_path_factory, data_dir) -> Path:
    """60 captcha_images_v2 images (label in the file name), copied so tests may add files."""
    import shutil

    out = tmp_path_factory.mktemp("captcha")
    for path in sorted((data_dir / "captcha_images_v2").glob("*.png"))[:60]:
        shutil.copy(path, out / path.name)
    return out
