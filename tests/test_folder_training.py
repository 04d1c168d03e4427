"""Training on a labelled folder: charset from labels, split, exclusions, fine-tuning."""

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from seqocr.charset import Charset
from seqocr.checkpoint import Checkpoint
from seqocr.cli import build_parser, main
from seqocr.cli.train import train_config_from
from seqocr.config import DataConfig, PreprocessConfig
from seqocr.data.augment import augment_image
from seqocr.data.datasets import EncodedDataset, FolderSource, WidthBucketedBatches
from seqocr.data.folder import split_folder
from seqocr.data.transform import preprocess
from seqocr.loading import load
from seqocr.models import build_model
from seqocr.train.initial_weights import choose_start, load_initial_weights, with_init_geometry
from seqocr.train.presets import preset

pytestmark = pytest.mark.heavy

QUICK = ["--epochs", "1", "--max-minutes", "0", "--workers", "0", "--no-progress", "--batch-size", "16"]


@pytest.fixture
def mixed_folder(tmp_path, captcha_folder):
    """Captchas plus the same pictures in palette, 16-bit and grayscale modes, and two bad samples."""
    folder = tmp_path / "mixed"
    shutil.copytree(captcha_folder, folder)
    sources = sorted(folder.glob("*.png"))
    Image.open(sources[0]).convert("P").save(folder / "p1aaa.png")
    gray = np.asarray(Image.open(sources[1]).convert("L"), dtype=np.uint16) * 257
    Image.fromarray(gray).save(folder / "i16bb.png")
    Image.open(sources[2]).convert("L").resize((150, 40)).save(folder / "l8ccc.png")
    (folder / "broken.png").write_bytes(sources[3].read_bytes()[:300])
    Image.open(sources[4]).resize((20, 50)).save(folder / "toolongforthis.png")
    return folder


