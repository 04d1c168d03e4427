"""A bounded load test of `seqocr serve` on loopback: N requests from C concurrent clients.

    python benchmarks/serve_load.py [--requests 2000] [--clients 8] [--backend torch]

Starts the real server on a free port, sends one default-style digit string (MNIST test
digits) per request as a multipart upload, and reports throughput, latency percentiles,
errors and how many network runs (batches) served them. Writes
benchmarks/results/serve_load.json.
"""

from __future__ import annotations

import argparse
import io
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from PIL import Image

from common import write_results
from seqocr.evaluate.speed import bench_images, percentiles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--backend", choices=("torch", "onnx"), default="torch")
    args = parser.parse_args()

    pngs = []
    for array in bench_images(None, 200):
        out = io.BytesIO()
        Image.fromarray(array).save(out, format="PNG")
        pngs.append(out.getvalue())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "seqocr", "serve", "--port", str(port), "--backend", args.backend]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        _wait(url)
        client = httpx.Client(timeout=60, limits=httpx.Limits(max_connections=args.clients))
        client.post(f"{url}/v1/recognize", files=[("images", ("warm.png", pngs[0], "image/png"))])
        before = client.get(f"{url}/v1/models").json()["models"][0]

        def one(i: int) -> tuple[int, float]:
            started = time.perf_counter()
            response = client.post(
                f"{url}/v1/recognize", files=[("images", (f"{i}.png", pngs[i % len(pngs)], "image/png"))]
            )
            return response.status_code, 1000 * (time.perf_counter() - started)

        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            outcomes = list(pool.map(one, range(args.requests)))
        seconds = time.perf_counter() - started
        after = client.get(f"{url}/v1/models").json()["models"][0]
    finally:
        server.terminate()
        server.wait(timeout=10)
    errors = sum(status != 200 for status, _ in outcomes)
    batches = after["batches"] - before["batches"]
    results = {
        "backend": args.backend,
        "requests": args.requests,
        "clients": args.clients,
        "errors": errors,
        "requests_per_s": args.requests / seconds,
        "latency_ms": percentiles([latency for _, latency in outcomes]),
        "batches": batches,
        "mean_batch_size": args.requests / max(batches, 1),
    }
    path = write_results("serve_load", results)
    lat = results["latency_ms"]
    print(
        f"{args.requests} requests from {args.clients} clients ({args.backend}): {results['requests_per_s']:.0f} "
        f"requests/s, latency p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms, {errors} errors, "
        f"mean batch {results['mean_batch_size']:.1f} images"
    )
    print(f"wrote {path}")


def _wait(url: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not start")


if __name__ == "__main__":
    main()
