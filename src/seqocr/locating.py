"""Finding the digit strings in an image: cells, fields and photos, not only tight crops.

`StringLocator` runs the locator network (models/locator.py) on a grey copy of the
image fitted into 640x224 working pixels, thresholds its quarter-resolution text map and
gives each connected region's box, in the input image's pixels, in reading order.
`looks_tight` tells whether an image looks like a tight crop of one line (no band,
rule or frame at its edges); `--locate auto` (Recognizer.second_looks) locates only
images that do not, or whose whole-image reading is unsure, so tight crops keep their
speed.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from scipy import ndimage

from seqocr.boxes import Box
from seqocr.checkpoint import Checkpoint
from seqocr.data.transform import INK_LEVEL, flatten_alpha, mostly_light
from seqocr.errors import SeqocrError
from seqocr.files import atomic_path
from seqocr.models.locator import STRIDE, Locator
from seqocr.paths import cache_dir
from seqocr.pretrained import resolve_model

# Training fits each cell into 640x160 working pixels; reading fits an image into 640x224,
# so the strings of a cell are 1.4 times larger than the network learnt them: more are
# found whole, small ones above all. Long fields keep the 640 width: wider, the located
# reading of documents lost to the whole-image one (docs/results.md, the locator's working size).
TRAIN_HEIGHT = 160
READ_HEIGHT = 224
WORK_WIDTH = 640
MAX_UPSCALE = 4.0  # small images are enlarged at most this much
MAX_PIXELS = 12_000_000  # the locator's budget: a 12 MP photo; larger pages must be cut first
MULTIPLE = 32  # the network halves the resolution five times
THRESHOLD = 0.5  # map cells above this probability are text
MIN_CELLS = 2  # regions smaller than this (in map cells) are specks, not strings
LOCATE_MODES = ("auto", "on", "off")


@dataclass(frozen=True)
class Region:
    """A string found: its box in the input image's pixels and the mean text probability inside."""

    box: Box
    score: float
    mass: float  # the summed probability: which string is the main one


