import os

from seqocr.cli import main
from seqocr.config import TrainConfig
from seqocr.train.loop import training_threads
from seqocr.train.presets import preset

TINY = ["--epochs", "1", "--samples-per-epoch", "64", "--val-samples", "32", "--workers", "0", "--max-minutes", "0"]


def test_train_then_eval_then_predict_from_the_command_line(tmp_path, synth_folder, capsys):
    run = tmp_path / "run"
    assert main(["train", "--preset", "digits", "--out", str(run), "--no-progress", *TINY]) == 0
    assert (run / "best.pt").is_file() and (run / "curves.png").is_file()
    assert main(["eval", "--model", str(run), "--data", str(synth_folder)]) == 0
    assert main(["predict", "--model", str(run / "best.pt"), str(synth_folder / "000000.png")]) == 0
    assert "best checkpoint" in capsys.readouterr().out


def test_resuming_a_folder_without_a_run_is_a_one_line_error(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "empty"), "--resume", "--no-progress"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no run to resume" in err[0]


def test_training_uses_the_cores_its_data_workers_leave(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert training_threads(TrainConfig(workers=2)) == 6
    assert training_threads(TrainConfig(workers=2, threads=3)) == 3  # asked for explicitly
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert training_threads(TrainConfig(workers=2)) == 1
    assert preset("digits").train.workers == 2  # rendering a string costs about as much as training on it
