"""`seqocr review DIR`: label a folder's images, the ones the model doubts first.

The model reads every image of DIR not yet answered, once, at start; the page
(review.html, served by the service's own FastAPI app) shows them least confident
first: the image, the reading, its confidence and the box where the number was found.
Enter accepts the reading, typing replaces it, Escape skips, Ctrl+Enter marks the image
unreadable.

The page can also train on what is labelled so far (`seqocr train --init MODEL --data
DIR`, in its own process, into DIR/.seqocr-review/run-N), show the run's progress, and
then read the images left with the new model and sort them again.

Each answer is appended to DIR/labels.tsv at once, one line written and synced to disk
(unreadable images go to DIR/unreadable.tsv), so a killed browser or server loses at
most the image on screen, and labels already there are never rewritten. One review at a
time holds a folder (a lock file). Only the folder's own images are served: a requested
name is looked up in the listing made at start, never joined to a path, and files that
resolve outside the folder (symlinks) are not listed.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from seqocr.data.folder import HEADER, LABELS_FILE, image_files
from seqocr.errors import SeqocrError
from seqocr.loading import load
from seqocr.recognizer import Recognizer

UNREADABLE_FILE = "unreadable.tsv"
LOCK_FILE = ".seqocr-review.lock"
RUNS = ".seqocr-review"  # the page's training runs, inside the folder (hidden: never listed as images)
PAGE_ITEMS = 200  # the most items one queue request returns


@dataclass
class Item:
    """An image waiting for its answer, with what the model read in it."""

    name: str  # its path inside the folder, with "/" between parts
    text: str
    confidence: float
    box: tuple[float, float, float, float] | None
    error: str | None = None  # why the model could not read it (the person may still label it)


class Answer(BaseModel):
    name: str
    text: str = ""
    unreadable: bool = False


class ReviewQueue:
    """The folder's unanswered images, least confident first, and where answers go."""

    def __init__(self, folder: Path, recognizer: Recognizer, charset: str = "", say: Any = print):
        self.folder = folder.resolve()
        if not self.folder.is_dir():
            raise SeqocrError(f"{folder}: not a folder")
        self.charset = charset
        self._lock = _hold_lock(self.folder)
        self.images, skipped = _listing(self.folder)
        for name, reason in skipped:
            say(f"{folder}/{name}: left out of the review ({reason})")
        if not self.images:
            raise SeqocrError(f"{folder}: no images to review")
        answered = self._answered(say)
        self.answered = len(answered)
        self.recognizer = recognizer
        self.pending = self._read([name for name in self.images if name not in answered], say)
        self.training: subprocess.Popen[bytes] | None = None
        self.run: Path | None = None

    def _read(self, names: list[str], say: Any) -> list[Item]:
        """`names` read by the current model, least confident first."""
        say(f"reading {len(names)} images ({self.answered} answered) with {self.recognizer.info.path}")
        read = self.recognizer.read([(self.images[name], name) for name in names])
        items = [
            Item(name, "", 0.0, None, str(r)) if isinstance(r, SeqocrError) else Item(name, r.text, r.confidence, r.box)
            for name, r in zip(names, read, strict=True)
        ]
        return sorted(items, key=lambda item: item.confidence)

    def train(self, minutes: float) -> Path:
        """Start `seqocr train --init MODEL --data FOLDER` on the labels so far, in its own process."""
        if self.training is not None and self.training.poll() is None:
            raise SeqocrError("a training run is already going on")
        if not (self.folder / LABELS_FILE).is_file():
            raise SeqocrError("nothing is labelled yet: label some images first")
        runs = self.folder / RUNS
        runs.mkdir(exist_ok=True)
        self.run = runs / f"run-{len(list(runs.glob('run-*'))) + 1}"
        model, data = self.recognizer.info.path, str(self.folder)
        command = [sys.executable, "-m", "seqocr", "train", "--init", model, "--data", data,
                   "--out", str(self.run), "--max-minutes", str(minutes), "--no-progress"]  # fmt: skip
        log = open(runs / f"{self.run.name}.log", "wb")  # noqa: SIM115 (the child writes it; closed with it)
        self.training = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return self.run

    def training_state(self) -> dict[str, Any]:
        """The page's run: idle, running (with its last epoch's figures), done or failed."""
        if self.training is None or self.run is None:
            return {"state": "idle"}
        code = self.training.poll()
        rows = (self.run / "metrics.jsonl").read_text().splitlines() if (self.run / "metrics.jsonl").is_file() else []
        last = json.loads(rows[-1]) if rows else {}
        state = "running" if code is None else "done" if code == 0 else "failed"
        log = self.run.with_suffix(".log")
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] if state == "failed" and log.is_file() else []
        return {"state": state, "run": str(self.run), "epoch": last.get("epoch"), "train_loss": last.get("train_loss"),
                "val_accuracy": last.get("val_accuracy"), "error": tail[0] if tail else None}  # fmt: skip

    def use_trained(self, say: Any = print) -> None:
        """Read the images left with the run's best weights, and sort them again."""
        if self.training_state()["state"] != "done" or self.run is None:
            raise SeqocrError("no finished training run to use")
        self.recognizer = load(self.run, device="cpu", locate=self.recognizer.locate)
        self.pending = self._read([item.name for item in self.pending], say)

    def close(self) -> None:
        """Let another review take the folder. A training run the page started stops with
        it: the page that would use its model is gone, and the folder is free for another."""
        if self.training is not None and self.training.poll() is None:
            self.training.terminate()
            try:
                self.training.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.training.kill()
                self.training.wait()
        self._lock.close()

    def answer(self, answer: Answer) -> None:
        """Append `answer` to labels.tsv (or unreadable.tsv) and take its image off the queue."""
        index = next((i for i, item in enumerate(self.pending) if item.name == answer.name), None)
        if index is None:
            raise SeqocrError(f"{answer.name!r}: not an image waiting for review in {self.folder}")
        text = answer.text
        if not answer.unreadable:
            if not text or any(c in text for c in "\t\r\n"):
                raise SeqocrError(f"{answer.name}: a label must be one line of text, not {text!r}")
            outside = sorted(set(text) - set(self.charset)) if self.charset else []
            if outside:
                raise SeqocrError(f"{answer.name}: {''.join(outside)!r} not in the charset {self.charset!r}")
        if answer.unreadable:
            _append(self.folder / UNREADABLE_FILE, "file", answer.name)
        else:
            _append(self.folder / LABELS_FILE, HEADER, f"{answer.name}\t{text}")
        del self.pending[index]
        self.answered += 1

    def _answered(self, say: Any) -> set[str]:
        """The names labels.tsv and unreadable.tsv already hold; a line naming a missing
        file, or a label outside the charset, is said once and kept as it is."""
        names = set()
        for file in (LABELS_FILE, UNREADABLE_FILE):
            path = self.folder / file
            if not path.is_file():
                continue
            try:
                lines = path.read_bytes().decode("utf-8-sig").splitlines()
            except UnicodeDecodeError as error:
                raise SeqocrError(f"{path}: not UTF-8 text (byte {error.start})") from None
            for number, line in enumerate(lines, start=1):
                name, _, text = line.partition("\t")
                if not name or number == 1 and line.strip() in (HEADER, "file"):
                    continue
                names.add(name)
                if name not in self.images:
                    say(f"{path}:{number}: {name!r} is not an image of the folder (kept as it is)")
                elif self.charset and file == LABELS_FILE and set(text) - set(self.charset):
                    say(f"{path}:{number}: label {text!r} has characters outside the charset (kept as it is)")
        return names


