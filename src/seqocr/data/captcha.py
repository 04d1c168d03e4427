"""captcha_images_v2 (the Keras captcha example's 1,040 images): found locally or downloaded.

Search order: `$SEQOCR_DATA_DIR/captcha_images_v2`, `../shared/data/captcha_images_v2`,
the user cache (`~/.cache/seqocr/captcha_images_v2`), then the public archive is
downloaded and unpacked into the cache. No checksum of that archive is published, so
its contents are checked instead: 1,040 PNG files named by their 5-character labels,
among them the 832 images of `captcha_known.txt`, whose bytes must match one SHA-256
taken over them (the other 208 are checked for their names only).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import tempfile
import urllib.request
import zipfile
from importlib import resources
from pathlib import Path

from seqocr.data.mnist import dataset_dirs
from seqocr.errors import SeqocrError
from seqocr.paths import cache_dir

NAME = "captcha_images_v2"
URL = "https://github.com/AakashKumarNain/CaptchaCracker/raw/master/captcha_images_v2.zip"
IMAGES = 1040
KNOWN_SHA256 = "8e8b98b9f5f1f64a5979d6d65b3ba1c08ea38f2446c411c580c55de6bcfd74c9"
LABEL = re.compile(r"[2345678bcdefgmnpwxy]{5}\.png")


def captcha_dir(download: bool = True) -> Path:
    """The first folder holding the captchas; downloads them into the cache if none does.
    Without `download`, the cache folder where a download would go (`fetch_if_missing`
    fills it when a run reads it)."""
    dirs = dataset_dirs(NAME)
    for directory in dirs:
        if directory.is_dir() and any(directory.glob("*.png")):
            return directory
    if not download:
        return cache_dir() / NAME
    looked = ", ".join(str(d) for d in dirs)
    try:
        with urllib.request.urlopen(URL, timeout=60) as response:
            archive = response.read()
    except OSError as error:
        raise SeqocrError(
            f"{NAME} not found in {looked} and the download failed ({error}); "
            f"unpack {URL} into one of those folders or set SEQOCR_DATA_DIR"
        ) from None
    return unpack(archive, cache_dir() / NAME)


def fetch_if_missing(path: Path) -> None:
    """Download the captchas when `path` is the cache folder a preset named and it is empty."""
    if path == cache_dir() / NAME and not (path.is_dir() and any(path.glob("*.png"))):
        captcha_dir(download=True)


def unpack(archive: bytes, target: Path) -> Path:
    """Check the archive's images (see the module docstring) and move them to `target`."""
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            images = {Path(n).name: zipped.read(n) for n in zipped.namelist() if n.endswith(".png")}
    except (zipfile.BadZipFile, OSError) as error:
        raise SeqocrError(f"{URL}: not a readable zip archive ({error})") from None
    known = resources.files("seqocr.data").joinpath("captcha_known.txt").read_text().split()
    digest = hashlib.sha256()
    for name in known:
        digest.update(name.encode())
        digest.update(hashlib.sha256(images.get(name, b"")).digest())
    misnamed = [name for name in images if not LABEL.fullmatch(name)]
    if len(images) != IMAGES or misnamed or digest.hexdigest() != KNOWN_SHA256:
        raise SeqocrError(f"{URL}: not the {NAME} set ({len(images)} images; failed its checks)")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{NAME}."))
    for name, data in images.items():
        (staging / name).write_bytes(data)
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)
    return target
