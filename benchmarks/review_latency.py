"""How fast the review page answers a keystroke on a folder of 10,000 images.

    python benchmarks/review_latency.py [--images 10000] [--answers 300]

A folder of unlabelled default-style strings (500 rendered, each written under 20
names) is reviewed by `seqocr review DIR --model digits`, a server of its own on the
loopback. Then the page's work for one keystroke on an image the model reads right is
done over HTTP, as review.html does it: POST /review/answer with the reading (written
and synced to labels.tsv before the answer returns), GET /review/queue when fewer than
5 images are left in the page's buffer, and GET /review/image for the next image. The
figures are the wall-clock times of those calls together, per keystroke. Writes
benchmarks/results/review_latency.json.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image

from common import start_seqocr_server, write_results
from seqocr.config import SynthConfig
from seqocr.data.synth import DigitStringSynth
from seqocr.evaluate.speed import percentiles

TARGET_MS = 100.0
BUFFER = 50  # the page asks for this many images at a time and refills under 5


def unlabelled_folder(root: Path, count: int) -> Path:
    synth = DigitStringSynth(SynthConfig(split="test", seed=3))
    distinct = [Image.fromarray(synth.sample(i)[0]) for i in range(500)]
    for i in range(count):
        distinct[i % len(distinct)].save(root / f"{i:05d}.png")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--answers", type=int, default=300, help="keystrokes timed")
    args = parser.parse_args()

    folder = unlabelled_folder(Path(tempfile.mkdtemp(prefix="seqocr-review-")), args.images)
    started = time.monotonic()
    url, server = start_seqocr_server(["review", str(folder), "--model", "digits"], probe="/review/queue?count=1")
    ready_s = time.monotonic() - started
    client = httpx.Client(timeout=30)
    try:
        buffer = client.get(f"{url}/review/queue", params={"count": BUFFER}).json()["items"]
        keystrokes = []
        for _ in range(args.answers):
            item = buffer.pop(0)
            begun = time.perf_counter()
            answer = client.post(f"{url}/review/answer", json={"name": item["name"], "text": item["text"] or "0"})
            answer.raise_for_status()
            if len(buffer) < 5:
                buffer = client.get(f"{url}/review/queue", params={"count": BUFFER}).json()["items"]
            client.get(f"{url}/review/image", params={"name": buffer[0]["name"]}).raise_for_status()
            keystrokes.append(1000 * (time.perf_counter() - begun))
        labelled = len((folder / "labels.tsv").read_text().splitlines()) - 1
    finally:
        server.terminate()
        server.wait(timeout=30)
    results = {
        "images": args.images,
        "answers": args.answers,
        "labels_written": labelled,
        "ready_s": ready_s,
        "keystroke_ms": {**percentiles(keystrokes), "max": max(keystrokes)},
        "target_ms": TARGET_MS,
        "meets_target": max(keystrokes) <= TARGET_MS,
    }
    write_results("review_latency", results)
    ms = results["keystroke_ms"]
    print(
        f"{args.images} images, ready after {ready_s:.1f} s; {args.answers} keystrokes: "
        f"p50 {ms['p50']:.1f} ms, p99 {ms['p99']:.1f} ms, max {ms['max']:.1f} ms (target <= {TARGET_MS:.0f} ms); "
        f"{labelled} labels written"
    )


if __name__ == "__main__":
    main()
