"""The picture in docs/how-it-works.md: the locator's text map over a few cells of the
`cells` suite, beside the boxes found and what was read in them.

    python benchmarks/locator_picture.py [--out docs/locator.png] [--count 8]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

import common  # noqa: F401  (points the loaders at ../shared/data)
import seqocr
from seqocr.data.cell_suite import cell_suite
from seqocr.data.mnist import load_split
from seqocr.evaluate.boxes import draw_readings, map_overlay
from seqocr.locating import working_image

TILE = (300, 170)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "locator.png")
    parser.add_argument("--count", type=int, default=8)
    args = parser.parse_args()

    reader = seqocr.load("digits", locate="on")
    items = cell_suite(load_split("test"), args.count)
    sheet = Image.new("RGB", (2 * TILE[0] + 30, args.count * (TILE[1] + 10) + 10), (255, 255, 255))
    for k, (array, _, _) in enumerate(items):
        image = Image.fromarray(array)
        pixels, scale = working_image(image)
        probability = reader.locator.text_map(pixels)
        rows, cols = round(image.height * scale / 4), round(image.width * scale / 4)
        overlay = map_overlay(image, probability[:rows, :cols], TILE)
        read = draw_readings(image, [reader.predict(image)]).resize(TILE)
        y = 10 + k * (TILE[1] + 10)
        sheet.paste(overlay, (10, y))
        sheet.paste(read, (TILE[0] + 20, y))
    sheet.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
