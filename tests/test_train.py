"""Training writes a complete run folder, resumes, refuses to overwrite, and can overfit."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from seqocr.charset import DIGITS
from seqocr.checkpoint import Checkpoint
from seqocr.config import PreprocessConfig, RunConfig, SynthConfig, TrainConfig
from seqocr.data.datasets import EncodedDataset, SynthSource, WidthBucketedBatches
from seqocr.data.synth import DigitStringSynth
from seqocr.errors import SeqocrError
from seqocr.loading import load
from seqocr.train.loop import epoch_loader, train

pytestmark = pytest.mark.heavy


def tiny_config(out, epochs=2) -> RunConfig:
    return RunConfig(
        train=TrainConfig(
            out=str(out), epochs=epochs, samples_per_epoch=64, val_samples=32, batch_size=32, workers=0, max_minutes=0
        ),
        synth=SynthConfig(max_len=4),
    )


@pytest.fixture
def run(tiny_run):
    return tiny_run


def test_a_run_folder_holds_config_metrics_plot_and_checkpoints(run):
    for name in ("config.json", "metrics.jsonl", "curves.png", "best.pt", "last.pt"):
        assert (run / name).is_file(), name
    assert json.loads((run / "config.json").read_text())["train"]["epochs"] == 2
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    assert {"train_loss", "val_loss", "val_accuracy", "val_cer", "lr"} <= set(rows[0])


def test_the_best_checkpoint_loads_as_a_recognizer(run):
    recognizer = load(run)
    assert recognizer.charset == DIGITS
    data = torch.load(run / "best.pt", weights_only=True)
    assert data["format"] == "seqocr-checkpoint" and "optimizer" not in data


def test_resume_continues_from_the_last_epoch_with_a_new_patience_if_given(run, tmp_path, capsys):
    run = Path(shutil.copytree(run, tmp_path / "copy"))  # the shared run stays as the other tests expect it
    config = tiny_config(run, epochs=3)
    # Resuming reads the run's own config.json; widen it to 3 epochs as a user would.
    saved = json.loads((run / "config.json").read_text())
    saved["train"]["epochs"] = 3
    (run / "config.json").write_text(json.dumps(saved))
    train(config, resume=True, progress=False, patience=saved["train"]["patience"] + 5)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    # --patience with --resume: a run that stopped early goes on, and config.json says by what
    resumed = json.loads((run / "config.json").read_text())["train"]
    assert resumed["patience"] == saved["train"]["patience"] + 5 and resumed["epochs"] == 3
    assert f"patience {saved['train']['patience']} -> {resumed['patience']} epochs" in capsys.readouterr().err


def test_a_paused_run_stops_at_an_epochs_end_and_resuming_goes_on_with_the_same_schedule(run, tmp_path):
    run = Path(shutil.copytree(run, tmp_path / "copy"))
    saved = json.loads((run / "config.json").read_text())
    saved["train"]["epochs"] = 4
    (run / "config.json").write_text(json.dumps(saved))
    config = tiny_config(run, epochs=4)
    train(config, resume=True, progress=False, pause_after=1e-6)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3]  # one epoch, then the pause
    train(config, resume=True, progress=False)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    assert rows[3]["lr"] < rows[2]["lr"]  # the same one-cycle, annealing on


def test_an_existing_run_is_never_overwritten(run):
    before = (run / "metrics.jsonl").read_text()
    with pytest.raises(SeqocrError, match="already holds a run"):
        train(tiny_config(run), progress=False)
    assert (run / "metrics.jsonl").read_text() == before


def test_the_learning_rate_warms_up_peaks_and_anneals_within_a_time_budget():
    from seqocr.train.schedule import OneCycle

    schedule = OneCycle(peak_lr=1e-2, total_steps=1000, total_seconds=60.0)
    assert schedule.progress(step=100, seconds=30.0) == 0.5  # time is further along than steps
    assert schedule.progress(step=900, seconds=6.0) == 0.9
    assert schedule.lr(0.0) == pytest.approx(1e-2 / 25) and schedule.lr(0.15) == pytest.approx(1e-2)
    assert schedule.lr(1.0) == pytest.approx(1e-2 / 1e4)
    lrs = [schedule.lr(p / 100) for p in range(15, 101)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:], strict=False))  # monotone annealing after the peak


def test_a_temperature_is_fitted_only_on_a_validation_set_large_enough_to_trust(tmp_path, data_dir, capsys):
    from seqocr.evaluate.calibration import MIN_CALIBRATION_IMAGES

    start = tmp_path / "start.pt"  # a starting model whose temperature no default could be mistaken for
    Checkpoint.load(load("digits").info.path).calibrated(0.8).save(start)
    small = tiny_config(tmp_path / "small", epochs=1)
    small = replace(small, train=replace(small.train, init=str(start), samples_per_epoch=32))
    train(small, progress=False)
    data = torch.load(tmp_path / "small" / "best.pt", weights_only=True)
    assert "calibration" not in data
    assert data["temperature"] == 0.8  # the starting model's
    assert "32 validation images are too few" in capsys.readouterr().err

    large = tiny_config(tmp_path / "large", epochs=1)
    large = replace(large, train=replace(large.train, val_samples=MIN_CALIBRATION_IMAGES, samples_per_epoch=32))
    train(large, progress=False)
    data = torch.load(tmp_path / "large" / "best.pt", weights_only=True)
    assert data["calibration"]["images"] == MIN_CALIBRATION_IMAGES
    assert data["temperature"] == data["calibration"]["temperature"] == load(tmp_path / "large").temperature


def test_a_data_worker_can_render_the_next_pool_while_the_trainer_uses_this_one():
    dataset = EncodedDataset(SynthSource(DigitStringSynth(SynthConfig(max_len=3)), 64), PreprocessConfig(), DIGITS)
    batches = WidthBucketedBatches(dataset, batch_size=8, seed=0, pool=4)
    loader = epoch_loader(batches, workers=1)
    assert loader.prefetch_factor is not None and loader.prefetch_factor > batches.pool
    assert sum(len(b.texts) for b in loader) == 64


def test_with_ema_the_best_checkpoint_holds_the_averaged_weights_and_resuming_continues_the_average(tmp_path, data_dir):
    out = tmp_path / "ema"
    config = tiny_config(out, epochs=1)
    config = replace(config, train=replace(config.train, ema=0.99))
    train(config, progress=False)
    best, last = (torch.load(out / name, weights_only=True) for name in ("best.pt", "last.pt"))
    averaged = {k.removeprefix("module."): v for k, v in last["averaged"].items() if k.startswith("module.")}
    assert int(last["averaged"]["n_averaged"]) == 2  # 64 samples in batches of 32: one update per step
    assert all(torch.equal(best["state_dict"][k], averaged[k]) for k in averaged)
    assert any(not torch.equal(last["state_dict"][k], averaged[k]) for k in averaged)  # last.pt: trained weights
    saved = json.loads((out / "config.json").read_text())
    saved["train"]["epochs"] = 2
    (out / "config.json").write_text(json.dumps(saved))
    train(config, resume=True, progress=False)
    assert int(torch.load(out / "last.pt", weights_only=True)["averaged"]["n_averaged"]) == 4


def test_the_weight_average_forgets_its_first_steps_quickly_then_moves_at_the_set_decay():
    from seqocr.train.averaging import averaged_weights

    model = torch.nn.Linear(1, 1, bias=False)
    averaged = averaged_weights(model, decay=0.99)
    for value, expected in ((1.0, 1.0), (2.0, 1.0 * 2 / 11 + 2.0 * 9 / 11)):
        model.weight.data.fill_(value)
        averaged.update_parameters(model)
        assert averaged.module.weight.item() == pytest.approx(expected)
    for _ in range(2000):  # long after the warm-up the rate is the decay asked for
        averaged.update_parameters(model)
    before = averaged.module.weight.item()
    model.weight.data.fill_(before + 1.0)
    averaged.update_parameters(model)
    assert averaged.module.weight.item() == pytest.approx(before + 0.01)
    assert averaged_weights(model, decay=0.0) is None


def test_out_of_memory_names_the_batch_and_what_to_pass_and_keeps_the_run(tmp_path, data_dir, monkeypatch):
    from seqocr.checkpoint import Checkpoint
    from seqocr.train import step

    steps, real = [], step.Objective.forward

    def forward(self, batch):
        steps.append(len(batch.texts))
        if len(steps) > 2:  # epoch 1 (two batches of 32) trains; then the GPU is full
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(self, batch)

    monkeypatch.setattr(step.Objective, "forward", forward)
    out = tmp_path / "oom"
    with pytest.raises(SeqocrError, match=r"out of memory on a batch of 32 images \d+ px wide; pass --batch-size 16"):
        train(tiny_config(out), progress=False)
    assert Checkpoint.load(out / "last.pt").resume["state"]["epoch"] == 1  # the run keeps its last epoch
    load(out)  # and its best weights read
