"""Reading many files: folders at any depth, a file list, shares for several machines, and
a stopped run that picks up where it stopped."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from seqocr.cli import main


@pytest.fixture
def tree(tmp_path: Path, synth_folder: Path) -> Path:
    """10 images: 4 at the top of a folder, 6 two levels down."""
    root = tmp_path / "scans"
    (root / "a" / "b").mkdir(parents=True)
    for i, image in enumerate(sorted(synth_folder.glob("*.png"))[:10]):
        shutil.copy(image, (root if i < 4 else root / "a" / "b") / image.name)
    (root / "a" / "notes.txt").write_text("not an image: not listed")
    return root


def rows_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_folder_is_read_at_every_depth_and_shares_split_it_without_overlap(tree, tmp_path, capsys):
    every = sorted(str(p) for p in tree.rglob("*.png"))
    answers = tmp_path / "answers.jsonl"
    for share in ("0/3", "1/3", "2/3"):  # three machines, each its every-third file
        assert main(["predict", str(tree), "--shard", share, "--out", str(answers), "--no-progress"]) == 0
    rows = rows_of(answers)
    assert sorted(r["path"] for r in rows) == every  # each file answered once, by one machine
    assert all(r["text"] and [c["char"] for c in r["chars"]] == list(r["text"]) for r in rows)
    assert capsys.readouterr().out == ""  # --out holds the answers


def test_a_stopped_run_continues_where_it_stopped(tree, tmp_path):
    answers = tmp_path / "answers.jsonl"
    assert main(["predict", str(tree), "--out", str(answers), "--no-progress"]) == 0
    whole = answers.read_text().splitlines()
    answers.write_text("\n".join(whole[:4]) + "\n" + whole[4][:20])  # stopped while writing line 5
    assert main(["predict", str(tree), "--out", str(answers), "--skip-done", str(answers), "--no-progress"]) == 0
    rows = rows_of(answers)  # every line parses: the torn fragment was cut off
    assert sorted(r["path"] for r in rows) == sorted(json.loads(line)["path"] for line in whole)
    before = answers.read_text()
    assert main(["predict", str(tree), "--out", str(answers), "--skip-done", str(answers), "--no-progress"]) == 0
    assert answers.read_text() == before  # all done: nothing read, nothing written


def test_a_file_list_is_read_in_its_order_and_a_missing_file_fails_alone(tree, tmp_path, capsys):
    listed = sorted(str(p) for p in tree.rglob("*.png"))[:3][::-1]
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join([listed[0], str(tmp_path / "gone.png"), *listed[1:]]) + "\n")
    assert main(["predict", "--files-from", str(listing), "--json"]) == 1
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["path"] for r in rows] == [listed[0], str(tmp_path / "gone.png"), *listed[1:]]
    assert "no such file" in rows[1]["error"] and captured.err.count("seqocr: error:") == 1


def test_nothing_to_read_and_a_bad_shard_are_one_line_errors(capsys):
    assert main(["predict"]) == 1
    assert "give image files or folders, or --files-from LIST" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["predict", "--shard", "3/3", "x.png"])
    assert "0 <= I < N" in capsys.readouterr().err


def test_skip_done_knows_a_file_by_any_of_its_names(tree, tmp_path, monkeypatch):
    monkeypatch.chdir(tree)
    answers = tmp_path / "answers.jsonl"
    first = sorted(p.name for p in tree.glob("*.png"))[:3]
    assert main(["predict", *[f"./{n}" for n in first], "--out", str(answers), "--no-progress"]) == 0
    again = [first[0], str(tree / first[1]), f".//{first[2]}"]
    assert main(["predict", *again, "--out", str(answers), "--skip-done", str(answers), "--no-progress"]) == 0
    assert len(rows_of(answers)) == 3  # nothing read twice


def test_skip_done_refuses_a_folder_or_a_binary_file_in_one_line(tree, tmp_path, capsys):
    binary = tmp_path / "image.png"
    shutil.copy(next(tree.glob("*.png")), binary)
    for wrong, reason in ((tmp_path, "not a folder"), (binary, "binary")):
        assert main(["predict", str(tree), "--skip-done", str(wrong), "--no-progress"]) == 1
        err = capsys.readouterr().err
        assert reason in err and err.count("\n") == 1


def test_a_file_list_keeps_names_with_odd_characters_whole(tree, tmp_path, capsys):
    source = sorted(tree.glob("*.png"))
    odd = [tmp_path / "a\rb.png", tmp_path / "c\u2028d.png", Path(os.fsdecode(bytes(tmp_path) + b"/\xff.png"))]
    for name, image in zip(odd, source, strict=False):
        shutil.copy(image, name)
    listing = tmp_path / "list.txt"
    listing.write_bytes(b"\n".join(os.fsencode(p) for p in odd) + b"\r\n" + os.fsencode(tmp_path / "gone.png") + b"\n")
    assert main(["predict", "--files-from", str(listing), "--json"]) == 1
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["path"] for r in rows] == [str(p) for p in odd] + [str(tmp_path / "gone.png")]
    assert all("text" in r for r in rows[:3]) and "no such file" in rows[3]["error"]


def test_a_nul_separated_list_holds_names_with_newlines(tree, tmp_path, capsys):
    name = tmp_path / "line\nbreak.png"
    shutil.copy(next(tree.glob("*.png")), name)
    listing = tmp_path / "list0"
    listing.write_bytes(os.fsencode(name) + b"\0")
    assert main(["predict", "--files-from", str(listing), "--null", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["path"] for r in rows] == [str(name)] and rows[0]["text"]
