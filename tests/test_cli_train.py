import json

import pytest
import torch

from seqocr.cli import build_parser, main
from seqocr.cli.train import train_config_from
from seqocr.models import build_model
from seqocr.train import presets
from seqocr.train.presets import preset


def test_train_then_eval_then_predict_from_the_command_line(tiny_run, synth_folder, capsys):
    run = tiny_run  # `seqocr train --preset digits --dropout 0.3 --weight-decay 0.0005 ...` (tests/conftest.py)
    assert (run / "best.pt").is_file() and (run / "curves.png").is_file()
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["dropout"] == 0.3 and config["train"]["weight_decay"] == 0.0005
    assert main(["eval", "--model", str(run), "--data", str(synth_folder)]) == 0
    assert main(["predict", "--model", str(run / "best.pt"), str(synth_folder / "000000.png")]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith(str(synth_folder / "000000.png"))


def test_resuming_a_folder_without_a_run_is_a_one_line_error(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "empty"), "--resume", "--no-progress"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no run to resume" in err[0]


def test_digit_strings_train_on_the_cores_their_two_renderers_leave(monkeypatch):
    for cores, threads in ((8, 6), (2, 1)):
        monkeypatch.setattr(presets, "usable_cores", lambda cores=cores: cores)
        assert preset("digits").train.workers == 2 and preset("digits").train.threads == threads


def test_fewer_renderers_asked_for_leave_more_cores_to_torch(monkeypatch):
    monkeypatch.setattr(presets, "usable_cores", lambda: 8)
    args = build_parser().parse_args(["train", "--preset", "digits", "--workers", "0"])
    assert train_config_from(args).train.threads == 8
    args = build_parser().parse_args(["train", "--preset", "digits", "--workers", "0", "--threads", "3"])
    assert train_config_from(args).train.threads == 3


def test_the_backbone_is_sized_from_the_command_line():
    args = build_parser().parse_args(["train", "--stem", "8", "--stages", "16:2:2,24,32:4:1", "--hidden", "48"])
    config = train_config_from(args)
    assert config.model.stem == 8 and config.model.stages == ((16, 2, 2), (24, 1, 1), (32, 4, 1))
    model = build_model(config.model, config.preprocess, num_classes=11)
    convs = [m.out_channels for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs == [8, 16, 24, 32]


def test_a_malformed_stage_is_a_one_line_usage_error(capsys):
    for bad in ("32:2", "0", "32:x:1"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["train", "--stages", bad])
        assert "--stages" in capsys.readouterr().err
