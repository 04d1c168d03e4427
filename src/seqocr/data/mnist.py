"""MNIST from its four IDX files: found locally, in a cache, or downloaded with checksums.

Search order: an explicit directory, `$SEQOCR_DATA_DIR/mnist`, the user cache
(`$XDG_CACHE_HOME/seqocr/mnist`, default `~/.cache/seqocr/mnist`), then a download into
the cache. Each file may be gzip-compressed or raw; its decompressed content must match
the published SHA-256, so a recompressed copy is accepted and a corrupt one is not.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqocr.errors import SeqocrError
from seqocr.files import write_atomic
from seqocr.paths import cache_dir

FILES = {
    "train-images": ("train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "train-labels": ("train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "test-images": ("t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "test-labels": ("t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
VALIDATION_DIGITS = 5_000  # the last training digits, held out for validation strings


@dataclass(frozen=True)
class Digits:
    """Images (N, 28, 28) uint8, light ink on black, and their labels (N,) int64."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def candidate_dirs(root: str | Path | None = None) -> list[Path]:
    if root is not None:
        return [Path(root)]
    dirs = []
    if env := os.environ.get("SEQOCR_DATA_DIR"):
        dirs.append(Path(env) / "mnist")
    dirs.append(cache_dir() / "mnist")
    return dirs


def dataset_dirs(name: str) -> list[Path]:
    """Where the data set `name` may lie, in search order: `$SEQOCR_DATA_DIR/name`,
    `../shared/data/name` (beside the project) and the user cache."""
    dirs = [Path(env) / name] if (env := os.environ.get("SEQOCR_DATA_DIR")) else []
    return [*dirs, Path("..") / "shared" / "data" / name, cache_dir() / name]


def load_split(split: str, root: str | Path | None = None, download: bool = True) -> Digits:
    """MNIST digits of one split: "train" (55,000), "val" (5,000 held out) or "test" (10,000)."""
    if split not in ("train", "val", "test"):
        raise SeqocrError(f"unknown MNIST split {split!r}; choose train, val or test")
    part = "test" if split == "test" else "train"
    directory = find_mnist(root, download)
    images = read_idx(_file_in(directory, FILES[f"{part}-images"][0]))
    labels = read_idx(_file_in(directory, FILES[f"{part}-labels"][0])).astype(np.int64)
    if split == "train":
        return Digits(images[:-VALIDATION_DIGITS], labels[:-VALIDATION_DIGITS])
    if split == "val":
        return Digits(images[-VALIDATION_DIGITS:], labels[-VALIDATION_DIGITS:])
    return Digits(images, labels)


def find_mnist(root: str | Path | None = None, download: bool = True) -> Path:
    """The first directory holding all four files; downloads into the cache if none does."""
    dirs = candidate_dirs(root)
    for directory in dirs:
        if all(_find_file(directory, name) for name, _ in FILES.values()):
            verify(directory)
            return directory
    looked = ", ".join(str(d) for d in dirs)
    if root is not None or not download:
        raise SeqocrError(
            f"MNIST not found in {looked}: put the four IDX files (.gz or raw) there "
            "or set SEQOCR_DATA_DIR to a folder holding mnist/"
        )
    target = cache_dir() / "mnist"
    try:
        fetch(target)
    except OSError as error:
        raise SeqocrError(
            f"MNIST not found in {looked} and the download failed ({error}); "
            "copy the four IDX files into one of those folders or set SEQOCR_DATA_DIR"
        ) from None
    verify(target)
    return target


def fetch(target: Path) -> None:
    """Download the four files into `target`, each checked before it is moved in place."""
    target.mkdir(parents=True, exist_ok=True)
    for name, sha256 in FILES.values():
        if _find_file(target, name):
            continue
        last_error: OSError | None = None
        for mirror in MIRRORS:
            try:
                with urllib.request.urlopen(mirror + name + ".gz", timeout=30) as response:
                    payload = response.read()
                if hashlib.sha256(gzip.decompress(payload)).hexdigest() != sha256:
                    raise OSError(f"{name}.gz from {mirror} failed its checksum")
                write_atomic(target / f"{name}.gz", payload)
                break
            except (OSError, EOFError) as error:
                last_error = error if isinstance(error, OSError) else OSError(str(error))
        else:
            assert last_error is not None
            raise last_error


def verify(directory: Path) -> None:
    """Check each file's decompressed SHA-256 once; a stamp file remembers success."""
    stamp = directory / ".seqocr-verified"
    files = [_file_in(directory, name) for name, _ in FILES.values()]
    signature = "\n".join(f"{f.name} {f.stat().st_size} {f.stat().st_mtime_ns}" for f in files)
    try:
        if stamp.read_text() == signature:
            return
    except OSError:
        pass
    for path, (_, sha256) in zip(files, FILES.values(), strict=True):
        if hashlib.sha256(_read_bytes(path)).hexdigest() != sha256:
            raise SeqocrError(f"{path}: checksum mismatch (corrupt or not the MNIST file); delete it")
    with contextlib.suppress(OSError):  # a read-only data folder is fine: verify again next time
        stamp.write_text(signature)


def read_idx(path: Path) -> np.ndarray:
    """Parse an IDX file (gz or raw) into a read-only array. A file is decompressed once
    per process while it is unchanged: a run reads the training file twice (its training
    and validation digits), a test session many times."""
    try:
        stat = path.stat()
    except OSError as error:
        raise SeqocrError(f"{path}: cannot read ({error})") from None
    return _parse_idx(path, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=4)  # the four MNIST files: about 55 MB decompressed
def _parse_idx(path: Path, size: int, mtime_ns: int) -> np.ndarray:
    data = _read_bytes(path)
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] != 0x08:
        raise SeqocrError(f"{path}: not an unsigned-byte IDX file")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    if len(data) - offset != int(np.prod(shape)):
        raise SeqocrError(f"{path}: truncated IDX file (header says {shape})")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(shape)  # bytes: read-only, safe to share


def _read_bytes(path: Path) -> bytes:
    try:
        return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError) as error:
        raise SeqocrError(f"{path}: cannot read ({error})") from None


def _find_file(directory: Path, name: str) -> Path | None:
    """`name.gz` or raw `name` inside `directory`, if either exists."""
    for candidate in (directory / f"{name}.gz", directory / name):
        if candidate.is_file():
            return candidate
    return None


def _file_in(directory: Path, name: str) -> Path:
    path = _find_file(directory, name)
    if path is None:
        raise SeqocrError(f"{directory}: {name}(.gz) is missing")
    return path
