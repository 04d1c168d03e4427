"""USPS handwritten digits (US Postal Service envelopes): other writers than MNIST's.

Found where MNIST is (`$SEQOCR_DATA_DIR/usps`, the user cache) or downloaded there with
checksums. Each file holds one digit a line: its label, then 256 values in [-1, 1]
(16x16, light digit on dark). Training strings mix these digits in (the `usps` effect);
test strings never do.
"""

from __future__ import annotations

import gzip
import hashlib
import urllib.request
from pathlib import Path

import numpy as np

from seqocr.data.mnist import Digits, dataset_dirs
from seqocr.errors import SeqocrError
from seqocr.files import write_atomic
from seqocr.paths import cache_dir

FILES = {
    "train": ("zip.train.gz", "66ebf231ab51f2cf6ac1a892d0f98ccffee1079d7a5db638c1f11f366046ca16"),
    "test": ("zip.test.gz", "8dacc3c6e136af6c3488de9e5113a7daf140c8c2f1f0b61c54ee02f03f1a962f"),
}
URL = "https://hastie.su.domains/ElemStatLearn/datasets/"


def load_usps(split: str = "train") -> Digits:
    """The USPS digits of `split` ("train": 7,291, "test": 2,007) as 16x16 uint8 images,
    light ink on black like MNIST's."""
    name, sha256 = FILES[split]
    path = _find(name, sha256)
    try:
        with gzip.open(path) as f:
            rows = np.loadtxt(f, dtype=np.float32)
    except (OSError, EOFError, ValueError) as error:
        raise SeqocrError(f"{path}: cannot read USPS digits ({error})") from None
    if rows.ndim != 2 or rows.shape[1] != 257:
        raise SeqocrError(f"{path}: expected 257 values a line (a label and 16x16 pixels)")
    images = np.clip((rows[:, 1:] + 1.0) * 127.5, 0, 255).astype(np.uint8).reshape(-1, 16, 16)
    return Digits(images, rows[:, 0].astype(np.int64))


def _find(name: str, sha256: str) -> Path:
    dirs = dataset_dirs("usps")
    for directory in dirs:
        if (directory / name).is_file():
            return directory / name
    target = cache_dir() / "usps"
    try:
        with urllib.request.urlopen(URL + name, timeout=30) as response:
            payload = response.read()
    except OSError as error:
        looked = ", ".join(str(d) for d in dirs)
        raise SeqocrError(f"USPS digits not found in {looked} and the download failed ({error})") from None
    if hashlib.sha256(payload).hexdigest() != sha256:
        raise SeqocrError(f"{URL + name}: failed its checksum; not the USPS file")
    target.mkdir(parents=True, exist_ok=True)
    write_atomic(target / name, payload)
    return target / name