def add_review(app: FastAPI, queue: ReviewQueue) -> None:
    """The review page and its three calls on `app`."""

    @app.get("/review", response_class=HTMLResponse)
    async def page() -> str:
        return resources.files("seqocr.serve").joinpath("review.html").read_text()

    @app.get("/review/queue")
    async def waiting(start: int = 0, count: int = 50) -> dict[str, Any]:
        chosen = queue.pending[max(0, start) : max(0, start) + min(max(count, 0), PAGE_ITEMS)]
        return {"waiting": len(queue.pending), "answered": queue.answered, "items": [vars(i) for i in chosen]}

    @app.get("/review/image")
    async def image(name: str) -> FileResponse:
        path = queue.images.get(name)
        if path is None:
            raise HTTPException(404, "not an image of the folder under review")
        return FileResponse(path)

    @app.post("/review/train")
    async def train(minutes: float = 5.0) -> dict[str, Any]:
        try:
            queue.train(min(max(minutes, 0.05), 120.0))
        except SeqocrError as error:
            raise HTTPException(409, str(error)) from None
        return queue.training_state()

    @app.get("/review/train")
    async def training() -> dict[str, Any]:
        return queue.training_state()

    @app.post("/review/use-trained")
    async def use_trained() -> dict[str, Any]:
        try:
            await run_in_threadpool(queue.use_trained, lambda line: None)
        except SeqocrError as error:
            raise HTTPException(409, str(error)) from None
        return {"waiting": len(queue.pending), "answered": queue.answered, "model": queue.recognizer.info.path}

    @app.post("/review/answer")
    async def answer(given: Answer) -> dict[str, int]:
        try:
            queue.answer(given)
        except SeqocrError as error:
            raise HTTPException(400, str(error)) from None
        return {"waiting": len(queue.pending), "answered": queue.answered}


