"""Several processes under torchrun (gloo on the CPU), and mixed precision on the CPU."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from seqocr.charset import DIGITS
from seqocr.checkpoint import Checkpoint, read_payload
from seqocr.config import PreprocessConfig
from seqocr.data.datasets import EncodedDataset, WidthBucketedBatches
from seqocr.loading import load
from seqocr.models import build_model

pytestmark = pytest.mark.heavy

TINY = [
    "train", "--device", "cpu", "--epochs", "2", "--samples-per-epoch", "96", "--val-samples", "32",
    "--batch-size", "16", "--workers", "0", "--threads", "1", "--max-minutes", "0", "--max-len", "4",
    "--no-progress",
]  # fmt: skip


class Numbered:
    """Sample i is a blank image labelled with i's digits: which samples a process saw."""

    def __len__(self) -> int:
        return 101

    def __getitem__(self, index: int):
        import numpy as np

        return np.zeros((28, 28 * (1 + index % 3)), dtype=np.uint8), str(index)


def test_processes_see_disjoint_shares_of_an_epoch_and_as_many_steps_each():
    dataset = EncodedDataset(Numbered(), PreprocessConfig(), DIGITS)
    seen = []
    for rank in (0, 1):
        batches = WidthBucketedBatches(dataset, batch_size=8, seed=3, pool=2, rank=rank, world=2)
        seen.append([int(text) for batch in batches for text in batch.texts])
    alone = [int(t) for b in WidthBucketedBatches(dataset, batch_size=8, seed=3, pool=2) for t in b.texts]
    assert len(seen[0]) == len(seen[1]) == 50  # 101 // 2 each: the same number of steps
    assert not set(seen[0]) & set(seen[1])
    assert set(seen[0]) | set(seen[1]) <= set(alone) and len(alone) == 101


def test_two_processes_train_one_run_that_loads_anywhere_and_one_process_resumes(under_torchrun, synth_folder):
    folder, result = under_torchrun
    out = folder / "ddp"
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 process(es)" in result.stderr
    assert result.stderr.count("epoch 1:") == 1  # rank 0 alone prints
    assert sorted(p.name for p in out.iterdir()) == ["best.pt", "config.json", "curves.png", "last.pt", "metrics.jsonl"]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]  # one writer: no row twice

    several = Checkpoint.load(out / "best.pt")  # the weights of one process's network: no DDP wrapper in them
    single = build_model(several.model, several.preprocess, several.charset.num_classes)
    assert {k: v.shape for k, v in several.weights.items()} == {k: v.shape for k, v in single.state_dict().items()}
    assert all(v.device.type == "cpu" for v in several.weights.values())
    reader = load(out)  # read through the one loading path, at its own temperature
    assert reader.temperature == several.temperature
    assert len(reader.predict(sorted(synth_folder.glob("*.png"))[:8])) == 8

    config = json.loads((out / "config.json").read_text())
    config["train"]["epochs"] = 3
    (out / "config.json").write_text(json.dumps(config))
    from seqocr.cli import main

    assert main(["train", "--resume", "--out", str(out), "--device", "cpu", "--no-progress"]) == 0  # in one process
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert read_payload(out / "last.pt")["state"]["epoch"] == 3


