"""How long a reading pool takes to start: workers forked from a preloaded fork server
(`seqocr.pool`'s way) against spawned workers, each importing seqocr and torch itself.

    python benchmarks/pool_start.py [--workers 2] [--rounds 3]

Each round times `ReadingPool(...)` until every worker has loaded the model
(`warm_up`), for a program's first pool and for a second one; the figures are the
medians of the rounds, each round a fresh program. Writes benchmarks/results/pool_start.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from common import invocation, write_results
from seqocr.pool import start_methods

ROUND = """
import json, sys, time
import seqocr.pool
if __name__ == "__main__":
    seconds = []
    for _ in range(2):
        started = time.perf_counter()
        with seqocr.pool.ReadingPool("digits", workers=int(sys.argv[2]), start_method=sys.argv[1]) as pool:
            pool.warm_up()
        seconds.append(time.perf_counter() - started)
    print(json.dumps(seconds))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    methods = start_methods()
    rounds: dict[str, list[list[float]]] = {method: [] for method in methods}
    for _ in range(args.rounds):
        for method in methods:  # in alternation: the VM's drift falls on both
            command = [sys.executable, "-c", ROUND, method, str(args.workers)]
            rounds[method].append(json.loads(subprocess.run(command, capture_output=True, check=True).stdout))
    results = {
        "command": invocation(),
        "workers": args.workers,
        "seconds": {
            method: {
                "first_pool": statistics.median(r[0] for r in runs),
                "second_pool": statistics.median(r[1] for r in runs),
                "rounds": runs,
            }
            for method, runs in rounds.items()
        },
    }
    path = write_results("pool_start", results)
    for method, figures in results["seconds"].items():
        print(
            f"{method:<10} a pool of {args.workers}: first {figures['first_pool']:.2f} s, "
            f"second {figures['second_pool']:.2f} s (median of {args.rounds})"
        )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
