"""The bundled model through the Python API and the CLI: one path, same answers."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

import seqocr
from seqocr.checkpoint import read_payload, write_payload
from seqocr.cli import main
from seqocr.config import SynthConfig
from seqocr.data.folder import read_folder
from seqocr.data.synth import DigitStringSynth
from seqocr.errors import SeqocrError

pytestmark = pytest.mark.heavy


def test_unknown_model_names_list_the_bundled_ones():
    with pytest.raises(SeqocrError, match="digits"):
        seqocr.load("no-such-model")


def test_predict_accepts_paths_pil_images_and_arrays(digits_model, synth_folder):
    path, text = read_folder(synth_folder).samples[0]
    pil = Image.open(path)
    array = np.asarray(pil)
    results = digits_model.predict([str(path), pil, array, array.astype(np.float32) / 255.0])
    assert len({r.text for r in results}) == 1
    assert results[1].confidence == pytest.approx(results[0].confidence, abs=1e-6)  # a path and its PIL image
    assert len(results[0].char_confidences) == len(results[0].text)


def test_the_bundled_model_reads_test_strings(digits_model, synth_folder):
    samples = read_folder(synth_folder).samples
    predictions = digits_model.predict([path for path, _ in samples])
    correct = sum(p.text == text for p, (_, text) in zip(predictions, samples, strict=True))
    assert correct >= 0.9 * len(samples)


def test_the_bundled_captcha_model_reads_captchas_in_any_size_and_mode(captcha_folder):
    """These are images it was trained on: this checks the bundle, not its accuracy
    (benchmarks/captcha.py measures that on images held out from training)."""
    paths = sorted(captcha_folder.glob("*.png"))[:30]
    reader = seqocr.load("captcha")
    assert sorted(reader.charset.chars) == sorted("2345678bcdefgmnpwxy")
    assert [p.text for p in reader.predict(paths)] == [path.stem for path in paths]
    resized_gray = Image.open(paths[0]).convert("L").resize((400, 100))
    assert reader.predict([resized_gray])[0].text == paths[0].stem


def test_strings_twice_as_long_as_any_training_string_are_read(digits_model, test_digits):
    synth = DigitStringSynth(SynthConfig(split="test", seed=11, min_len=20, max_len=24), digits=test_digits)
    samples = [synth.sample(i) for i in range(30)]
    predictions = digits_model.predict([image for image, _ in samples])
    correct = sum(p.text == text for p, (_, text) in zip(predictions, samples, strict=True))
    assert correct >= 0.75 * len(samples)


def test_batching_does_not_change_answers(digits_model, synth_folder):
    paths = [path for path, _ in read_folder(synth_folder).samples]
    together = digits_model.predict(paths, batch_size=64)
    alone = [digits_model.predict([p])[0] for p in paths]
    assert [r.text for r in together] == [r.text for r in alone]
    np.testing.assert_allclose([r.confidence for r in together], [r.confidence for r in alone], atol=1e-4)


def test_a_reading_pool_reads_as_one_process_does_and_names_bad_images_by_their_place(digits_model, synth_folder):
    paths = [path for path, _ in read_folder(synth_folder).samples]
    arrays = [np.asarray(Image.open(p)) for p in paths]
    with seqocr.ReadingPool("digits", workers=2) as pool:
        pooled = pool.predict(arrays, batch_size=8)
        with pytest.raises(SeqocrError, match=f"image {len(arrays)}: "):
            pool.predict([*arrays, np.zeros((2, 2), np.uint8)])  # too small, in the second shard
    alone = digits_model.predict(arrays)
    assert [r.text for r in pooled] == [r.text for r in alone]  # input order kept
    np.testing.assert_allclose([r.confidence for r in pooled], [r.confidence for r in alone], atol=1e-4)


def test_a_pool_started_by_spawn_reads_the_same_and_an_unknown_start_is_one_line(digits_model, synth_folder):
    paths = [str(path) for path, _ in read_folder(synth_folder).samples[:4]]
    with seqocr.ReadingPool("digits", workers=1, start_method="spawn") as pool:
        assert [r.text for r in pool.predict(paths)] == [r.text for r in digits_model.predict(paths)]
    with pytest.raises(SeqocrError, match="not 'fork'"):
        seqocr.ReadingPool("digits", start_method="fork")


def test_cli_predict_prints_the_same_as_the_api(digits_model, synth_folder, capsys):
    paths = [str(p) for p, _ in read_folder(synth_folder).samples[:5]]
    assert main(["predict", "--json", *paths]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    api = digits_model.predict(paths)
    assert [r["path"] for r in rows] == paths
    assert [r["text"] for r in rows] == [p.text for p in api]
    assert all(set(r) == {"path", "text", "confidence", "chars", "box"} for r in rows)
    # the service's answer format (seqocr/schemas.py), and the API's answer to the same image
    assert rows == [
        {"path": path, **p.answer().model_dump(exclude_none=True)} for path, p in zip(paths, api, strict=True)
    ]
    assert all([c["char"] for c in r["chars"]] == list(r["text"]) for r in rows)


def test_cli_eval_reports_accuracy_cer_and_lengths(synth_folder, tmp_path, capsys):
    out = tmp_path / "metrics.json"
    assert main(["eval", "--model", "digits", "--data", str(synth_folder), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "string accuracy" in printed and "character error" in printed
    metrics = json.loads(out.read_text())
    assert metrics["count"] == 40
    assert 0.9 <= metrics["accuracy"] <= 1.0
    assert sum(row["count"] for row in metrics["by_length"].values()) == 40


def test_checkpoints_load_safely_and_round_trip(digits_model, tmp_path, synth_folder):
    source = read_payload(digits_model.info.path)
    copy = tmp_path / "copy.pt"
    write_payload(copy, {k: v for k, v in source.items() if k not in ("format", "version")})
    torch.load(copy, weights_only=True)  # plain tensors and values only: no pickled objects
    paths = [p for p, _ in read_folder(synth_folder).samples]
    assert [r.text for r in seqocr.load(copy).predict(paths)] == [r.text for r in digits_model.predict(paths)]


def test_a_checkpoint_for_another_geometry_is_refused(digits_model, tmp_path):
    data = read_payload(digits_model.info.path)
    data["model"] = dict(data["model"], hidden=data["model"]["hidden"] + 8)
    broken = tmp_path / "broken.pt"
    write_payload(broken, {k: v for k, v in data.items() if k not in ("format", "version")})
    with pytest.raises(SeqocrError, match="weights do not match the architecture"):
        seqocr.load(broken)


def test_training_and_inference_share_one_preprocessing_and_decoding_path(digits_model, test_digits):
    from seqocr.data.datasets import EncodedDataset, SynthSource, collate
    from seqocr.recognizer import read_batch

    synth = DigitStringSynth(SynthConfig(split="test", seed=3), digits=test_digits)
    dataset = EncodedDataset(SynthSource(synth, 6), digits_model.preprocess, digits_model.charset)
    for i in range(6):
        image, _ = synth.sample(i)
        torch.testing.assert_close(dataset[i][0], digits_model.prepare(image), rtol=0, atol=0)
    batch = collate([dataset[i] for i in range(6)])
    with torch.inference_mode():
        validation_texts = [
            d.text for d in read_batch(digits_model.model, digits_model.charset, batch.images, batch.widths)
        ]
    assert validation_texts == [p.text for p in digits_model.predict([synth.sample(i)[0] for i in range(6)])]


def test_a_checkpoint_with_an_unknown_setting_is_refused(digits_model, tmp_path):
    data = read_payload(digits_model.info.path)
    data["preprocess"] = dict(data["preprocess"], sharpen=True)
    odd = tmp_path / "odd.pt"
    write_payload(odd, {k: v for k, v in data.items() if k not in ("format", "version")})
    with pytest.raises(SeqocrError, match="configuration unreadable .*sharpen"):
        seqocr.load(odd)


def test_json_dash_writes_the_json_to_standard_output_and_the_summary_to_stderr(synth_folder, capsys):
    assert main(["eval", "--model", "digits", "--data", str(synth_folder), "--json", "-"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["count"] == 40  # standard output holds only the JSON
    assert "string accuracy" in captured.err


def test_an_older_checkpoint_loads_as_it_behaved_and_a_newer_one_is_refused(digits_model, tmp_path, synth_folder):
    from seqocr.checkpoint import VERSION, Checkpoint

    data = read_payload(digits_model.info.path)
    older = tmp_path / "older.pt"  # before temperatures, commands and versions were recorded
    kept = ("charset", "model", "preprocess", "state_dict")
    write_payload(older, {k: v for k, v in data.items() if k in kept})
    record = Checkpoint.load(older)
    assert (record.temperature, record.command, record.metrics, record.seqocr) == (1.0, "", {}, "unknown")
    image = sorted(synth_folder.glob("*.png"))[0]
    assert seqocr.load(older).predict(image).text == digits_model.predict(image).text
    newer = tmp_path / "newer.pt"
    torch.save({**data, "version": VERSION + 1}, newer)
    with pytest.raises(SeqocrError, match=f"checkpoint version {VERSION + 1} is newer than this seqocr reads"):
        seqocr.load(newer)
    lacking = tmp_path / "lacking.pt"
    write_payload(lacking, {k: v for k, v in data.items() if k != "state_dict"})
    with pytest.raises(SeqocrError, match="checkpoint lacks state_dict"):
        seqocr.load(lacking)


def test_a_model_whose_labels_all_had_one_length_reads_that_length_unless_told_otherwise(
    digits_model, synth_folder, tmp_path, capsys
):
    from dataclasses import replace

    from seqocr.checkpoint import Checkpoint
    from seqocr.config import DecodeConfig

    fixed = tmp_path / "two.pt"
    replace(Checkpoint.load(digits_model.info.path), label_length=2).save(fixed)
    model = seqocr.load(fixed)
    paths = [p for p, _ in read_folder(synth_folder).samples]
    assert {len(p.text) for p in model.predict(paths)} == {2}
    unconstrained = [p.text for p in digits_model.predict(paths)]
    assert [p.text for p in model.predict(paths, decoding=DecodeConfig(learnt_length=False))] == unconstrained
    asked = model.predict(paths, decoding=DecodeConfig(min_length=3, max_length=3))
    assert {len(p.text) for p in asked} == {3}  # a length asked for wins over the learnt one
    assert main(["predict", "--model", str(fixed), "--any-length", str(paths[0])]) == 0
    assert unconstrained[0] in capsys.readouterr().out.split()
    data = read_payload(fixed)
    data["label_length"] = 0
    write_payload(fixed, {k: v for k, v in data.items() if k not in ("format", "version")})
    with pytest.raises(SeqocrError, match="label_length 0 is not a positive whole number"):
        seqocr.load(fixed)
