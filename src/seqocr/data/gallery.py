"""One picture of every synthesis style and effect: `seqocr data synth --gallery OUT.png`.

Each row names what it shows: a style's own strings, then each effect of
data/effects.py drawn alone (probability 1, every other effect 0) on the same digits,
then alphanumeric strings in each captcha style (data/text_synth.py), then the
locator's training cells and fields (data/cells.py) with their true boxes.
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from seqocr.config import SynthConfig
from seqocr.data.cells import Cell, CellSynth
from seqocr.data.conventions import CONVENTIONS
from seqocr.data.effects import EFFECTS
from seqocr.data.mnist import Digits, load_split
from seqocr.data.synth import STYLES, DigitStringSynth
from seqocr.data.text_synth import HELD_OUT_STYLES, TextSynth, TextSynthConfig
from seqocr.data.text_synth import STYLES as STYLES_OF_TEXT
from seqocr.errors import SeqocrError

ROW_HEIGHT = 40
CELL_ROW_HEIGHT = 110
LABEL_WIDTH = 150
PER_ROW = 3  # strings a row
CELL_ROWS = 3  # rows of training cells


def draw_gallery(out: str | Path, seed: int = 0, digits: Digits | None = None) -> Path:
    """Write the gallery PNG to `out` and return its path."""
    out = Path(out)
    if out.is_dir():
        raise SeqocrError(f"{out}: is a directory; give the gallery a file name such as gallery.png")
    if not out.parent.is_dir():
        raise SeqocrError(f"{out}: cannot write the gallery (no folder {out.parent})")
    digits = digits if digits is not None else load_split("train")
    rows: list[tuple[str, list[np.ndarray]]] = []  # (label, images (H, W) or (H, W, 3))
    for style in STYLES:
        synth = DigitStringSynth(SynthConfig(split="train", seed=seed, style=style), digits=digits)
        rows.append((f"style {style}", [synth.sample(i)[0] for i in range(PER_ROW)]))
    for effect in EFFECTS:
        alone = tuple((name, 1.0 if name == effect else 0.0) for name in EFFECTS)
        config = SynthConfig(split="train", seed=seed, min_len=4, max_len=7, style="touching", effects=alone)
        synth = DigitStringSynth(config, digits=digits)
        rows.append((effect, _showing(synth, effect)))
    for style in STYLES_OF_TEXT:
        text = TextSynth(TextSynthConfig(seed=seed, styles=(style,)))
        held_out = " (held out)" if style in HELD_OUT_STYLES else ""
        rows.append((f"text {style}{held_out}", [text.sample(i)[0] for i in range(PER_ROW)]))
    cells = CellSynth(seed)
    for r in range(CELL_ROWS):
        rows.append(("cells (true boxes)", [_boxed(cells.sample(r * PER_ROW + i)) for i in range(PER_ROW)]))
    picture = _compose(rows)
    try:
        picture.save(out, format="PNG")
    except OSError as error:
        raise SeqocrError(f"{out}: cannot write the gallery ({error.strerror or error})") from None
    return out


def _showing(synth: DigitStringSynth, effect: str) -> list[np.ndarray]:
    """The first strings that show `effect`: any string, or one holding the digit a
    writers' convention changes."""
    digit = next((char for char, (name, _) in CONVENTIONS.items() if name == effect), None)
    samples = (synth.sample(i) for i in range(1000))
    return list(islice((image for image, text in samples if digit is None or digit in text), PER_ROW))


def _boxed(cell: Cell) -> np.ndarray:
    picture = Image.fromarray(cell.image).convert("RGB")
    draw = ImageDraw.Draw(picture)
    for box in cell.boxes:
        draw.rectangle(box, outline=(230, 40, 40), width=2)
    return np.asarray(picture)


def _compose(rows: list[tuple[str, list[np.ndarray]]]) -> Image.Image:
    scaled: list[tuple[str, list[Image.Image]]] = []
    for label, arrays in rows:
        height = CELL_ROW_HEIGHT if arrays[0].ndim == 3 else ROW_HEIGHT
        resized = [Image.fromarray(i).resize((max(1, round(i.shape[1] * height / i.shape[0])), height)) for i in arrays]
        scaled.append((label, resized))
    width = LABEL_WIDTH + max(sum(i.width + 8 for i in images) for _, images in scaled)
    picture = Image.new("RGB", (width, sum(images[0].height + 6 for _, images in scaled)), (160, 160, 160))
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default(size=16)
    y = 3
    for label, pictures in scaled:
        draw.text((6, y + pictures[0].height // 2 - 9), label, fill=(0, 0, 0), font=font)
        x = LABEL_WIDTH
        for image in pictures:
            picture.paste(image.convert("RGB"), (x, y))
            x += image.width + 8
        y += pictures[0].height + 6
    return picture
