"""Reading many files: folders listed recursively, a list file, a share of the list for
one machine (`--shard I/N`), files already answered skipped (`--skip-done`), answers
given a chunk at a time so memory stays flat however many millions there are."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from seqocr.data.folder import image_files
from seqocr.errors import SeqocrError
from seqocr.recognizer import Prediction

CHUNK = 512  # files read per call: large enough to batch well, small enough to answer often

Answer = Prediction | list[Prediction] | SeqocrError  # a list: every string of the image (--all)
Reader = Callable[[list[str]], list[Answer]]


def list_inputs(inputs: Sequence[str], files_from: str | None = None, separator: bytes = b"\n") -> list[str]:
    """The files to read, in a stable order: each named file, each folder's images (all
    depths, sorted), then each line of `files_from` ("-": standard input)."""
    paths: list[str] = []
    for name in inputs:
        images = image_files(Path(name), recursive=True) if Path(name).is_dir() else []
        if images:
            paths += [str(p) for p in images]
        else:
            paths.append(name)  # a missing file, or a folder with no images, is answered with its error
    if files_from is not None:
        paths += _list_file(files_from, separator)
    return paths


def _list_file(name: str, separator: bytes = b"\n") -> list[str]:
    """One name a line, split at "\n" only (a name may hold a carriage return or U+2028;
    a Windows "\r\n" ending is dropped), or at NUL bytes (`--null`: any name, a newline
    included); names are bytes decoded as the file system does, so a name that is not
    UTF-8 is read, or fails alone, like any other."""
    try:
        data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except OSError as error:
        raise SeqocrError(f"{name}: cannot read the file list ({error.strerror or error})") from None
    if separator == b"\0":
        return [os.fsdecode(name) for name in data.split(b"\0") if name]
    lines = (line[:-1] if line.endswith(b"\r") else line for line in data.split(b"\n"))
    return [os.fsdecode(line) for line in lines if line.strip()]


def take_shard(paths: list[str], index: int, total: int) -> list[str]:
    """Every `total`-th path from the `index`-th: one machine's share, none shared."""
    return paths[index::total]


def answered(jsonl: str | Path) -> set[str]:
    """The files an earlier run's JSON lines already answered, as `same_file` keys (a torn
    last line is ignored); a file that is not JSON lines is one error, not a silent skip."""
    path = Path(jsonl)
    if not path.exists():
        return set()
    if not path.is_file():
        raise SeqocrError(f"{path}: --skip-done needs the JSON lines file of an earlier run, not a folder")
    try:
        text = path.read_bytes().decode()
    except UnicodeDecodeError:
        raise SeqocrError(f"{path}: --skip-done needs JSON lines; this file is binary") from None
    except OSError as error:
        raise SeqocrError(f"{path}: cannot read ({error.strerror or error})") from None
    done, unreadable = set(), 0
    lines = text.split("\n")
    for line in lines:
        try:
            row = json.loads(line) if line.strip() else None
        except json.JSONDecodeError:
            unreadable += 1
            continue
        if isinstance(row, dict) and "path" in row and "error" not in row:
            done.add(same_file(str(row["path"])))
    if unreadable > 1 or (unreadable and not done):  # more than the torn line a stopped run leaves
        raise SeqocrError(f"{path}: --skip-done needs the JSON lines of an earlier run ({unreadable} lines are not)")
    return done


def same_file(path: str) -> str:
    """A key that `./x`, `x`, `a//x` and the absolute path of the same file share."""
    return os.path.normpath(os.path.abspath(path))


def read_in_chunks(read: Reader, paths: list[str], chunk: int = CHUNK) -> Iterator[tuple[str, Answer]]:
    """(path, answer or error) for every path, in order, `chunk` files at a time."""
    for start in range(0, len(paths), chunk):
        part = paths[start : start + chunk]
        yield from zip(part, read(part), strict=True)


def answer_lines(path: str, outcome: Answer, as_json: bool, reject_below: float | None) -> str:
    """What `seqocr predict` writes for one file: a JSON line (the answer format, or the
    error), or tab-separated path, text and confidence (and each n-best alternative).
    With --all, the JSON line holds `strings`, and the text form a line per string with
    its box."""
    if as_json:
        if isinstance(outcome, SeqocrError):
            return json.dumps({"path": path, "error": str(outcome)}) + "\n"
        if isinstance(outcome, list):
            strings = [p.answer(reject_below).model_dump(exclude_none=True) for p in outcome]
            return json.dumps({"path": path, "strings": strings}) + "\n"
        return json.dumps({"path": path, **outcome.answer(reject_below).model_dump(exclude_none=True)}) + "\n"
    if isinstance(outcome, SeqocrError):
        return ""  # the error went to stderr
    if isinstance(outcome, list):
        return "".join(
            f"{path}\t{p.text}\t{p.confidence:.4f}\t" + ",".join(f"{v:g}" for v in p.box or ()) + "\n" for p in outcome
        )
    rejected = "\trejected" if reject_below is not None and outcome.confidence < reject_below else ""
    lines = [f"{path}\t{outcome.text}\t{outcome.confidence:.4f}{rejected}"]
    lines += [f"{path}\t#{rank} {t}\t{c:.4f}" for rank, (t, c) in enumerate(outcome.alternatives[1:], start=2)]
    return "\n".join(lines) + "\n"
