"""ONNX export: kept only when ONNX Runtime agrees with PyTorch; the same answers either way."""

import json

import pytest
import torch

import seqocr
from seqocr.cli import main
from seqocr.data.folder import read_folder
from seqocr.errors import SeqocrError
from seqocr.export import onnx as onnx_export
from seqocr.export.checks import check_images, real_check_images

pytestmark = pytest.mark.heavy


@pytest.fixture(scope="module")
def exported(tmp_path_factory, digits_model):
    path = tmp_path_factory.mktemp("onnx") / "digits.onnx"
    check = onnx_export.export_onnx(digits_model, path, check_images(digits_model), real_check_images(digits_model))
    return path, check


def test_the_export_matches_pytorch_on_random_and_real_images(exported):
    path, check = exported
    assert path.is_file() and check.images == 124
    assert check.max_logit_difference <= onnx_export.LOGIT_TOLERANCE and check.strings_identical


def test_an_exported_file_reads_like_the_checkpoint(exported, digits_model, synth_folder):
    path, _ = exported
    paths = [p for p, _ in read_folder(synth_folder).samples]
    onnx_model = seqocr.load(path)
    assert onnx_model.backend == "onnx" and onnx_model.charset == digits_model.charset
    torch_answers = digits_model.predict(paths)
    onnx_answers = onnx_model.predict(paths)
    assert [a.text for a in onnx_answers] == [a.text for a in torch_answers]
    for a, b in zip(onnx_answers, torch_answers, strict=True):
        assert a.confidence == pytest.approx(b.confidence, abs=1e-4)


def test_an_exported_file_keeps_the_length_its_model_reads(exported, synth_folder, tmp_path):
    path, _ = exported
    digits = seqocr.load(path)
    assert digits.label_length is None and digits.network.metadata["seqocr_label_length"] == "null"
    fixed = tmp_path / "fixed.onnx"  # as a model trained on labels all of two digits exports
    fixed.write_bytes(path.read_bytes())
    onnx_export._add_metadata(fixed, {**digits.network.metadata, "seqocr_label_length": "2"})
    paths = [p for p, _ in read_folder(synth_folder).samples]
    assert {len(a.text) for a in seqocr.load(fixed).predict(paths)} == {2}
    onnx_export._add_metadata(fixed, {**digits.network.metadata, "seqocr_label_length": "-1"})
    with pytest.raises(SeqocrError, match="metadata unreadable .label length -1"):
        seqocr.load(fixed)


def test_one_image_at_a_time_and_full_batches_read_alike_on_onnx(exported, synth_folder):
    """Small batches run on a one-thread session, large ones on all cores: same answers."""
    path, _ = exported
    paths = [p for p, _ in read_folder(synth_folder).samples][:40]
    onnx_model = seqocr.load(path)
    assert len(paths) >= onnx_model.network.SMALL_BATCH
    together = onnx_model.predict(paths, batch_size=64)
    alone = [onnx_model.predict([p])[0] for p in paths]
    assert [a.text for a in alone] == [a.text for a in together]
    for a, b in zip(alone, together, strict=True):
        assert a.confidence == pytest.approx(b.confidence, abs=1e-4)


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory):
    """One user cache for the tests that read with `--backend onnx`: the bundled model is
    exported into it once, by the first of them."""
    return tmp_path_factory.mktemp("cache")


def test_an_export_that_disagrees_fails_and_leaves_nothing(tmp_path, digits_model, monkeypatch):
    real_trace = onnx_export._trace

    def trace_a_different_network(model, path, channels, height):
        broken = seqocr.load("digits").model
        with torch.no_grad():
            broken.head.bias[1] += 5.0  # now it reads far more zeros
        real_trace(broken, path, channels, height)

    monkeypatch.setattr(onnx_export, "_trace", trace_a_different_network)
    out = tmp_path / "broken.onnx"
    with pytest.raises(SeqocrError, match="disagrees with PyTorch"):
        onnx_export.export_onnx(digits_model, out, check_images(digits_model), real_check_images(digits_model))
    assert list(tmp_path.iterdir()) == []


def test_int8_export_is_smaller_and_checked_on_real_images(tmp_path, exported, capsys):
    out = tmp_path / "digits-int8.onnx"
    assert main(["export", "digits", "--out", str(out), "--quantize"]) == 0
    assert "checked on 100 images" in capsys.readouterr().out
    assert out.stat().st_size < 0.5 * exported[0].stat().st_size
    assert seqocr.load(out).info.quantized == "int8"


def test_the_onnx_backend_from_the_command_line(onnx_cache, synth_folder, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(onnx_cache))
    paths = [str(p) for p, _ in read_folder(synth_folder).samples[:6]]
    assert main(["predict", "--json", *paths]) == 0
    torch_rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    for _ in range(2):
        assert main(["predict", "--json", "--backend", "onnx", *paths]) == 0
        onnx_rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [r["text"] for r in onnx_rows] == [r["text"] for r in torch_rows]
    assert len(list((onnx_cache / "seqocr" / "onnx").glob("digits-*.onnx"))) == 1  # exported once, cached


def test_bench_reports_both_backends_and_a_pool_of_processes(tmp_path, onnx_cache, synth_folder, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(onnx_cache))
    both, pooled = tmp_path / "both.json", tmp_path / "pooled.json"
    common = ["bench", "digits", "--data", str(synth_folder), "-n", "32"]
    assert main([*common, "--workers", "1", "--json", str(both)]) == 0  # one process: no pool
    results = json.loads(both.read_text())["backends"]
    assert set(results) == {"torch", "onnx"}
    for r in results.values():
        assert r["batch64_images_per_s_end_to_end"] > 0 and r["latency_ms_end_to_end"]["p50"] > 0
        assert "processes" not in r
    with_pool = [*common, "--backend", "onnx", "--workers", "2", "--json", str(pooled)]  # ONNX alone: slow to start
    assert main(with_pool) == 0
    r = json.loads(pooled.read_text())["backends"]["onnx"]
    assert r["processes"]["workers"] == 2 and r["processes"]["batch64_images_per_s_end_to_end"] > 0
    assert "batch 64 in 2 one-thread processes" in capsys.readouterr().out


def test_a_report_on_an_exported_model_reads_like_one_on_its_checkpoint(exported, synth_folder, tmp_path, capsys):
    path, _ = exported
    assert main(["report", str(path), "--data", str(synth_folder), "--out", str(tmp_path / "onnx.html")]) == 0
    assert main(["report", "digits", "--data", str(synth_folder), "--out", str(tmp_path / "torch.html")]) == 0
    onnx, torch_ = (json.loads((tmp_path / f"{name}.json").read_text()) for name in ("onnx", "torch"))
    assert onnx["analysis"]["accuracy"] == torch_["analysis"]["accuracy"]
    assert onnx["parameters"] is None and torch_["parameters"] > 0  # a graph's weights are not counted
    assert onnx["temperature"] == torch_["temperature"]
