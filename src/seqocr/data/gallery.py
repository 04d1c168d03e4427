"""One picture of every synthesis style and effect: `seqocr data synth --gallery OUT.png`.

Each row names what it shows: a style's own strings, then each effect of
data/effects.py drawn alone (probability 1, every other effect 0) on the same digits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from seqocr.config import SynthConfig
from seqocr.data.effects import EFFECTS
from seqocr.data.mnist import Digits, load_split
from seqocr.data.synth import STYLES, DigitStringSynth
from seqocr.errors import SeqocrError

ROW_HEIGHT = 40
LABEL_WIDTH = 150
PER_ROW = 3  # strings a row


def draw_gallery(out: str | Path, seed: int = 0, digits: Digits | None = None) -> Path:
    """Write the gallery PNG to `out` and return its path."""
    out = Path(out)
    if out.is_dir():
        raise SeqocrError(f"{out}: is a directory; give the gallery a file name such as gallery.png")
    if not out.parent.is_dir():
        raise SeqocrError(f"{out}: cannot write the gallery (no folder {out.parent})")
    digits = digits if digits is not None else load_split("train")
    rows: list[tuple[str, list[np.ndarray]]] = []
    for style in STYLES:
        synth = DigitStringSynth(SynthConfig(split="train", seed=seed, style=style), digits=digits)
        rows.append((f"style {style}", [synth.sample(i)[0] for i in range(PER_ROW)]))
    for effect in EFFECTS:
        alone = tuple((name, 1.0 if name == effect else 0.0) for name in EFFECTS)
        config = SynthConfig(split="train", seed=seed, min_len=4, max_len=7, style="touching", effects=alone)
        synth = DigitStringSynth(config, digits=digits)
        rows.append((effect, [synth.sample(i)[0] for i in range(PER_ROW)]))
    picture = _compose(rows)
    try:
        picture.save(out, format="PNG")
    except OSError as error:
        raise SeqocrError(f"{out}: cannot write the gallery ({error.strerror or error})") from None
    return out


def _compose(rows: list[tuple[str, list[np.ndarray]]]) -> Image.Image:
    scaled = [
        (
            label,
            [
                Image.fromarray(i).resize((max(1, round(i.shape[1] * ROW_HEIGHT / i.shape[0])), ROW_HEIGHT))
                for i in images
            ],
        )
        for label, images in rows
    ]
    width = LABEL_WIDTH + max(sum(i.width + 8 for i in images) for _, images in scaled)
    picture = Image.new("L", (width, len(rows) * (ROW_HEIGHT + 6)), 160)
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default(size=16)
    for r, (label, images) in enumerate(scaled):
        y = r * (ROW_HEIGHT + 6) + 3
        draw.text((6, y + ROW_HEIGHT // 2 - 9), label, fill=0, font=font)
        x = LABEL_WIDTH
        for image in images:
            picture.paste(image, (x, y))
            x += image.width + 8
    return picture
