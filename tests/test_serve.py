"""The HTTP service, started for real on a loopback port and spoken to over HTTP."""

import base64
import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from PIL import Image

from seqocr.data.folder import read_folder

pytestmark = pytest.mark.heavy


# One client for the module: httpx.get builds a TLS context at every call (~30 ms of CPU,
# even for http://). A new connection a request, as with httpx.get.
web = httpx.Client(headers={"Connection": "close"})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(*options: str) -> tuple[int, str, subprocess.Popen]:
    """`seqocr serve OPTIONS` on a free loopback port, once it answers /healthz: (port, url, process)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "seqocr", "serve", "--port", str(port), *options]
    return port, url, started(command, f"{url}/healthz")


def started(command: list[str], probe: str) -> subprocess.Popen:
    """`command` started, once `probe` answers 200 (a failed test, with the output, if it
    exits first or takes more than 90 s)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 90
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if web.get(probe, timeout=1).status_code == 200:
                return process
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the server did not start: {process.stdout.read() if process.stdout else ''}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def server():
    _, url, process = start_server("--max-body-mb", "1", "--max-images", "4")
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def pngs(synth_folder):
    return [(path, path.read_bytes()) for path, _ in read_folder(synth_folder).samples[:6]]


def png_of(array) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def test_multipart_and_json_give_the_python_apis_answers_in_input_order(server, pngs, digits_model):
    answers = digits_model.predict([path for path, _ in pngs[:4]])
    expected = [p.text for p in answers]
    files = [("images", (path.name, data, "image/png")) for path, data in pngs[:4]]
    response = web.post(f"{server}/v1/recognize", files=files)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["text"] for r in results] == expected
    assert [r["confidence"] for r in results] == pytest.approx([p.confidence for p in answers], abs=1e-5)
    for r in results:
        assert [c["char"] for c in r["chars"]] == list(r["text"])
        assert all(set(c) == {"char", "confidence", "x"} for c in r["chars"])
        xs = [c["x"] for c in r["chars"]]
        assert xs == sorted(xs)  # characters are located left to right
    body = {"images": [base64.b64encode(data).decode() for _, data in pngs[:4]], "model": "digits"}
    assert [r["text"] for r in web.post(f"{server}/v1/recognize", json=body).json()["results"]] == expected


def test_models_health_and_schema(server):
    health = web.get(f"{server}/healthz").json()
    assert health["status"] == "ok" and health["models"] == ["digits"] and health["workers"] == 1
    assert isinstance(health["worker"], int)  # the process that answered: a balancer tells workers apart
    models = web.get(f"{server}/v1/models").json()
    assert models["default"] == "digits" and models["models"][0]["charset"] == "0123456789"
    schema = web.get(f"{server}/openapi.json").json()
    assert "multipart/form-data" in schema["paths"]["/v1/recognize"]["post"]["requestBody"]["content"]
    assert "<canvas" in web.get(f"{server}/").text


def test_a_bad_image_fails_alone(server, pngs):
    truncated = pngs[1][1][: len(pngs[1][1]) // 2]
    huge = png_of(np.zeros((2100, 2100), np.uint8))  # 4.4 M pixels, a few kB as PNG
    files = [
        ("images", ("good.png", pngs[0][1], "image/png")),
        ("images", ("truncated.png", truncated, "image/png")),
        ("images", ("notes.png", b"just some text", "image/png")),
        ("images", ("huge.png", huge, "image/png")),
    ]
    response = web.post(f"{server}/v1/recognize", files=files)
    assert response.status_code == 200
    good, broken, text, bomb = response.json()["results"]
    assert "text" in good
    assert "truncated.png: truncated or corrupt" in broken["error"]
    assert "notes.png: not an image" in text["error"]
    assert "huge.png: image too large (2100x2100" in bomb["error"]


@pytest.mark.parametrize(
    ("request_kwargs", "status", "message"),
    [
        ({"files": [("image", ("a.png", b"x", "image/png"))]}, 422, "unexpected field 'image'"),
        ({"files": [("images", ("a.png", b"x", "image/png"))] * 5}, 413, "too many images"),
        ({"content": b"\0" * (1024 * 1024 + 10), "headers": {"content-type": "application/json"}}, 413, "too large"),
        ({"content": b"hello", "headers": {"content-type": "text/plain"}}, 415, "multipart/form-data"),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "not valid JSON"),
        ({"json": {"images": ["%%%"]}}, 400, "not valid base64"),
        ({"json": {"pictures": []}}, 422, "expected a JSON object"),
        ({"json": {"images": []}}, 422, "no images"),
        ({"json": {"images": [base64.b64encode(b"abc").decode()], "model": "nope"}}, 404, "unknown model 'nope'"),
        ({"json": {"images": [base64.b64encode(b"abc").decode()]}}, 422, "not an image"),
    ],
)
def test_bad_requests_get_a_clear_4xx_and_the_server_keeps_answering(server, pngs, request_kwargs, status, message):
    response = web.post(f"{server}/v1/recognize", **request_kwargs)
    assert response.status_code == status
    assert message in response.text
    after = web.post(f"{server}/v1/recognize", files=[("images", ("ok.png", pngs[0][1], "image/png"))])
    assert after.status_code == 200 and after.json()["results"][0]["text"]