def _listing(folder: Path) -> tuple[dict[str, Path], list[tuple[str, str]]]:
    """The folder's images by name (every depth, sorted), and those left out with why."""
    images, skipped = {}, []
    for path in image_files(folder, recursive=True):
        name = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue  # hidden: the page's own training runs, editors' and systems' files
        if any(c in name for c in "\t\r\n"):
            skipped.append((name.encode("unicode_escape").decode(), "a tab or line break in its name"))
        elif not path.resolve().is_relative_to(folder):
            skipped.append((name, "a link to a file outside the folder"))
        else:
            images[name] = path
    return images, skipped


def _hold_lock(folder: Path) -> IO[str]:
    """A lock on the folder held while this review runs; a second review gets one line."""
    try:
        handle = open(folder / LOCK_FILE, "w")  # noqa: SIM115 (held open for the review's life)
    except OSError as error:
        raise SeqocrError(f"{folder}: cannot review here ({error.strerror or error})") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise SeqocrError(f"{folder}: another review is already running on this folder") from None
    return handle


def _append(path: Path, header: str, line: str) -> None:
    """`line` appended to `path` (made with `header` when new) and synced to disk."""
    with open(path, "a+b") as f:
        f.seek(0, os.SEEK_END)
        start = b"" if f.tell() else (header + "\n").encode()
        if f.tell():
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":  # a line left unfinished by an editor: never glue onto it
                start = b"\n"
        f.write(start + (line + "\n").encode())
        f.flush()
        os.fsync(f.fileno())


def run_review(folder: Path, recognizer: Recognizer, charset: str, host: str, port: int) -> None:
    """Read the folder, then serve the review page until stopped."""
    import uvicorn

    from seqocr.config import ServeConfig
    from seqocr.serve.app import create_app

    queue = ReviewQueue(folder, recognizer, charset, say=lambda line: print(line, file=sys.stderr))
    config = ServeConfig(host=host, port=port, models=("review",))
    app = create_app({"review": recognizer}, config)
    add_review(app, queue)
    print(f"seqocr: reviewing {len(queue.pending)} images of {folder} on http://{host}:{port}/review", file=sys.stderr)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        queue.close()