def test_bf16_on_the_cpu_trains_a_run_stored_at_full_precision_and_reads_in_bf16(
    tmp_path: Path, data_dir, synth_folder, digits_model
):
    """That bf16 steps learn is test_device's; here the whole run at bf16 and reading at it."""
    from seqocr.cli import main

    out = tmp_path / "bf16"
    assert main([*TINY, "--precision", "bf16", "--epochs", "1", "--samples-per-epoch", "64", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert torch.isfinite(torch.tensor(rows[0]["train_loss"]))
    weights = Checkpoint.load(out / "best.pt").weights
    assert all(v.dtype in (torch.float32, torch.int64) for v in weights.values())  # stored at full precision
    images = sorted(synth_folder.glob("*.png"))[:16]
    half, full = load("digits", precision="bf16").predict(images), digits_model.predict(images)
    assert sum(a.text == b.text for a, b in zip(half, full, strict=True)) >= 14  # bf16 keeps ~3 significant digits
    assert max(abs(a.confidence - b.confidence) for a, b in zip(half, full, strict=True) if a.text == b.text) < 0.1


ONE_STEP = """
import os, sys, torch
from seqocr.charset import DIGITS
from seqocr.config import ModelConfig, PreprocessConfig, SynthConfig, TrainConfig
from seqocr.data.datasets import EncodedDataset, SynthSource, collate
from seqocr.data.synth import DigitStringSynth
from seqocr.models import build_model
from seqocr.train.distributed import join_processes, leave_processes
from seqocr.train.step import Stepper

processes, device = join_processes(torch.device("cpu"))
rank, world = processes.rank, processes.world
torch.manual_seed(0)
model = build_model(ModelConfig(stem=8, stages=((16, 2, 2), (32, 2, 1), (32, 2, 1)), hidden=32), PreprocessConfig(), 11)
model.eval()  # BatchNorm from running statistics: each image's loss does not depend on its batch
data = EncodedDataset(SynthSource(DigitStringSynth(SynthConfig(min_len=3, max_len=3)), 16), PreprocessConfig(), DIGITS)
share = range(rank * 16 // world, (rank + 1) * 16 // world)
stepper = Stepper(model, DIGITS, TrainConfig(), device, "32", processes, None)
if world == 1:
    torch.save(model.state_dict(), os.path.join(sys.argv[1], "initial.pt"))
for _ in range(3):
    stepper.step(collate([data[i] for i in share]), 1e-3)
torch.save(model.state_dict(), os.path.join(sys.argv[1], f"rank{rank}-of-{world}.pt"))
leave_processes()
"""


THEN_TRAIN = """
import runpy, sys
import seqocr.train.distributed as distributed
folder, *arguments = sys.argv[1:]
sys.argv = [sys.argv[0], folder]
leave, distributed.leave_processes = distributed.leave_processes, lambda: None  # the training joins the same group
runpy.run_path(folder + "/one_step.py", run_name="__main__")
distributed.leave_processes = leave
from seqocr.cli import main
sys.exit(main(arguments))
"""


@pytest.fixture(scope="module")
def under_torchrun(tmp_path_factory, data_dir) -> tuple[Path, subprocess.CompletedProcess]:
    """One torchrun of two processes for the two tests that need one (each start of
    torchrun and its processes costs seconds): ONE_STEP's three steps, then a tiny
    training run into `ddp/`. (folder, the finished torchrun)."""
    folder = tmp_path_factory.mktemp("torchrun")
    (folder / "one_step.py").write_text(ONE_STEP)
    (folder / "then_train.py").write_text(THEN_TRAIN)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    command += [str(folder / "then_train.py"), str(folder), *TINY, "--out", str(folder / "ddp")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return folder, subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


def test_processes_average_their_gradients_into_the_weights_one_process_reaches(under_torchrun, monkeypatch):
    folder, together = under_torchrun
    monkeypatch.setattr(sys, "argv", [str(folder / "one_step.py"), str(folder)])
    runpy.run_path(str(folder / "one_step.py"), run_name="__main__")  # alone, in this process
    assert together.returncode == 0, together.stderr[-2000:]
    one, first, second = (torch.load(folder / name) for name in ("rank0-of-1.pt", "rank0-of-2.pt", "rank1-of-2.pt"))
    assert all(torch.equal(first[k], second[k]) for k in first)  # every process holds the same weights
    # two halves of 8 strings of 3 digits, gradients averaged = one batch of 16: the same three AdamW steps
    assert all(torch.allclose(first[k].float(), one[k].float(), atol=1e-5) for k in one)
    initial = torch.load(folder / "initial.pt")
    assert max(float((one[k].float() - initial[k].float()).abs().max()) for k in one) > 1e-3  # the steps moved them


def test_a_process_whose_peer_failed_stops_with_one_line_not_a_traceback(monkeypatch):
    """Under torchrun, when rank 0 fails (a full disk), rank 1's next collective raises
    gloo's "Connection closed by peer": rank 1 says so in one line."""
    from seqocr.config import RunConfig
    from seqocr.errors import SeqocrError
    from seqocr.train import loop
    from seqocr.train.distributed import Processes

    monkeypatch.setattr(loop, "join_processes", lambda device: (Processes(rank=1, world=2), device))
    monkeypatch.setattr(loop, "leave_processes", lambda: None)

    def peer_gone(*args, **kwargs):
        raise RuntimeError("[gloo/transport/tcp/pair.cc:553] Connection closed by peer [127.0.0.1]:47801.")

    monkeypatch.setattr(loop, "_train", peer_gone)
    with pytest.raises(SeqocrError, match="process 1: stopped, another process of the run failed"):
        loop.train(RunConfig(), progress=False)
    monkeypatch.setattr(loop, "join_processes", lambda device: (Processes(), device))
    with pytest.raises(RuntimeError):  # alone, a RuntimeError is a bug to see whole
        loop.train(RunConfig(), progress=False)
