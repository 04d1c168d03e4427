"""`seqocr review`: the images the model doubts first, answers saved at once, only the
folder's own images served, one review per folder, and a keyboard-first page."""

import json
import shutil
import sys
import time
from pathlib import Path

import anyio
import httpx
import pytest

from seqocr.cli import main
from seqocr.config import ServeConfig
from seqocr.serve.app import create_app
from seqocr.serve.review import Answer, ReviewQueue, add_review
from test_serve import free_port, started, web

pytestmark = pytest.mark.heavy


@pytest.fixture
def unlabelled(tmp_path, synth_folder) -> Path:
    """Ten of the synthetic strings, without their labels, one under an odd name."""
    folder = tmp_path / "scans"
    folder.mkdir()
    for path in sorted(synth_folder.glob("*.png"))[:9]:
        shutil.copy(path, folder / path.name)
    shutil.copy(sorted(synth_folder.glob("*.png"))[9], folder / "odd #1 % ü.png")
    return folder


class Client:
    """Calls on an app in this process, without a server."""

    def __init__(self, app):
        self.app = app

    def get(self, url: str, params: dict | None = None) -> httpx.Response:
        return anyio.run(self._call, "GET", url, params, None)

    def post(self, url: str, json: dict | None = None, params: dict | None = None) -> httpx.Response:
        return anyio.run(self._call, "POST", url, params, json)

    async def _call(self, method: str, url: str, params: dict | None, json: dict | None) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://review") as client:
            return await client.request(method, url, params=params, json=json)


def review_app(folder: Path, reader, charset: str = "") -> tuple[ReviewQueue, Client]:
    queue = ReviewQueue(folder, reader, charset, say=lambda line: None)
    app = create_app({"review": reader}, ServeConfig(models=("review",)))
    add_review(app, queue)
    return queue, Client(app)


def test_the_least_confident_come_first_and_each_answer_is_on_disk_at_once(unlabelled, digits_model):
    queue, client = review_app(unlabelled, digits_model, charset="0123456789")
    items = client.get("/review/queue", params={"count": 100}).json()["items"]
    assert len(items) == 10
    assert [i["confidence"] for i in items] == sorted(i["confidence"] for i in items)
    first, second, third = items[0]["name"], items[1]["name"], items[2]["name"]
    assert client.post("/review/answer", json={"name": first, "text": items[0]["text"] or "0"}).status_code == 200
    assert (unlabelled / "labels.tsv").read_text().splitlines()[1].startswith(f"{first}\t")  # before any other call
    refused = client.post("/review/answer", json={"name": second, "text": "12a"})
    assert refused.status_code == 400 and "not in the charset" in refused.json()["detail"]
    assert client.post("/review/answer", json={"name": second, "unreadable": True}).status_code == 200
    assert (unlabelled / "unreadable.tsv").read_text().splitlines() == ["file", second]
    assert client.post("/review/answer", json={"name": first, "text": "1"}).status_code == 400  # answered already
    state = client.get("/review/queue").json()
    assert state["waiting"] == 8 and state["answered"] == 2 and state["items"][0]["name"] == third
    queue.close()


