"""Shared fixtures. Data comes from ../shared/data (never a download)."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

if "SEQOCR_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
    os.environ["SEQOCR_DATA_DIR"] = str(SHARED_DATA)


def one_core_per_process() -> None:
    """Under `pytest -n N` each process of the suite runs on a core of its own, and so do
    the processes its tests start: two processes with two torch threads each on two
    cores wait on each other (the suite took twice as long). seqocr sizes its thread
    pools by the cores a process may use (machine.usable_cores)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ...
    if worker.startswith("gw") and hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cores[int(worker[2:]) % len(cores)]})


one_core_per_process()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules marked `heavy` (several seconds in all: processes, servers, training) run
    first. `pytest -n 2 --dist loadfile --no-loadscope-reorder` hands modules out in
    this order as workers free up, so the last ones are short and both workers finish
    together (the slowest first: the longest-processing-time rule)."""
    items.sort(key=lambda item: item.get_closest_marker("heavy") is None)  # stable: file order otherwise


CHROMIUM = "/usr/bin/chromium"  # Debian's package; `make test` installs it (`make browser`)


@pytest.fixture
def browser_page():
    """A page of headless Chromium, and the list the page's script errors go to."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield page, errors
        browser.close()


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


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, data_dir) -> Path:
    """A digits run of two tiny epochs, trained once from the command line (with dropout
    and weight decay asked for) for every test that needs a run folder; tests that change
    a run copy it first."""
    from seqocr.cli import main

    out = tmp_path_factory.mktemp("runs") / "tiny"
    tiny = ["--epochs", "2", "--samples-per-epoch", "64", "--val-samples", "32", "--batch-size", "32", "--max-len", "4"]
    regularised = ["--dropout", "0.3", "--weight-decay", "0.0005"]
    quick = ["--workers", "0", "--max-minutes", "0", "--no-progress"]
    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        assert main(["train", "--preset", "digits", "--out", str(out), *tiny, *regularised, *quick]) == 0
    assert f"best checkpoint: {out / 'best.pt'}" in said.getvalue()
    return out