def working_image(image: Image.Image, name: str = "image", fit: int = READ_HEIGHT) -> tuple[np.ndarray, float]:
    """The grey (h, w) float32 copy in [0, 1] the locator reads, fitted into 640 x `fit`
    pixels and padded to multiples of 32 with its median, and the scale (working pixels
    per input pixel)."""
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise SeqocrError(
            f"{name}: too large for the locator ({width}x{height} = {width * height:,} pixels, limit "
            f"{MAX_PIXELS:,}); cut out the part that holds the number, or pass --locate off"
        )
    scale = min(fit / height, WORK_WIDTH / width, MAX_UPSCALE)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    grey = flatten_alpha(image).convert("L")
    levels = np.asarray(grey.resize(size, Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR))
    padded_h, padded_w = -(-size[1] // MULTIPLE) * MULTIPLE, -(-size[0] // MULTIPLE) * MULTIPLE
    canvas = np.full((padded_h, padded_w), median_level(levels), np.float32)
    canvas[: size[1], : size[0]] = levels.astype(np.float32) / 255.0
    return canvas, scale


def median_level(grey: np.ndarray) -> float:
    """The median of 8-bit `grey` as a level in [0, 1], equal to np.median of its float
    copy, from a histogram: np.median sorts the image, which costs a tenth of locating a
    cell (docs/results.md: Reading the number where it stands, Speed)."""
    counts = np.bincount(grey.ravel(), minlength=256).cumsum()
    n = int(counts[-1])
    middle = np.searchsorted(counts, [(n - 1) // 2, n // 2], side="right").astype(np.float32) / np.float32(255.0)
    return float(np.mean(middle))


def regions_of(probability: np.ndarray, scale: float, size: tuple[int, int]) -> list[Region]:
    """The connected regions of a (h, w) text map as boxes in the input's pixels (`size`:
    its width and height), in reading order."""
    labels, _ = ndimage.label(probability > THRESHOLD)
    regions = []
    for k, where in enumerate(ndimage.find_objects(labels), start=1):
        if where is None:
            continue
        inside = labels[where] == k
        if int(inside.sum()) < MIN_CELLS:
            continue
        values = probability[where][inside]
        rows, cols = where
        top, bottom = _edges(probability[:, cols].max(axis=1), rows.start, rows.stop)
        left, right = _edges(probability[rows, :].max(axis=0), cols.start, cols.stop)
        to_input = STRIDE / scale
        box = (
            max(0.0, left * to_input),
            max(0.0, top * to_input),
            min(float(size[0]), right * to_input),
            min(float(size[1]), bottom * to_input),
        )
        if box[2] > box[0] and box[3] > box[1]:
            rounded = (round(box[0], 1), round(box[1], 1), round(box[2], 1), round(box[3], 1))
            regions.append(Region(rounded, float(values.mean()), float(values.sum())))
    return reading_order(joined(regions))


def joined(regions: list[Region]) -> list[Region]:
    """Regions that are pieces of one string, joined: a tall glyph whose map broke between
    its strokes (one piece above the other), or a string broken between two digits (side
    by side, level, closer than a fifth of their height)."""
    regions = list(regions)
    merged = True
    while merged:
        merged = False
        for i in range(len(regions)):
            for j in range(i + 1, len(regions)):
                if _pieces_of_one(regions[i].box, regions[j].box):
                    a, b = regions[i], regions[j]
                    box = (min(a.box[0], b.box[0]), min(a.box[1], b.box[1]), max(a.box[2], b.box[2]),
                           max(a.box[3], b.box[3]))  # fmt: skip
                    mass = a.mass + b.mass
                    regions[i] = Region(box, (a.score * a.mass + b.score * b.mass) / mass, mass)
                    del regions[j]
                    merged = True
                    break
            if merged:
                break
    return regions


def _pieces_of_one(a: Box, b: Box) -> bool:
    width_a, width_b, height = a[2] - a[0], b[2] - b[0], max(a[3] - a[1], b[3] - b[1])
    overlap_x = min(a[2], b[2]) - max(a[0], b[0])
    overlap_y = min(a[3], b[3]) - max(a[1], b[1])
    gap_x, gap_y = -overlap_x, -overlap_y
    stacked = overlap_x >= 0.5 * min(width_a, width_b) and gap_y <= JOIN_STACKED * height
    level = overlap_y >= 0.6 * min(a[3] - a[1], b[3] - b[1]) and gap_x <= JOIN_LEVEL * height
    return stacked or level


JOIN_STACKED = 0.25  # pieces one above the other join across a gap up to this share of their height
JOIN_LEVEL = 0.2  # side by side, up to this share: a printed "$" or label sits further away


def _edges(profile: np.ndarray, start: int, stop: int) -> tuple[float, float]:
    """A region's edges along one axis to a fraction of a cell: a cell's value is the share
    of it inside the box, so the first cell in and the one before it say where the box begins."""
    before = float(profile[start - 1]) if start > 0 else 0.0
    after = float(profile[stop]) if stop < len(profile) else 0.0
    first, last = min(1.0, float(profile[start])), min(1.0, float(profile[stop - 1]))
    return start + (1.0 - first) - min(before, THRESHOLD), stop - (1.0 - last) + min(after, THRESHOLD)


def reading_order(regions: list[Region]) -> list[Region]:
    """Top to bottom by lines (a region starts a new line when it lies below the current
    line's middle), left to right within a line."""
    lines: list[list[Region]] = []
    for region in sorted(regions, key=lambda r: r.box[1]):
        if lines and region.box[1] < _middle(lines[-1]):
            lines[-1].append(region)
        else:
            lines.append([region])
    return [r for line in lines for r in sorted(line, key=lambda r: r.box[0])]


def _middle(line: list[Region]) -> float:
    return float(np.mean([(r.box[1] + r.box[3]) / 2 for r in line]))


def main_region(regions: Sequence[Region]) -> Region | None:
    """The string a one-answer reading gives: the one with the most text probability."""
    return max(regions, key=lambda r: r.mass, default=None)


class StringLocator:
    """A trained locator, ready to find strings. It runs on the CPU under ONNX Runtime, one
    thread: exported once per checkpoint into the user cache and checked against PyTorch
    (PyTorch's eager convolutions take several times longer on images this small:
    docs/results.md); where the export fails its check, PyTorch runs it."""

    def __init__(self, model: Locator, path: str = "locator", session: Any = None):
        self.model = model.eval()
        self.path = path
        self.session = session

    @classmethod
    def load(cls, name_or_path: str | Path = "locator", onnx: bool = True) -> StringLocator:
        path = resolve_model(name_or_path)
        model = Checkpoint.load(path).build_model(str(path))
        if not isinstance(model, Locator):
            raise SeqocrError(f"{path}: not a locator (its architecture is {type(model).__name__})")
        return cls(model, str(path), _onnx_session(model, path) if onnx else None)

    @torch.inference_mode()
    def text_map(self, pixels: np.ndarray) -> np.ndarray:
        """A working image (h, w) -> the probability (h/4, w/4) that each cell is in a string."""
        batch = pixels[None, None]
        if self.session is not None:
            logits = self.session.run(None, {"images": batch})[0]
            return 1.0 / (1.0 + np.exp(-logits[0, 0]))  # type: ignore[no-any-return]
        return self.model(torch.from_numpy(batch))[0, 0].sigmoid().numpy()  # type: ignore[no-any-return]

    def locate(self, images: Sequence[Image.Image], names: Sequence[str] | None = None) -> list[list[Region]]:
        """Every string in each image, in reading order (an empty list where none is found)."""
        names = names or [f"image {i}" for i in range(len(images))]
        found = []
        for image, name in zip(images, names, strict=True):
            pixels, scale = working_image(image, name)
            found.append(regions_of(self.text_map(pixels), scale, image.size))
        return found


def _onnx_session(model: Locator, checkpoint: Path) -> Any:
    """An ONNX Runtime session running `model`, exported under the checkpoint's content hash;
    None when the export or its check against PyTorch fails."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()[:20]
    path = cache_dir() / "onnx" / f"{checkpoint.stem}-locator-{digest}.onnx"
    probe = np.random.default_rng(0).random((1, 1, 96, 128), dtype=np.float32)
    try:
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            with warnings.catch_warnings(), atomic_path(path) as tmp:
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    model, (torch.from_numpy(probe),), str(tmp), input_names=["images"], output_names=["logits"],
                    dynamic_axes={"images": {0: "batch", 2: "height", 3: "width"}}, opset_version=17, dynamo=False,
                )  # fmt: skip
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.log_severity_level = 3
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        with torch.inference_mode():
            expected = model(torch.from_numpy(probe)).numpy()
        if not np.allclose(session.run(None, {"images": probe})[0], expected, atol=1e-3):
            return None
        return session
    except Exception:  # noqa: BLE001  (any export or runtime failure: PyTorch runs it instead)
        return None


def looks_tight(image: Image.Image) -> bool:
    """Whether `image` looks like a tight crop of one line, as the recogniser's training
    images are: no border strip is mostly ink (a scanner band, a cell's rule, a frame)
    and no row is ink almost across the image (a table rule). Ink is what the
    recogniser's preprocessing calls ink; measured on a copy at most 48 px high, in
    8-bit integers, so it costs a fraction of a reading. docs/how-it-works.md gives how
    often it holds on each test suite."""
    grey = image if image.mode == "L" else flatten_alpha(image).convert("L")
    if grey.height > TIGHT_PROBE:
        grey = grey.resize((max(1, round(grey.width * TIGHT_PROBE / grey.height)), TIGHT_PROBE), Image.Resampling.BOX)
    pixels = np.asarray(grey)
    low, high = int(pixels.min()), int(pixels.max())
    span = high - low if high > low else 255
    light = mostly_light(pixels)  # dark ink on paper
    ink = pixels < high - INK_LEVEL * span if light else pixels > low + INK_LEVEL * span
    height, width = ink.shape
    strip = max(1, round(0.04 * min(height, width)))
    edges = (ink[:strip], ink[-strip:], ink[:, :strip], ink[:, -strip:])
    if max(np.count_nonzero(e) / e.size for e in edges) > TIGHT_EDGE_INK:
        return False
    return int(np.count_nonzero(ink, axis=1).max()) <= TIGHT_ROW_INK * width


TIGHT_PROBE = 48  # rows of the copy the tightness is measured on
TIGHT_EDGE_INK = 0.3  # no border strip is more than this share ink...
TIGHT_ROW_INK = 0.85  # ...and no row is more than this share ink