def test_the_page_trains_on_the_labels_so_far_then_reads_what_is_left_with_the_new_model(unlabelled, digits_model):
    queue, client = review_app(unlabelled, digits_model)
    refused = client.post("/review/train", params={"minutes": 0.05})
    assert refused.status_code == 409 and "nothing is labelled yet" in refused.json()["detail"]
    for item in client.get("/review/queue").json()["items"][:3]:
        assert (
            client.post("/review/answer", json={"name": item["name"], "text": item["text"] or "0"}).status_code == 200
        )
    assert client.post("/review/train", params={"minutes": 0.02}).json()["state"] == "running"
    assert client.post("/review/train").status_code == 409  # one run at a time
    assert client.post("/review/use-trained").status_code == 409  # not finished yet
    deadline = time.monotonic() + 180
    while (state := client.get("/review/train").json())["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert state["state"] == "done" and state["epoch"] >= 1, state
    run = Path(state["run"])
    assert run.parent.name == ".seqocr-review" and (run / "best.pt").is_file()
    assert json.loads((run / "config.json").read_text())["train"]["init"] == digits_model.info.path
    used = client.post("/review/use-trained").json()
    assert used["waiting"] == 7 and used["model"] == str(run / "best.pt")
    assert "curves.png" not in str(queue.images)  # the run's files are not images to label
    items = client.get("/review/queue").json()["items"]
    assert [i["confidence"] for i in items] == sorted(i["confidence"] for i in items)
    queue.close()


def test_closing_the_review_stops_the_training_it_started_and_frees_the_folder(unlabelled, digits_model):
    queue, client = review_app(unlabelled, digits_model)
    item = client.get("/review/queue").json()["items"][0]
    assert client.post("/review/answer", json={"name": item["name"], "text": item["text"] or "0"}).status_code == 200
    assert client.post("/review/train", params={"minutes": 5}).json()["state"] == "running"
    training = queue.training
    queue.close()  # as when the page's server stops
    assert training is not None and training.poll() is not None  # no run left writing into the folder
    ReviewQueue(unlabelled, digits_model, "", say=lambda line: None).close()  # another review may take it


def test_a_restarted_review_keeps_every_label_and_asks_only_the_rest(unlabelled, digits_model):
    names = sorted(p.name for p in unlabelled.glob("*.png"))
    (unlabelled / "labels.tsv").write_text(f"file\ttext\n{names[0]}\t12\ngone.png\t34\n{names[1]}\t5x")  # no final \n
    said: list[str] = []
    queue = ReviewQueue(unlabelled, digits_model, "0123456789", say=said.append)
    assert {item.name for item in queue.pending} == set(names[2:])
    assert any("'gone.png' is not an image of the folder" in line for line in said)
    assert any("'5x' has characters outside the charset" in line for line in said)
    queue.answer(Answer(name=names[2], text="678"))
    lines = (unlabelled / "labels.tsv").read_text().splitlines()
    assert lines == ["file\ttext", f"{names[0]}\t12", "gone.png\t34", f"{names[1]}\t5x", f"{names[2]}\t678"]
    queue.close()


def test_only_the_folders_own_images_are_ever_served(unlabelled, digits_model, tmp_path):
    secret = tmp_path / "secret.png"
    shutil.copy(next(unlabelled.glob("*.png")), secret)
    (unlabelled / "link.png").symlink_to(secret)  # points out of the folder
    queue, client = review_app(unlabelled, digits_model)
    assert "link.png" not in queue.images
    assert client.get("/review/image", params={"name": "odd #1 % ü.png"}).status_code == 200
    for name in ("../secret.png", str(secret), "link.png", "labels.tsv", "%2e%2e/secret.png", ""):
        assert client.get("/review/image", params={"name": name}).status_code == 404, name
    queue.close()


def test_a_second_review_of_a_folder_and_a_folder_without_images_are_one_line_each(
    unlabelled, digits_model, tmp_path, capsys
):
    queue = ReviewQueue(unlabelled, digits_model, say=lambda line: None)
    assert main(["review", str(unlabelled), "--port", "1"]) == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["review", str(empty)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].endswith("another review is already running on this folder")
    assert err[-1].endswith("no images to review") and "Traceback" not in "\n".join(err)
    queue.close()


def test_the_page_takes_one_keystroke_per_right_reading(unlabelled, browser_page):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "seqocr", "review", str(unlabelled), "--port", str(port)]
    process = started(command, f"{url}/review/queue")
    try:
        queue = web.get(f"{url}/review/queue").json()["items"]
        page, errors = browser_page
        page.goto(f"{url}/review")
        page.wait_for_function(f"document.querySelector('#text').value === {queue[0]['text']!r}")
        page.keyboard.press("Enter")  # the reading is right: one key
        page.wait_for_function("document.querySelector('#counts').textContent.startsWith('9 waiting')")
        page.keyboard.type("4321")  # typing replaces the reading
        page.keyboard.press("Enter")
        page.wait_for_function("document.querySelector('#counts').textContent.startsWith('8 waiting')")
        page.keyboard.press("Escape")  # skipped: nothing written
        page.keyboard.press("Control+Enter")  # unreadable
        page.wait_for_function("document.querySelector('#counts').textContent.startsWith('7 waiting')")
        assert errors == []
        labels = (unlabelled / "labels.tsv").read_text().splitlines()
        assert labels == ["file\ttext", f"{queue[0]['name']}\t{queue[0]['text']}", f"{queue[1]['name']}\t4321"]
        assert (unlabelled / "unreadable.tsv").read_text().splitlines() == ["file", queue[3]["name"]]
    finally:
        process.terminate()
        process.wait(timeout=30)
