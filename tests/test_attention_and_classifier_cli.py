"""The attention and classifier families from the command line: train, predict, classify."""

import json

import numpy as np
import pytest
from PIL import Image

from seqocr.cli import main
from seqocr.config import DecodeConfig, PreprocessConfig
from seqocr.data.folder import read_folder
from seqocr.data.transform import preprocess
from seqocr.loading import load

pytestmark = pytest.mark.heavy

TINY = ["--epochs", "1", "--samples-per-epoch", "64", "--val-samples", "32", "--workers", "0", "--max-minutes", "0"]


@pytest.fixture(scope="module")
def attention_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("attention") / "run"
    arch = ["--arch", "attention", "--sequence", "lstm", "--hidden", "32"]
    assert main(["train", "--preset", "digits", "--out", str(run), "--no-progress", *arch, *TINY]) == 0
    return run


def test_an_attention_model_trains_evaluates_and_predicts(attention_run, synth_folder, capsys, tmp_path):
    config = json.loads((attention_run / "config.json").read_text())
    assert config["model"]["arch"] == "attention"
    report = tmp_path / "eval.json"
    assert main(["eval", "--model", str(attention_run), "--data", str(synth_folder), "--json", str(report)]) == 0
    samples = read_folder(synth_folder).samples
    readings = load(attention_run).predict([path for path, _ in samples])
    right = sum(p.text == text for p, (_, text) in zip(readings, samples, strict=True))
    assert json.loads(report.read_text())["accuracy"] == right / len(samples)  # eval agrees with the API
    capsys.readouterr()
    image = str(synth_folder / "000000.png")
    assert main(["predict", "--model", str(attention_run), "--json", "--beam", "3", image]) == 0
    row = json.loads(capsys.readouterr().out)
    beam = load(attention_run).predict(image, decoding=DecodeConfig(beam=3))
    assert (row["text"], row["confidence"]) == (beam.text, pytest.approx(beam.confidence, abs=1e-6))
    assert [c["char"] for c in row["chars"]] == list(row["text"])


def test_an_attention_model_trains_on_a_labelled_folder(captcha_folder, tmp_path):
    run = tmp_path / "captcha-attention"
    arch = ["--arch", "attention", "--hidden", "32", "--epochs", "1", "--workers", "0", "--max-minutes", "0"]
    assert main(["train", "--data", str(captcha_folder), "--out", str(run), "--no-progress", *arch]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["arch"] == "attention" and len(config["charset"]) > 10
    assert (run / "best.pt").is_file()


def test_show_attention_draws_one_row_per_character(attention_run, synth_folder, tmp_path, capsys):
    out = tmp_path / "attention.png"
    images = [str(synth_folder / "000000.png"), str(synth_folder / "000001.png")]
    assert main(["predict", "--model", str(attention_run), "--json", "--show-attention", str(out), *images]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    for index, row in enumerate(rows, start=1):
        drawn = Image.open(tmp_path / f"attention-{index}.png")
        input_height = 32 * 3 + 4  # the model input, three times larger, and a gap
        assert drawn.height == (len(row["text"]) + 1) * input_height


def test_show_attention_to_an_unwritable_name_is_a_one_line_error(attention_run, synth_folder, tmp_path, capsys):
    image = str(synth_folder / "000000.png")
    assert main(["predict", "--model", str(attention_run), "--show-attention", str(tmp_path / "a.xyz"), image]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "a.xyz: cannot write the attention picture" in err[0]


def test_show_attention_refuses_a_ctc_model(synth_folder, capsys):
    assert main(["predict", "--show-attention", "x.png", str(synth_folder / "000000.png")]) == 1
    assert "needs an attention model" in capsys.readouterr().err


def test_classify_reads_single_digits_in_either_polarity_and_any_size(tmp_path, test_digits, capsys):
    paths, truths = [], []
    for i in range(12):
        image = Image.fromarray(test_digits.images[i])
        if i % 2:  # dark ink on white, four times larger
            image = Image.fromarray(255 - test_digits.images[i]).resize((112, 112))
        path = tmp_path / f"{i}.png"
        image.save(path)
        paths.append(str(path))
        truths.append(str(int(test_digits.labels[i])))
    assert main(["classify", "--json", *paths]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["path"] for r in rows] == paths
    assert [r["digit"] for r in rows] == truths
    assert all(0.5 < r["confidence"] <= 1 for r in rows)


def test_classify_reports_a_broken_file_and_reads_the_rest(tmp_path, test_digits, capsys):
    good, bad = tmp_path / "good.png", tmp_path / "bad.png"
    Image.fromarray(test_digits.images[0]).save(good)
    bad.write_bytes(b"not an image")
    assert main(["classify", str(bad), str(good)]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith(f"{good}\t7\t")
    assert len(captured.err.strip().splitlines()) == 1 and "bad.png" in captured.err


def test_classify_refuses_a_string_model(tmp_path, test_digits, capsys):
    path = tmp_path / "d.png"
    Image.fromarray(test_digits.images[0]).save(path)
    assert main(["classify", "--model", "digits", str(path)]) == 1
    assert "not a single-character classifier" in capsys.readouterr().err


def test_the_digit_preset_trains_a_classifier_on_single_mnist_digits(tmp_path):
    run = tmp_path / "digit"
    tiny = ["--epochs", "1", "--workers", "0", "--max-minutes", "0.02"]
    assert main(["train", "--preset", "digit", "--arch", "mlp", "--out", str(run), "--no-progress", *tiny]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["arch"] == "mlp" and config["data"]["source"] == "digits"


def test_a_classifier_needs_square_inputs(capsys, tmp_path):
    assert main(["train", "--arch", "cnn", "--out", str(tmp_path / "r"), "--no-progress", *TINY]) == 1
    assert "--preset digit" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()  # a refused run leaves no folder behind


def test_square_preprocessing_centres_the_ink_keeping_its_aspect():
    tall = np.zeros((60, 200), dtype=np.uint8)
    tall[10:50, 90:110] = 255  # a 20 x 40 stroke
    tensor = preprocess(tall, PreprocessConfig(height=28, square=True))
    assert tensor.shape == (1, 28, 28)
    columns = np.flatnonzero(tensor[0].numpy().max(axis=0) > 0.5)
    assert columns[0] > 0 and columns[-1] < 27  # narrower than tall: centred with margins
    assert abs((columns[0] + columns[-1]) / 2 - 13.5) <= 1


def test_a_classifier_refuses_constraints_it_cannot_honour(synth_folder):
    import seqocr
    from seqocr.config import DecodeConfig
    from seqocr.errors import SeqocrError

    classifier = seqocr.load("digit")
    image = sorted(synth_folder.glob("*.png"))[0]
    for decoding in (DecodeConfig(min_length=2), DecodeConfig(max_length=1), DecodeConfig(pattern="[0-9]")):
        with pytest.raises(SeqocrError, match="length and pattern constraints do not apply"):
            classifier.predict(image, decoding=decoding)
    assert len(classifier.predict(image, decoding=DecodeConfig(allowed="17")).text) == 1
