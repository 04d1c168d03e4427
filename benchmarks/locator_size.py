"""The locator's working size: how many strings it finds at each size it reads images at.

    python benchmarks/locator_size.py [--heights 160 192 224 256] [--widths 640 896] [-n 1000] [--cells 2000]

The bundled locator was trained on cells fitted into 640x160 working pixels; reading may
fit images into another size. Each (width, height) is measured on two sets:
- tuning: cells of the training generator (src/seqocr/data/cells.py) with a seed of their
  own, every string of each cell counted, the set the size is chosen on;
- cells: the `cells` suite (src/seqocr/data/cell_suite.py, MNIST test digits), to confirm.
Recall counts a true box found when a found box overlaps it at IoU >= 0.5, with the
regions `seqocr` reads (locating.regions_of). Writes benchmarks/results/locator-size.json.
The tight-crop suites' reading with `--locate auto` against `off` at the chosen size
is measured by accuracy.py --compare-off.
"""

from __future__ import annotations

import argparse
import time

from PIL import Image

import seqocr.locating as locating
from common import write_results
from seqocr.data.cell_suite import cell_suite
from seqocr.data.cells import CellSynth
from seqocr.data.mnist import load_split
from seqocr.evaluate.metrics import IOU_MATCH, match_boxes

TUNING_SEED = 77  # not the locator's training (0) or validation seed


def recall(locator: locating.StringLocator, items: list, height: int) -> tuple[float, float]:
    """Share of true boxes found, and milliseconds per image for locating."""
    found = total = 0
    started = time.perf_counter()
    for image, boxes in items:
        pixels, scale = locating.working_image(image, fit=height)
        regions = locating.regions_of(locator.text_map(pixels), scale, image.size)
        found += sum(i >= IOU_MATCH for i in match_boxes(boxes, [r.box for r in regions]))
        total += len(boxes)
    return found / total, 1000 * (time.perf_counter() - started) / len(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heights", nargs="+", type=int, default=[160, 192, 224, 256])
    parser.add_argument("--widths", nargs="+", type=int, default=[640, 896])
    parser.add_argument("-n", type=int, default=1000, help="tuning cells")
    parser.add_argument("--cells", type=int, default=2000, help="images of the cells suite")
    args = parser.parse_args()

    locator = locating.StringLocator.load("locator")
    synth = CellSynth(seed=TUNING_SEED, split="train")
    tuning = [(Image.fromarray(c.image), list(c.boxes)) for c in map(synth.sample, range(args.n))]
    suite = [(Image.fromarray(image), [box]) for image, _, box in cell_suite(load_split("test"), args.cells)]
    rows = []
    for width in args.widths:
        locating.WORK_WIDTH = width
        for height in args.heights:
            tuned, ms = recall(locator, tuning, height)
            confirmed, _ = recall(locator, suite, height)
            rows.append({"width": width, "height": height, "tuning_recall": tuned, "cells_recall": confirmed,
                         "ms_per_tuning_cell": ms})  # fmt: skip
            print(f"{width}x{height}: tuning {100 * tuned:.2f}%  cells {100 * confirmed:.2f}%  {ms:.2f} ms a cell")
    write_results("locator-size", {"tuning_cells": args.n, "suite_cells": args.cells, "sizes": rows})


if __name__ == "__main__":
    main()
