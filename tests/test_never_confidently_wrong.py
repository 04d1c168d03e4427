"""Images that used to be read wrong with confidence: sideways photos, other value ranges,
blank pages, and API arguments of the wrong kind."""

import numpy as np
import pytest
from PIL import Image

from seqocr.cli import main
from seqocr.errors import SeqocrError


@pytest.fixture(scope="module")
def string_image(synth_folder):
    """A dark-on-light digit string (8-bit) and its label."""
    path, text = next(
        (synth_folder / name, label)
        for name, label in (line.split("\t") for line in (synth_folder / "labels.tsv").read_text().splitlines()[1:])
        if len(label) >= 4
    )
    pixels = np.asarray(Image.open(path).convert("L"))
    if np.median(pixels) < 128:
        pixels = 255 - pixels
    return pixels, text


def test_a_photo_saved_sideways_is_turned_upright_by_its_exif_orientation(tmp_path, digits_model, string_image):
    pixels, _ = string_image
    upright_text = digits_model.predict(pixels).text
    stored = Image.fromarray(pixels).rotate(90, expand=True)  # as a phone held sideways stores it
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90 degrees clockwise to display"
    path = tmp_path / "sideways.png"
    stored.save(path, exif=exif)
    assert digits_model.predict(path).text == upright_text
    assert digits_model.predict(Image.open(path)).text == upright_text
    assert len(upright_text) >= 3


def test_every_value_range_reads_like_8_bit_pixels(tmp_path, digits_model, string_image):
    pixels, _ = string_image
    expected = digits_model.predict(pixels).text
    unit = pixels.astype(np.float32) / 255.0
    tiff = tmp_path / "float.tif"
    Image.fromarray(unit, mode="F").save(tiff)
    sixteen = tmp_path / "sixteen.png"
    Image.fromarray(pixels.astype(np.uint16) * 257).save(sixteen)
    variants = {
        "float [0, 1] array": unit,
        "float64 [0, 255] array": pixels.astype(np.float64),
        "PIL mode F in [0, 1]": Image.fromarray(unit, mode="F"),
        "uint16 array holding 0..255": pixels.astype(np.uint16),
        "uint16 array, full range": pixels.astype(np.uint16) * 257,
        "int32 array holding 0..255": pixels.astype(np.int32),
        "boolean array": pixels > 128,
        "float TIFF file": tiff,
        "16-bit PNG file": sixteen,
    }
    for name, image in variants.items():
        prediction = digits_model.predict(image)
        assert prediction.text == expected, name


def test_a_blank_image_is_answered_with_no_confidence_so_a_reject_threshold_catches_it(tmp_path, digits_model, capsys):
    for blank in (np.full((40, 160), 255, np.uint8), np.zeros((40, 160), np.uint8)):
        prediction = digits_model.predict(blank)
        assert prediction.text == "" and prediction.confidence == 0.0
    path = tmp_path / "blank.png"
    Image.fromarray(np.full((40, 160), 230, np.uint8)).save(path)
    assert main(["predict", "--reject-below", "0.5", str(path)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("rejected")


def test_predict_takes_one_image_or_a_list(digits_model, synth_folder):
    path = sorted(synth_folder.glob("*.png"))[0]
    one = digits_model.predict(str(path))
    assert one == digits_model.predict([str(path)])[0] == digits_model.predict(path)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.array([list("abcdefgh")] * 8), "not an image"),
        (np.array(["2026-11-30"] * 64, dtype="datetime64[D]").reshape(8, 8), "not an image"),
        (np.full((8, 8), np.nan), "NaN"),
    ],
)
def test_arrays_of_other_things_than_numbers_get_one_line(digits_model, bad, message):
    with pytest.raises(SeqocrError, match=message) as error:
        digits_model.predict([bad])
    assert "\n" not in str(error.value) and str(error.value).startswith("image 0:")


def test_a_closed_pil_image_gets_one_line(digits_model):
    image = Image.new("L", (60, 30), 255)
    image.close()
    with pytest.raises(SeqocrError, match="image 0: unusable PIL image"):
        digits_model.predict([image])


def test_a_run_with_a_last_but_no_best_checkpoint_says_how_to_resume(tmp_path):
    import shutil

    import seqocr
    from seqocr.pretrained import resolve_model

    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(resolve_model("digits"), run / "last.pt")
    with pytest.raises(SeqocrError, match=r"no best checkpoint yet .* seqocr train --resume --out"):
        seqocr.load(run)


def test_a_pickled_checkpoint_is_refused_without_advice_to_unpickle_it(tmp_path):
    import argparse

    import torch

    import seqocr

    path = tmp_path / "evil.pt"
    torch.save({"format": "seqocr-checkpoint", "payload": argparse.Namespace(run="anything")}, path)
    with pytest.raises(SeqocrError) as error:
        seqocr.load(path)
    assert "not a safe seqocr checkpoint" in str(error.value)
    assert "weights_only" not in str(error.value)


def test_the_help_says_how_to_read_a_file_whose_name_starts_with_a_dash(capsys):
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    assert "seqocr predict -- -1.png" in capsys.readouterr().out
