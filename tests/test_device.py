"""Where a network runs and at what precision; what a GPU changes in a recipe. PyTorch here
has no CUDA, so the GPU paths are checked where the CPU allows: the rules that choose
them, float16 loss scaling (autocast and GradScaler run on the CPU too), and the recipe."""

from __future__ import annotations

import pytest
import torch

from seqocr.charset import DIGITS
from seqocr.config import ModelConfig, PreprocessConfig, RunConfig, SynthConfig
from seqocr.data.datasets import EncodedDataset, SynthSource, collate
from seqocr.data.synth import DigitStringSynth
from seqocr.device import resolve_device, resolve_precision
from seqocr.errors import SeqocrError
from seqocr.models import build_model
from seqocr.train.distributed import Processes
from seqocr.train.step import Stepper


def test_auto_means_the_cpu_here_and_a_missing_gpu_is_a_one_line_error():
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_precision("auto", torch.device("cpu")) == "32"
    assert resolve_precision("bf16", torch.device("cpu")) == "bf16"
    with pytest.raises(SeqocrError, match="--device cuda:1: this PyTorch sees no CUDA GPU"):
        resolve_device("cuda:1")
    with pytest.raises(SeqocrError, match="unknown device 'gpu'"):
        resolve_device("gpu")
    with pytest.raises(SeqocrError, match="float16.*needs a GPU"):
        resolve_precision("16", torch.device("cpu"))


def test_on_a_gpu_auto_precision_is_bf16_where_the_gpu_has_it_else_float16(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert resolve_precision("auto", torch.device("cuda")) == "bf16"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert resolve_precision("auto", torch.device("cuda")) == "16"
    assert resolve_precision("32", torch.device("cuda")) == "32"


def batch(count: int = 16):
    dataset = EncodedDataset(SynthSource(DigitStringSynth(SynthConfig(max_len=4)), count), PreprocessConfig(), DIGITS)
    return collate([dataset[i] for i in range(count)])


@pytest.mark.parametrize("precision", ["16", "bf16", "32"])
def test_every_precision_learns_a_batch_and_only_float16_scales_the_loss(precision, data_dir):
    torch.manual_seed(0)
    small = ModelConfig(stem=8, stages=((16, 2, 2), (32, 2, 1), (32, 2, 1)), hidden=32)  # CPU float16 is slow
    config = RunConfig(model=small)
    model = build_model(config.model, config.preprocess, DIGITS.num_classes)
    stepper = Stepper(model, DIGITS, config.train, torch.device("cpu"), precision, Processes(), None)
    assert stepper.scaler.is_enabled() == (precision == "16")
    fixed = batch(8)
    losses = [stepper.step(fixed, 3e-3) for _ in range(25)]
    assert losses[-1] < 0.7 * losses[0]  # the loss itself is float32 (models/ctc.py) at any precision
    assert all(p.dtype == torch.float32 for p in model.parameters())  # weights stay float32


def test_a_gpu_recipe_has_a_larger_batch_a_scaled_learning_rate_and_workers_for_its_cores(monkeypatch):
    from seqocr.cli import build_parser
    from seqocr.cli.train import GPU_BATCH_SCALE, train_config_from
    from seqocr.train.presets import auto_workers, preset

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # what `auto` sees on a GPU machine
    recipe = preset("digits").train
    gpu = train_config_from(build_parser().parse_args(["train"])).train
    assert gpu.batch_size == GPU_BATCH_SCALE * recipe.batch_size == 256
    assert gpu.lr == pytest.approx(recipe.lr * GPU_BATCH_SCALE**0.5)
    assert gpu.workers == auto_workers(gpu=True) and gpu.device == "auto"  # --workers auto by default
    asked = train_config_from(build_parser().parse_args(["train", "--batch-size", "96"])).train
    assert (asked.batch_size, asked.lr) == (96, recipe.lr)  # what the user gives is kept as given
    cpu = train_config_from(build_parser().parse_args(["train", "--device", "cpu"])).train
    assert (cpu.batch_size, cpu.lr, cpu.workers) == (recipe.batch_size, recipe.lr, recipe.workers)
