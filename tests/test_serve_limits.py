"""A service that cannot be tied up: slow clients are cut off, oversized and malformed
requests get one 4xx line, and none of it floods the log."""

import io
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from test_serve import start_server, web

pytestmark = pytest.mark.heavy

TIMEOUT_S = 1


@pytest.fixture(scope="module")
def server():
    """A server with a 1 s request deadline, at most 2 megapixels per request and 400,000
    pixels of network work: (port, url, process)."""
    port, url, process = start_server(
        "--max-images",
        "4",
        "--request-timeout",
        str(TIMEOUT_S),
        "--max-request-pixels",
        "2000000",
        "--max-request-work",
        "400000",
    )
    yield port, url, process
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=10)


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes `sock` within `seconds`."""
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
        return True
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_slow_or_short_clients_are_cut_off_after_the_request_deadline(server):
    port, url, _ = server
    sent = [
        b"POST /v1/recognize HTTP/1.1\r\nHost: x\r\n",  # headers that never end
        b"POST /v1/recognize HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
        b"",  # a connection that sends nothing
    ]

    def seconds_until_closed(part: bytes) -> float | None:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(part)
            started = time.monotonic()
            return time.monotonic() - started if closed_within(sock, TIMEOUT_S + 3) else None

    with ThreadPoolExecutor(len(sent)) as clients:  # together: the suite waits for the deadline once
        waited = list(clients.map(seconds_until_closed, sent))
    assert all(seconds is not None and seconds >= TIMEOUT_S - 0.5 for seconds in waited), waited
    assert web.get(f"{url}/healthz").status_code == 200


def test_a_request_whose_images_decode_to_too_many_pixels_together_is_refused_before_decoding(server):
    _, url, _ = server
    palette = Image.fromarray(np.zeros((1000, 1000), np.uint8)).convert("P")
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG")
    small = buffer.getvalue()  # a few kilobytes that decode to a megapixel
    files = [("images", (f"{i}.png", small, "image/png")) for i in range(3)]
    response = web.post(f"{url}/v1/recognize", files=files)
    assert response.status_code == 413
    assert "3,000,000 pixels, limit 2,000,000 per request" in response.text


def test_json_nested_too_deeply_is_a_400_not_a_500(server):
    _, url, _ = server
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"images": ' + b"[" * 100_000):
        response = web.post(f"{url}/v1/recognize", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 400 and "not valid JSON" in response.text


def test_too_many_images_is_413_whether_sent_as_json_or_multipart(server):
    _, url, _ = server
    image = io.BytesIO()
    Image.new("L", (40, 20), 255).save(image, format="PNG")
    many = [("images", (f"{i}.png", image.getvalue(), "image/png")) for i in range(9)]
    assert web.post(f"{url}/v1/recognize", files=many).status_code == 413
    import base64

    encoded = base64.b64encode(image.getvalue()).decode()
    assert web.post(f"{url}/v1/recognize", json={"images": [encoded] * 9}).status_code == 413


def test_thin_images_that_amplify_the_networks_work_are_refused_from_their_headers(server):
    _, url, _ = server
    stripes = np.zeros((8, 1020), np.uint8)
    stripes[:, ::4] = 255
    buffer = io.BytesIO()
    Image.fromarray(stripes).save(buffer, format="PNG")  # 8 px high: 4,080 x 32 for the network
    files = [("images", (f"{i}.png", buffer.getvalue(), "image/png")) for i in range(4)]
    started = time.monotonic()
    response = web.post(f"{url}/v1/recognize", files=files)
    assert response.status_code == 413 and "limit 400,000 per request" in response.text
    assert 0.5 <= time.monotonic() - started < 1.5  # answered late, so a loop of them is slow to send


def test_an_integer_too_long_for_python_is_a_400_and_a_long_model_name_is_not_echoed(server):
    _, url, _ = server
    body = b'{"images": [], "model": ' + b"9" * 5000 + b"}"
    response = web.post(f"{url}/v1/recognize", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400 and "not valid JSON" in response.text
    image = io.BytesIO()
    Image.new("L", (40, 20), 255).save(image, format="PNG")
    files = [("images", ("a.png", image.getvalue(), "image/png"))]
    response = web.post(f"{url}/v1/recognize", files=files, data={"model": "m" * 100_000})
    assert response.status_code == 404 and len(response.text) < 300 and "available: digits" in response.text


def test_silent_sockets_are_closed_at_the_line_deadline_and_clients_that_leave_mid_body_log_one_line_each():
    port, url, process = start_server("--request-timeout", "20", "--line-timeout", "1", "--max-connections", "64")
    try:
        silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(100)]
        started = time.monotonic()
        assert all(closed_within(sock, 4) for sock in silent[:5])
        assert time.monotonic() - started < 4  # not the 20 s request deadline
        time.sleep(0.2)
        assert web.get(f"{url}/healthz").status_code == 200  # they held no one out
        for sock in silent:
            sock.close()
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(b"POST /v1/recognize HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
                sock.sendall(b"Content-Length: 5000\r\n\r\n" + b"{" * 100)
                time.sleep(0.1)
        time.sleep(0.2)
        assert web.get(f"{url}/healthz").status_code == 200
    finally:
        process.terminate()
        log = process.communicate(timeout=20)[0]
    assert "Traceback" not in log
    assert log.count("disconnected after") >= 3
