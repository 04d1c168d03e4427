"""Located crops: what the reader sees after the locator, as a labelled folder to
fine-tune it on (`seqocr data crops`).

Each synthetic training cell (data/cells.py) is located by the given locator, and each
of its strings that the locator found (IoU >= 0.5) is cut out exactly as reading cuts
it (the box and a margin, from the full-resolution image: Recognizer.located_cut) and
written with its text. The reader, trained on tight crops, then learns the crops it
will really be given: a piece of underline or rule, a trailing mark, a bit of margin.

A crop is kept only when it could be read: the cut holds the whole string (`holds`)
and the string is at least MIN_HEIGHT pixels high. IoU >= 0.5 alone lets a cut miss a
digit its label names, or keep a string of 3 px, and training on those teaches the
reader to invent digits it cannot see.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from seqocr.boxes import Box, iou
from seqocr.data.cells import CellSynth
from seqocr.data.folder import HEADER, LABELS_FILE
from seqocr.errors import SeqocrError
from seqocr.evaluate.metrics import IOU_MATCH
from seqocr.files import output_folder, reason, write_whole
from seqocr.locating import StringLocator
from seqocr.recognizer import located_cut

MIN_HEIGHT = 8  # pixels: a string lower than this is not a crop to learn reading from
SLACK = 0.05  # of the string's height: how much of its ink a cut may miss and still hold it


def write_located_crops(locator: StringLocator, out: str | Path, count: int, seed: int = 0, start: int = 0) -> int:
    """Locate the strings of cells start..start+count-1 and write the crops of those found
    whole, with their texts, into `out` (PNG files and labels.tsv); returns how many."""
    out = output_folder(out, "the crops")
    synth = CellSynth(seed, "train")
    rows = [HEADER]
    for index in range(start, start + count):
        cell = synth.sample(index)
        image = Image.fromarray(cell.image)
        found = [region.box for region in locator.locate([image])[0]]
        for k, (truth, text) in enumerate(zip(cell.boxes, cell.texts, strict=True)):
            scores = [iou(box, truth) for box in found]
            if not scores or max(scores) < IOU_MATCH:
                continue
            cut = located_cut(found[scores.index(max(scores))], image.size)
            if truth[3] - truth[1] < MIN_HEIGHT or not holds(cut, truth):
                continue
            name = f"{index:07d}-{k}.png"
            try:
                image.crop(cut).save(out / name)
            except OSError as error:
                raise SeqocrError(f"{out / name}: cannot write the crop ({reason(error)})") from None
            rows.append(f"{name}\t{text}")
    write_whole(out / LABELS_FILE, "\n".join(rows) + "\n", "the labels")
    return len(rows) - 1


def holds(cut: tuple[int, int, int, int], truth: Box) -> bool:
    """Whether `cut` holds all of the string whose ink box is `truth`, give or take SLACK of
    its height (at least a pixel) on each side."""
    slack = max(1.0, SLACK * (truth[3] - truth[1]))
    return (
        cut[0] <= truth[0] + slack
        and cut[1] <= truth[1] + slack
        and cut[2] >= truth[2] - slack
        and cut[3] >= truth[3] - slack
    )
