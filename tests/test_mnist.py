import gzip
import shutil
import urllib.request

import numpy as np
import pytest

from seqocr.data import mnist
from seqocr.errors import SeqocrError


def test_splits_have_the_documented_sizes(data_dir):
    train = mnist.load_split("train")
    val = mnist.load_split("val")
    test = mnist.load_split("test")
    assert train.images.shape == (55_000, 28, 28) and train.images.dtype == np.uint8
    assert len(val) == 5_000 and len(test) == 10_000
    assert set(np.unique(test.labels)) == set(range(10))


def test_validation_digits_are_not_training_digits(data_dir):
    all_train = mnist.read_idx(data_dir / "mnist" / "train-images-idx3-ubyte.gz")
    np.testing.assert_array_equal(mnist.load_split("val").images, all_train[-5_000:])
    np.testing.assert_array_equal(mnist.load_split("train").images, all_train[:-5_000])


def test_raw_idx_files_are_accepted(tmp_path, data_dir):
    for name, _ in mnist.FILES.values():
        (tmp_path / name).write_bytes(gzip.decompress((data_dir / "mnist" / f"{name}.gz").read_bytes()))
    assert len(mnist.load_split("test", root=tmp_path)) == 10_000


def test_a_corrupt_file_fails_its_checksum(tmp_path, data_dir):
    for name, _ in mnist.FILES.values():
        shutil.copy(data_dir / "mnist" / f"{name}.gz", tmp_path)
    labels = tmp_path / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(labels.read_bytes()))
    raw[100] = (raw[100] + 1) % 10
    labels.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(SeqocrError, match="t10k-labels-idx1-ubyte.gz: checksum mismatch"):
        mnist.load_split("test", root=tmp_path)


def test_offline_without_a_copy_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQOCR_DATA_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(SeqocrError) as error:
        mnist.load_split("test")
    message = str(error.value)
    assert "nowhere/mnist" in message and "cache/seqocr/mnist" in message
    assert "download failed" in message and "SEQOCR_DATA_DIR" in message
    assert "\n" not in message


def test_download_is_checked_before_it_is_kept(tmp_path, monkeypatch, data_dir):
    """A download whose content does not match the checksum is never written to the cache."""
    monkeypatch.setenv("SEQOCR_DATA_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    class Response:
        def __init__(self, payload):
            self.payload = payload

        def read(self):
            return self.payload

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def serve(url, timeout):
        name = url.rsplit("/", 1)[1]
        payload = (data_dir / "mnist" / name).read_bytes()
        return Response(gzip.compress(b"tampered") if "t10k-labels" in name else payload)

    monkeypatch.setattr(urllib.request, "urlopen", serve)
    with pytest.raises(SeqocrError, match="failed its checksum"):
        mnist.load_split("test")
    cached = tmp_path / "cache" / "seqocr" / "mnist"
    assert not (cached / "t10k-labels-idx1-ubyte.gz").exists()
    assert (cached / "t10k-images-idx3-ubyte.gz").exists()
