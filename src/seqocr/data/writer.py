"""Write a synthetic set to disk as PNG files and a labels.tsv, to see and reuse it."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from seqocr.config import SynthConfig
from seqocr.data.folder import HEADER, LABELS_FILE
from seqocr.data.synth import DigitStringSynth
from seqocr.errors import SeqocrError
from seqocr.files import output_folder, reason, write_whole


def write_synth(config: SynthConfig, out: str | Path, count: int) -> Path:
    """Render samples 0..count-1 into `out`; returns the labels file."""
    if count < 1:
        raise SeqocrError(f"-n must be at least 1, got {count}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SeqocrError(f"{out}: exists and is not a directory")
    output_folder(out, "the synthetic set")
    synth = DigitStringSynth(config)
    width = max(6, len(str(count - 1)))
    rows = [HEADER]
    for index in range(count):
        image, text = synth.sample(index)
        name = f"{index:0{width}d}.png"
        try:
            Image.fromarray(image).save(out / name)
        except OSError as error:
            raise SeqocrError(f"{out / name}: cannot write the image ({reason(error)})") from None
        rows.append(f"{name}\t{text}")
    labels = out / LABELS_FILE
    write_whole(labels, "\n".join(rows) + "\n", "the labels")  # written last: a set without it is not whole
    return labels
