"""captcha_images_v2 is found where it lies, or fetched and checked, or its absence is one line."""

import io
import itertools
import zipfile

import pytest

from seqocr.data import captcha
from seqocr.errors import SeqocrError


def archive(data_dir, change=None) -> bytes:
    """The public archive's shape: the 832 known images and 208 more, in a folder."""
    known = sorted((data_dir / "captcha_images_v2").glob("*.png"))
    names = {p.name for p in known}
    extra = [n for n in ("".join(c) + ".png" for c in itertools.product("wxy", repeat=5)) if n not in names][:208]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for path in known:
            data = path.read_bytes()
            zipped.writestr(f"captcha_images_v2/{path.name}", data + b"!" if path.name == change else data)
        for name, path in zip(extra, itertools.cycle(known), strict=False):
            zipped.writestr(f"captcha_images_v2/{name}", path.read_bytes())
    return buffer.getvalue()


def test_a_downloaded_archive_is_unpacked_only_when_its_known_images_match(tmp_path, data_dir):
    good = archive(data_dir)
    with zipfile.ZipFile(io.BytesIO(good)) as zipped:
        assert len(zipped.namelist()) == 1040
    target = captcha.unpack(good, tmp_path / "captcha_images_v2")
    assert len(list(target.glob("*.png"))) == 1040
    first = sorted((data_dir / "captcha_images_v2").glob("*.png"))[0].name
    with pytest.raises(SeqocrError, match="failed its checks"):
        captcha.unpack(archive(data_dir, change=first), tmp_path / "again")
    assert not (tmp_path / "again").exists()


def test_offline_with_no_copy_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQOCR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(captcha.urllib.request, "urlopen", offline)
    with pytest.raises(SeqocrError) as error:
        captcha.captcha_dir()
    message = str(error.value)
    assert str(tmp_path / "data" / "captcha_images_v2") in message and str(tmp_path / "cache") in message
    assert "download failed (network is unreachable)" in message and "\n" not in message
