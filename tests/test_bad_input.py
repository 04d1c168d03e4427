"""Every kind of bad image gets a one-line error naming the file; the rest of a batch is read."""

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from seqocr.cli import main

pytestmark = pytest.mark.heavy


def png_claiming_size(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims width x height: a decompression bomb we never decode."""
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(path)
    data = bytearray(path.read_bytes())
    ihdr = 8 + 8  # signature, then length + type of the IHDR chunk
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr - 4 : ihdr + 13]))
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    path.write_bytes(bytes(data))
    return path


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    good = root / "good.png"
    Image.fromarray(np.full((28, 60), 255, np.uint8)).save(good)
    empty = root / "empty.png"
    empty.write_bytes(b"")
    truncated = root / "truncated.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 200), dtype=np.uint8)).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:300])
    text = root / "text.png"
    text.write_text("this is not an image\n")
    tiny = root / "tiny.png"
    Image.fromarray(np.zeros((1, 1), np.uint8)).save(tiny)
    huge = png_claiming_size(root / "huge.png", 20_000, 20_000)
    (root / "folder.png").mkdir()
    return {
        "good": good,
        "missing": (root / "missing.png", "no such file"),
        "directory": (root / "folder.png", "is a directory"),
        "empty": (empty, "empty file"),
        "truncated": (truncated, "truncated or corrupt"),
        "text": (text, "not an image"),
        "tiny": (tiny, "too small (1x1)"),
        "huge": (huge, "image too large (400,000,000 pixels"),
        "wide": (png_claiming_size(root / "wide.png", 12_000, 5_000), "image too large (12000x5000"),
    }


CASES = ["missing", "directory", "empty", "truncated", "text", "tiny", "huge", "wide"]


@pytest.mark.parametrize("case", CASES)
def test_each_bad_image_gets_a_one_line_error_naming_it(bad_files, case, capsys):
    path, reason = bad_files[case]
    assert main(["predict", str(path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"seqocr: error: {path}: ") and reason in err[0]


def test_a_batch_still_reads_the_good_images(bad_files, capsys):
    paths = [str(bad_files["good"])] + [str(bad_files[c][0]) for c in CASES] + [str(bad_files["good"])]
    assert main(["predict", "--json", *paths]) == 1
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["path"] for r in rows] == paths
    assert [("text" in r) for r in rows] == [True] + [False] * len(CASES) + [True]
    assert len(captured.err.strip().splitlines()) == len(CASES)


def test_reading_in_several_processes_prints_the_same_rows_and_errors(bad_files, capsys):
    paths = [str(bad_files["good"])] + [str(bad_files[c][0]) for c in CASES] + [str(bad_files["good"])]
    assert main(["predict", "--json", *paths]) == 1
    alone = capsys.readouterr()
    assert main(["predict", "--json", "--workers", "2", *paths]) == 1
    pooled = capsys.readouterr()
    rows, pooled_rows = (
        [json.loads(line) for line in alone.out.splitlines()],
        [json.loads(line) for line in pooled.out.splitlines()],
    )
    assert [r.get("text") for r in pooled_rows] == [r.get("text") for r in rows]
    assert [r.get("error") for r in pooled_rows] == [r.get("error") for r in rows]
    assert sorted(pooled.err.splitlines()) == sorted(alone.err.splitlines())


def test_the_installed_command_never_prints_a_traceback(bad_files, capsys):
    """The entry point once as installed (`python -m seqocr`); every other failure through
    the same `main` it calls, in this process."""
    paths = [str(bad_files[c][0]) for c in CASES]
    result = subprocess.run([sys.executable, "-m", "seqocr", "predict", *paths], capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == len(CASES)
    for args in (
        ["predict", "--model", "no-such-model", str(bad_files["good"])],
        ["eval", "--data", paths[0]],
        ["predict"],
    ):
        assert main(args) == 1, args
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    with pytest.raises(SystemExit) as stopped:  # argparse: its usage line and exit status 2
        main(["frobnicate"])
    assert stopped.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_a_model_that_is_not_a_checkpoint_is_refused(tmp_path, bad_files, capsys):
    fake = tmp_path / "model.pt"
    fake.write_bytes(b"\x00garbage")
    assert main(["predict", "--model", str(fake), str(bad_files["good"])]) == 1
    assert "not a readable seqocr checkpoint" in capsys.readouterr().err
