from PIL import Image

from seqocr.cli import main
from seqocr.data.folder import read_folder


def test_data_synth_writes_pngs_and_labels_tsv(tmp_path, data_dir):
    out = tmp_path / "set"
    assert main(["data", "synth", "--out", str(out), "-n", "12", "--min-len", "3", "--max-len", "4"]) == 0
    lines = (out / "labels.tsv").read_text().splitlines()
    assert lines[0] == "file\ttext" and len(lines) == 13
    folder = read_folder(out)
    assert folder.problems == [] and len(folder.samples) == 12
    for path, text in folder.samples:
        assert 3 <= len(text) <= 4 and text.isdigit()
        with Image.open(path) as image:
            assert image.format == "PNG"


def test_the_same_seed_writes_the_same_set(tmp_path, data_dir):
    for name in ("a", "b"):
        assert main(["data", "synth", "--out", str(tmp_path / name), "-n", "5", "--seed", "3"]) == 0
    assert (tmp_path / "a" / "labels.tsv").read_text() == (tmp_path / "b" / "labels.tsv").read_text()
    assert (tmp_path / "a" / "000004.png").read_bytes() == (tmp_path / "b" / "000004.png").read_bytes()


def test_notebook_style_images_are_28_px_tall(tmp_path, data_dir):
    out = tmp_path / "nb"
    assert main(["data", "synth", "--out", str(out), "-n", "4", "--style", "notebook", "--max-len", "5"]) == 0
    for path, text in read_folder(out).samples:
        with Image.open(path) as image:
            assert image.size == (28 * len(text), 28)


def test_nonsense_numbers_are_refused_before_anything_runs(tmp_path, capsys):
    import pytest

    for argv in (
        ["data", "synth", "--out", str(tmp_path / "x"), "-n", "0"],
        ["train", "--batch-size", "0"],
        ["train", "--lr", "-1"],
        ["train", "--max-minutes", "nan"],
        ["predict", "--batch-size", "zero", "a.png"],
    ):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        assert "Traceback" not in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
