import numpy as np
import pytest
from PIL import Image

from seqocr.data.folder import read_folder
from seqocr.errors import SeqocrError


def write_png(path, width=40, height=20):
    Image.fromarray(np.zeros((height, width), np.uint8)).save(path)


def test_labels_from_file_names(tmp_path):
    write_png(tmp_path / "2b4x7.png")
    write_png(tmp_path / "55m3n.png")
    (tmp_path / "notes.txt").write_text("not an image")
    folder = read_folder(tmp_path)
    assert sorted(folder.texts) == ["2b4x7", "55m3n"]
    assert folder.problems == []


def test_labels_tsv_problems_are_reported_with_file_and_line(tmp_path):
    for name in ("a.png", "b.png", "c.png"):
        write_png(tmp_path / name)
    (tmp_path / "labels.tsv").write_text(
        "file\ttext\n"
        "a.png\t123\n"
        "b.png\n"  # missing label field
        "c.png\t\n"  # empty label
        "a.png\t999\n"  # duplicate
        "gone.png\t42\n"  # missing image
        "b.png\t7\textra\n"  # extra field
    )
    folder = read_folder(tmp_path)
    assert folder.samples == [(tmp_path / "a.png", "123")]
    problems = "\n".join(folder.problems)
    for line, reason in [
        (3, "expected"),
        (4, "empty label"),
        (5, "already labelled"),
        (6, "not found"),
        (7, "3 fields"),
    ]:
        assert f"labels.tsv:{line}: " in problems and reason in problems


def test_non_utf8_labels_are_refused(tmp_path):
    write_png(tmp_path / "a.png")
    (tmp_path / "labels.tsv").write_bytes(b"a.png\t\xff\xfe\n")
    with pytest.raises(SeqocrError, match="labels.tsv: not UTF-8"):
        read_folder(tmp_path)


def test_a_folder_without_images_is_an_error(tmp_path):
    with pytest.raises(SeqocrError, match="no labelled images"):
        read_folder(tmp_path)