def test_concurrent_clients_are_batched_and_never_fail(server, pngs):
    before = web.get(f"{server}/v1/models").json()["models"][0]

    def one(i: int) -> tuple[int, float]:
        path, data = pngs[i % len(pngs)]
        started = time.perf_counter()
        response = web.post(f"{server}/v1/recognize", files=[("images", (path.name, data, "image/png"))], timeout=30)
        return response.status_code, time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(one, range(64)))
    seconds = time.perf_counter() - started
    assert [status for status, _ in outcomes] == [200] * 64
    after = web.get(f"{server}/v1/models").json()["models"][0]
    images, batches = after["images_read"] - before["images_read"], after["batches"] - before["batches"]
    assert images == 64 and batches < images  # requests that arrived together shared a batch
    latencies = sorted(latency for _, latency in outcomes)
    print(f"64 requests, 8 clients: {64 / seconds:.0f} requests/s, p99 {1000 * latencies[63]:.1f} ms")


def test_the_drawing_page_reads_what_is_drawn_and_uploaded(server, synth_folder, browser_page):
    path, truth = read_folder(synth_folder).samples[0]
    page, errors = browser_page
    page.goto(server)
    pad = page.locator("#pad").bounding_box()
    assert pad is not None
    for x in (0.3, 0.6):  # two upright strokes: "11"
        page.mouse.move(pad["x"] + x * pad["width"], pad["y"] + 0.15 * pad["height"])
        page.mouse.down()
        for step in range(1, 11):
            page.mouse.move(pad["x"] + x * pad["width"], pad["y"] + (0.15 + 0.07 * step) * pad["height"])
        page.mouse.up()
    try:  # the page reads after every stroke; wait for the reading of both
        page.wait_for_function("document.querySelector('#answer').textContent === '11'", timeout=10_000)
    finally:
        drawn = page.locator("#answer").text_content()
        details = page.locator("#details").text_content()
    page.set_input_files("#upload", str(path))
    page.wait_for_function(f"document.querySelector('#answer').textContent === {truth!r}", timeout=15_000)
    assert drawn == "11" and "confidence" in (details or "")
    assert errors == []


def test_several_workers_share_the_port_each_with_its_models(pngs):
    _, url, process = start_server("--workers", "2")
    try:

        def health() -> dict:
            return web.get(f"{url}/healthz", timeout=2).json()

        first = health()
        assert first["workers"] == 2 and first["models"] == ["digits"]
        os.kill(first["worker"], signal.SIGSTOP)  # connections go to whichever worker accepts: only the other now
        try:
            second = None
            deadline = time.monotonic() + 60  # a busy machine may start the second worker late
            while second is None and time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    second = health()
        finally:
            os.kill(first["worker"], signal.SIGCONT)
        assert second is not None and second["workers"] == 2 and second["models"] == ["digits"]
        seen = {first["worker"], second["worker"]}
        assert len(seen) == 2 and process.pid not in seen
        with httpx.Client() as kept_alive:  # no Nagle delay: ~44 ms a request before, waiting on a delayed ACK
            times = []
            for _ in range(11):
                started = time.perf_counter()
                kept_alive.get(f"{url}/healthz")
                times.append(time.perf_counter() - started)
        assert sorted(times)[5] < 0.025
        files = [("images", (path.name, data, "image/png")) for path, data in pngs[:2]]
        for _ in range(6):  # new connections: both workers read some
            assert web.post(f"{url}/v1/recognize", files=files).status_code == 200
        counts = {web.get(f"{url}/v1/models").json()["models"][0]["images_read"]
                  for _ in range(8)}  # fmt: skip
        assert counts == {12}  # the service's count, whichever worker answers
        os.kill(process.pid, signal.SIGKILL)  # the supervisor dies: its workers must not serve on alone
        process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(map(running, seen)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(map(running, seen))
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def running(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
