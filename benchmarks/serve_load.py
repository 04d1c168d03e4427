"""A bounded load test of `seqocr serve` on loopback: N requests from C concurrent clients.

    python benchmarks/serve_load.py [--requests 2000] [--clients 8] [--backend torch] [--workers 1,2]

Starts the real server on a free port, with each number of worker processes in turn,
sends one default-style digit string (MNIST test digits) per request as a multipart
upload, and reports throughput, latency percentiles, errors and (with one worker) how
many images a network run (batch) served. Then, with one worker, a normal client's
latency while 4 hostile clients keep sending requests of 64 thin striped PNGs (8 x
1,020 px: 4,080 px wide for the network), which the service must refuse cheaply.
Writes benchmarks/results/serve_load.json.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from PIL import Image

from common import start_seqocr_server, write_results
from seqocr.evaluate.speed import bench_images, percentiles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--backend", choices=("torch", "onnx"), default="torch")
    parser.add_argument("--workers", default="1,2", help="worker counts to measure, comma-separated")
    args = parser.parse_args()

    pngs = []
    for array in bench_images(None, 200):
        out = io.BytesIO()
        Image.fromarray(array).save(out, format="PNG")
        pngs.append(out.getvalue())
    runs = [load_test(args, pngs, int(workers)) for workers in args.workers.split(",")]
    hostile = amplified_load(args, pngs)
    path = write_results("serve_load", {"backend": args.backend, "runs": runs, "amplifying_clients": hostile})
    for r in runs:
        lat = r["latency_ms"]
        print(
            f"{args.requests} requests from {args.clients} clients ({args.backend}, {r['workers']} worker(s)): "
            f"{r['requests_per_s']:.0f} requests/s, latency p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms, "
            f"{r['errors']} errors"
        )
    lat = hostile["normal_latency_ms"]
    print(
        f"beside 4 amplifying clients: a normal client's p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms "
        f"(target <= 250 ms); the amplifying requests got {hostile['amplifying_statuses']}, "
        f"{hostile['amplifying_requests_per_s']:.0f} a second"
    )
    print(f"wrote {path}")


def amplified_load(args: argparse.Namespace, pngs: list[bytes], seconds: float = 15) -> dict:
    """One worker; 4 clients loop on 64-stripe requests while one client reads normally."""
    import numpy as np

    stripes = np.zeros((8, 1020), np.uint8)
    stripes[:, ::4] = 255
    buffer = io.BytesIO()
    Image.fromarray(stripes).save(buffer, format="PNG")
    thin = [("images", (f"{i}.png", buffer.getvalue(), "image/png")) for i in range(64)]
    url, server = _start(args, 1)
    try:
        stop = time.monotonic() + seconds
        statuses: dict[int, int] = {}

        def hostile(_: int) -> None:
            with httpx.Client(timeout=60) as client:
                while time.monotonic() < stop:
                    code = client.post(f"{url}/v1/recognize", files=thin).status_code
                    statuses[code] = statuses.get(code, 0) + 1

        def normal() -> list[float]:
            latencies = []
            with httpx.Client(timeout=60) as client:
                while time.monotonic() < stop:
                    started = time.perf_counter()
                    files = [("images", ("a.png", pngs[len(latencies) % len(pngs)], "image/png"))]
                    assert client.post(f"{url}/v1/recognize", files=files).status_code == 200
                    latencies.append(1000 * (time.perf_counter() - started))
            return latencies

        with ThreadPoolExecutor(5) as pool:
            hostiles = [pool.submit(hostile, i) for i in range(4)]
            latencies = pool.submit(normal).result()
            for h in hostiles:
                h.result()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "seconds": seconds,
        "normal_requests": len(latencies),
        "normal_latency_ms": percentiles(latencies),
        "amplifying_statuses": {str(k): v for k, v in statuses.items()},
        "amplifying_requests_per_s": sum(statuses.values()) / seconds,
        "target_p99_ms": 250,
    }


def _start(args: argparse.Namespace, workers: int) -> tuple[str, subprocess.Popen]:
    return start_seqocr_server(["serve", "--backend", args.backend, "--workers", str(workers)])


def load_test(args: argparse.Namespace, pngs: list[bytes], workers: int) -> dict:
    url, server = _start(args, workers)
    try:
        client = httpx.Client(timeout=60, limits=httpx.Limits(max_connections=args.clients))
        for i in range(4 * workers):  # every worker warms up (connections go to whichever accepts)
            client.post(f"{url}/v1/recognize", files=[("images", ("warm.png", pngs[i], "image/png"))])
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
        server.wait(timeout=30)
    batches = after["batches"] - before["batches"]
    return {
        "workers": workers,
        "requests": args.requests,
        "clients": args.clients,
        "errors": sum(status != 200 for status, _ in outcomes),
        "requests_per_s": args.requests / seconds,
        "latency_ms": percentiles([latency for _, latency in outcomes]),
        "mean_batch_size": args.requests / max(batches, 1),  # /v1/models counts for the whole service
    }


if __name__ == "__main__":
    main()