def test_a_folder_run_infers_the_charset_and_lists_what_it_excluded(tmp_path, mixed_folder, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", str(mixed_folder), "--out", str(out), *QUICK]) == 0
    config = json.loads((out / "config.json").read_text())
    labels = [p.stem for p in mixed_folder.glob("*.png") if p.stem not in ("broken", "toolongforthis")]
    inferred = "".join(sorted(set("".join(labels + ["broken", "toolongforthis"]))))
    excluded = (out / "excluded.tsv").read_text()
    assert "broken.png\t" in excluded and "toolongforthis.png\tlabel 'toolongforthis' needs 15 time steps" in excluded
    err = capsys.readouterr().err
    assert f"charset {inferred!r}: inferred from" in err
    # the labels hold 8 of the 10 digits and 21 of the 26 letters, some only once: the start's others join, said
    added = "".join(c for c in config["charset"] if c not in inferred)
    assert added == "09jquvz" and "charset: '09jquvz' added from the start 'alnum'" in err
    assert "excluded 2 samples" in err
    # no --init: the bundled reader that covers the most of the labels' characters, said and recorded
    assert config["train"]["init"] == "alnum" and "starting from the bundled 'alnum' model" in err
    assert load(out).model.head.out_features == len(config["charset"]) + 1  # a row per character and the blank


def test_characters_the_few_labels_missed_by_chance_are_added_when_the_start_knows_them():
    from seqocr.charset import DIGITS
    from seqocr.data.text_synth import ALNUM
    from seqocr.train.data import likely_unseen

    alnum = Charset(ALNUM)
    few = ["a1b2c", "d3e4f", "g5h6i", "j7k8l", "m9n0o", "pqrst", "uvwxy"]  # 35 of 36; each character once
    assert likely_unseen(few, alnum) == "z"
    assert likely_unseen([t.upper() for t in few], alnum) == "Z"  # capitals start from the small letters' rows
    assert likely_unseen(few, DIGITS) == ""  # only what the start knows
    assert likely_unseen(few * 2, alnum) == ""  # every character seen twice: the site has no z
    site = ["2b4x7", "3c5y8", "6d7n2", "4e8m3", "5f2g6", "7p3w4"]  # captcha_images_v2's kind: 7 digits, few letters
    assert likely_unseen(site, alnum) == ""


def test_the_split_is_fixed_by_the_seed_and_disjoint(captcha_folder):
    a = split_folder(DataConfig(path=str(captcha_folder), val_split=0.25), seed=5)
    b = split_folder(DataConfig(path=str(captcha_folder), val_split=0.25), seed=5)
    c = split_folder(DataConfig(path=str(captcha_folder), val_split=0.25), seed=6)
    assert a.train == b.train and a.val == b.val and a.val != c.val
    assert len(a.val) == 15 and len(a.train) == 45 and not set(a.val) & set(a.train)


def test_a_run_started_from_digits_trains_its_network_on_a_new_charset_and_without_validation_keeps_the_last_epoch(
    tmp_path, captcha_folder, capsys
):
    out = tmp_path / "run"
    assert preset("captcha").train.init == "alnum"  # the recipe's own start knows every symbol; this run's lacks 12
    args = ["train", "--preset", "captcha", "--init", "digits", "--data", str(captcha_folder), "--val-split", "0"]
    assert main([*args, "--out", str(out), *QUICK]) == 0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["val_accuracy"] is None and (out / "best.pt").is_file()
    err = capsys.readouterr().err
    assert "no validation set" in err
    assert "initialised from 10-character model: 7 of 19 characters kept" in err
    assert "every label has 5 characters: the model reads 5" in err  # and so does its checkpoint
    assert Checkpoint.load(out / "best.pt").label_length == 5 and load(out).label_length == 5
    config = json.loads((out / "config.json").read_text())
    digits = load("digits").model_config
    assert config["model"]["hidden"] == digits.hidden and config["model"]["stages"] == [list(s) for s in digits.stages]
    assert config["model"]["dropout"] == digits.dropout  # the digits model's geometry, not the folder preset's


def test_fine_tuning_keeps_the_rows_of_shared_characters(digits_model):
    init = Checkpoint.load(digits_model.info.path)
    charset = Charset("0123abc")
    model = type(digits_model.model)(digits_model.model_config, digits_model.preprocess, charset.num_classes)
    fresh_row = model.head.weight[charset.encode("a")[0]].clone()
    message = load_initial_weights(model, init, charset)
    old, old_head = init.charset, init.weights["head.weight"]
    for char in "0123":
        assert torch.equal(model.head.weight[charset.encode(char)[0]], old_head[old.encode(char)[0]])
    assert torch.equal(model.head.weight[0], old_head[0])  # the blank
    assert torch.equal(model.head.weight[charset.encode("a")[0]], fresh_row)
    assert torch.equal(model.backbone.body[0][0].weight, init.weights["backbone.body.0.0.weight"])
    assert "4 of 7 characters kept" in message


def test_a_capital_starts_from_the_row_of_its_small_letter_in_a_model_of_small_letters():
    from seqocr import load

    captcha = load("captcha")
    init = Checkpoint.load(captcha.info.path)
    charset = Charset("2BbZ")  # "B" and "b" both start as "b"; "Z" is new
    model = type(captcha.model)(captcha.model_config, captcha.preprocess, charset.num_classes)
    message = load_initial_weights(model, init, charset)
    old_head = init.weights["head.weight"]
    for char, source in (("2", "2"), ("B", "b"), ("b", "b")):
        assert torch.equal(model.head.weight[charset.encode(char)[0]], old_head[init.charset.encode(source)[0]])
    assert "3 of 4 characters kept" in message
    assert choose_start(Charset("BCDEFGMNPWXY"))[0] == "alnum"  # capitals: the base model of small letters


def test_a_new_sequence_model_over_an_initial_model_keeps_only_its_backbone(digits_model):
    args = build_parser().parse_args(["train", "--init", "digits", "--sequence", "lstm", "--hidden", "24"])
    init = Checkpoint.load(digits_model.info.path)
    config = with_init_geometry(train_config_from(args), init)
    assert config.train.init_backbone and config.model.sequence == "lstm" and config.model.hidden == 24
    assert config.model.stages == init.model.stages and config.preprocess == init.preprocess
    model = build_model(config.model, config.preprocess, digits_model.charset.num_classes)
    fresh_head = model.head.weight.clone()
    message = load_initial_weights(model, init, digits_model.charset, backbone=True)
    for name, tensor in model.backbone.state_dict().items():
        assert torch.equal(tensor, init.weights[f"backbone.{name}"])
    assert torch.equal(model.head.weight, fresh_head)
    assert "backbone" in message and "start fresh" in message
    plain = build_parser().parse_args(["train", "--init", "digits"])
    assert not train_config_from(plain).train.init_backbone  # the whole model, as before


def test_a_folder_starts_from_the_bundled_reader_that_covers_its_labels_unless_told_otherwise(captcha_folder):
    assert choose_start(Charset("0123456789"))[0] == "digits"
    assert choose_start(Charset("2345678bcdefgmnpwxy"))[0] == "alnum"  # a tie with `captcha`: the base model
    assert choose_start(Charset("0123456789abcdefghijklmnopqrstuvwxyz"))[0] == "alnum"
    assert choose_start(Charset("+=%"))[0] == "digits"  # nothing known: the digits model knows strokes
    data = ["train", "--data", str(captcha_folder)]
    assert train_config_from(build_parser().parse_args(data)).train.init == "auto"
    assert train_config_from(build_parser().parse_args([*data, "--init", "none"])).train.init == ""
    assert train_config_from(build_parser().parse_args([*data, "--init", "digits"])).train.init == "digits"
    own = train_config_from(build_parser().parse_args([*data, "--arch", "attention"]))
    assert own.train.init == "" and own.model.arch == "attention"  # a network of its own starts from scratch
    digits_recipe = train_config_from(build_parser().parse_args(["train"]))
    assert digits_recipe.train.init == ""  # synthetic strings: the recipe as it was


def test_augmentation_keeps_size_and_mode_and_is_a_function_of_its_seed(captcha_folder):
    image = Image.open(sorted(captcha_folder.glob("*.png"))[0])
    a = augment_image(image, np.random.default_rng(1))
    b = augment_image(image, np.random.default_rng(1))
    c = augment_image(image, np.random.default_rng(2))
    assert a.size == image.size and a.mode == "RGB"
    assert np.array_equal(np.asarray(a), np.asarray(b)) and not np.array_equal(np.asarray(a), np.asarray(c))


def test_colour_input_makes_a_three_channel_input_and_model(captcha_folder):
    config = train_config_from(build_parser().parse_args(["train", "--data", str(captcha_folder), "--channels", "3"]))
    assert config.preprocess.channels == 3
    image = Image.new("RGB", (120, 40), (40, 60, 200))  # red ink on blue paper
    ImageDraw.Draw(image).text((10, 10), "12345", fill=(220, 30, 30))
    tensor = preprocess(image, config.preprocess)
    assert tensor.shape[0] == 3 and not torch.equal(tensor[0], tensor[2])  # the colours survive
    model = build_model(config.model, config.preprocess, num_classes=20).eval()
    assert model.backbone.body[0][0].in_channels == 3
    assert model(tensor[None]).shape[-1] == 20


def test_an_image_shares_its_batch_with_different_images_each_epoch(captcha_folder):
    """With every image the same size, batches used to be cut in file order, the same
    batches every epoch; BatchNorm then let the model lean on its batch mates."""
    split = split_folder(DataConfig(path=str(captcha_folder), val_split=0.0), seed=0)
    dataset = EncodedDataset(
        FolderSource(split.train), PreprocessConfig(crop=False), Charset.from_labels([t for _, t in split.train])
    )
    first = split.train[0][1]

    def batch_mates(seed: int) -> set[str]:
        return next(set(b.texts) for b in WidthBucketedBatches(dataset, 8, seed) if first in b.texts)

    assert batch_mates(1) != batch_mates(2)
    assert batch_mates(1) == batch_mates(1)  # a resumed run sees the same batches
    assert sorted(t for b in WidthBucketedBatches(dataset, 8, seed=1) for t in b.texts) == sorted(
        t for _, t in split.train
    )


def test_a_small_digit_folder_trains_on_all_its_images_with_as_many_synthetic_strings_beside_them(synth_folder):
    from seqocr.config import RunConfig
    from seqocr.models import build_model
    from seqocr.train.data import TrainingData

    config = RunConfig(data=DataConfig(path=str(synth_folder)), charset="0123456789")
    split = split_folder(config.data, seed=0)
    assert len(split.train) == 40 and split.val == []  # under 1,000 images: none held out
    model = build_model(config.model, config.preprocess, Charset(config.charset).num_classes)
    data = TrainingData(config, Charset(config.charset), model, split)
    assert data.synthetic == 40 and data.samples_per_epoch == 80
    epoch = data.epoch_source(1)
    texts = [epoch[i][1] for i in range(80)]
    assert texts[:40] == [text for _, text in split.train]  # the folder's own images first
    assert all(text.isdigit() for text in texts[40:])
    assert [epoch[i][1] for i in range(40, 80)] != [data.epoch_source(2)[i][1] for i in range(40, 80)]  # fresh strings

    no_mix = RunConfig(data=DataConfig(path=str(synth_folder), synthetic=0.0), charset="0123456789")
    assert TrainingData(no_mix, Charset("0123456789"), model, split).samples_per_epoch == 40


def test_a_small_folder_whose_labels_hold_letters_trains_beside_synthetic_text_in_its_own_characters(
    captcha_folder,
):
    from seqocr.config import RunConfig
    from seqocr.models import build_model
    from seqocr.train.data import TrainingData

    config = RunConfig(data=DataConfig(path=str(captcha_folder)), charset="")
    split = split_folder(config.data, seed=0)
    charset = Charset.from_labels([t for _, t in split.train])
    model = build_model(config.model, config.preprocess, charset.num_classes)
    data = TrainingData(config, charset, model, split)
    assert data.synthetic == len(split.train) == 60
    epoch = data.epoch_source(1)
    drawn = [epoch[i] for i in range(60, 120)]
    assert all(len(text) == 5 and set(text) <= set(charset.chars) for _, text in drawn)  # captchas: 5 symbols
    assert any(not text.isdigit() for _, text in drawn)
    assert all(image.ndim == 3 for image, _ in drawn)  # rendered text, not MNIST digit strings

    from seqocr.train.data import folder_companion

    synth = folder_companion(config, Charset("ABab"), ["Ab", "bA"])  # both cases: drawn as labelled
    assert synth is not None and not synth.config.mixed_case and synth.config.charset == "ABab"
    assert folder_companion(config, Charset("+-"), ["+-"]) is None


def test_a_folder_of_1000_images_or_more_holds_a_fifth_out_by_default():
    from seqocr.data.folder import auto_val_split

    assert auto_val_split(999) == 0.0 and auto_val_split(1_000) == 0.2


def test_training_prints_the_charset_it_inferred_and_warns_like_the_doctor_of_rare_characters(
    tmp_path, synth_folder, capsys
):
    from seqocr.data.checks import charset_warnings

    labels = ["123"] * 150 + ["12x", "1 2"]
    warnings = charset_warnings(labels)
    assert any("whitespace" in w and "' '" in w for w in warnings)
    assert any("rare characters" in w and "'x' in 1" in w for w in warnings)
    assert charset_warnings(["123", "456"] * 100) == []

    folder = tmp_path / "typo"
    folder.mkdir()
    rows = ["file\ttext"]
    for copy in range(3):  # 120 images: one label in 120 is under 1%
        for line in (synth_folder / "labels.tsv").read_text().splitlines()[1:]:
            name, text = line.split("\t")
            shutil.copy(synth_folder / name, folder / f"{copy}-{name}")
            rows.append(f"{copy}-{name}\t{text}")
    rows[1] += "x"  # one label with a stray letter
    (folder / "labels.tsv").write_text("\n".join(rows) + "\n")
    assert main(["train", "--data", str(folder), "--out", str(tmp_path / "run"), "--synthetic", "0", *QUICK]) == 0
    err = capsys.readouterr().err
    assert "charset '0123456789x': inferred from 120 labels" in err
    assert "warning: rare characters (in fewer than 1% of 120 labels): 'x' in 1" in err
    main(["doctor", str(folder)])
    assert "warning: rare characters (in fewer than 1% of 120 labels): 'x' in 1" in capsys.readouterr().out
