"""Training on a disk that fills up: one line, the last good checkpoint kept, no temporary files."""

import json
import resource
import signal
import subprocess
import sys

import pytest

from seqocr.checkpoint import CheckpointWriteError, read_payload, write_payload
from seqocr.errors import SeqocrError

pytestmark = pytest.mark.heavy

TINY = [
    "train", "--epochs", "2", "--samples-per-epoch", "64", "--val-samples", "32", "--batch-size", "32",
    "--max-len", "4", "--workers", "0", "--max-minutes", "0", "--no-progress",
]  # fmt: skip


def train_with_file_size_limit(out, limit_bytes, *extra):
    """`seqocr train` in a process whose files cannot grow past `limit_bytes` (as on a full disk)."""

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run(
        [sys.executable, "-m", "seqocr", *TINY, "--out", str(out), *extra],
        capture_output=True,
        text=True,
        preexec_fn=limit,
    )


def test_a_run_whose_checkpoint_does_not_fit_ends_with_one_line_and_may_start_again(tmp_path, data_dir):
    out = tmp_path / "run"
    failed = train_with_file_size_limit(out, 300_000)  # config and metrics fit; no checkpoint does
    assert failed.returncode == 1
    error = failed.stderr.strip().splitlines()[-1]
    assert "Traceback" not in failed.stderr
    assert error.startswith(f"seqocr: error: {out}: cannot write") and "MB free" in error and "needs" in error
    assert "no checkpoint was saved yet" in error
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left
    from seqocr.cli import main

    assert main([*TINY, "--epochs", "1", "--out", str(out)]) == 0  # with room on the disk, the same command
    assert read_payload(out / "best.pt")["metrics"]["epoch"] == 1


def test_when_a_later_save_fails_the_last_good_checkpoint_stays_and_resume_continues(tmp_path, data_dir, monkeypatch):
    from seqocr import checkpoint
    from seqocr.cli import main
    from seqocr.train import loop

    out = tmp_path / "run"
    saves = []
    real_save = checkpoint.write_payload

    def fills_up(path, payload):
        saves.append(path.name)
        if len(saves) > 2:  # epoch 1 wrote best.pt and last.pt; then the disk is full
            raise CheckpointWriteError(f"{path.parent}: cannot write {path.name} (No space left on device)")
        real_save(path, payload)

    monkeypatch.setattr(checkpoint, "write_payload", fills_up)
    with pytest.raises(SeqocrError, match="last good checkpoint is kept: free some space, then continue with --resume"):
        loop.train(loop_config(out), progress=False)
    assert read_payload(out / "last.pt")["state"]["epoch"] == 1
    monkeypatch.setattr(checkpoint, "write_payload", real_save)
    assert main(["train", "--resume", "--out", str(out), "--no-progress"]) == 0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    assert "calibration" in read_payload(out / "best.pt") or read_payload(out / "best.pt")["temperature"] == 1.0


def loop_config(out):
    from seqocr.config import RunConfig, SynthConfig, TrainConfig

    return RunConfig(
        train=TrainConfig(
            out=str(out), epochs=2, samples_per_epoch=64, val_samples=32, batch_size=32, workers=0, max_minutes=0
        ),
        synth=SynthConfig(max_len=4),
    )


def test_a_checkpoint_save_that_fails_leaves_the_old_file_and_no_temporary_one(tmp_path):
    path = tmp_path / "best.pt"
    write_payload(path, {"weights": list(range(10))})

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    script = (
        "import sys, torch\nfrom seqocr.checkpoint import write_payload\n"
        "from seqocr.errors import SeqocrError\n"
        f"try: write_payload({str(path)!r}, {{'weights': torch.zeros(100_000)}})\n"
        "except SeqocrError as e: print(e); sys.exit(1)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, preexec_fn=limit)
    assert result.returncode == 1 and "cannot write best.pt" in result.stdout and "MB free" in result.stdout
    assert read_payload(path)["weights"] == list(range(10))
    assert [p.name for p in tmp_path.iterdir()] == ["best.pt"]


def test_a_disk_full_between_best_and_last_in_the_first_epoch_leaves_a_folder_that_starts_again(
    tmp_path, data_dir, monkeypatch
):
    from seqocr import checkpoint
    from seqocr.cli import main
    from seqocr.train import loop

    out = tmp_path / "run"
    real_save = checkpoint.write_payload

    def fills_up(path, payload):
        if path.name == "last.pt":  # best.pt of epoch 1 was written; last.pt is not
            raise CheckpointWriteError(f"{path.parent}: cannot write {path.name} (No space left on device)")
        real_save(path, payload)

    monkeypatch.setattr(checkpoint, "write_payload", fills_up)
    with pytest.raises(SeqocrError, match="no checkpoint was saved yet: free some space, then start again"):
        loop.train(loop_config(out), progress=False)
    assert (out / "best.pt").is_file() and not (out / "last.pt").exists()
    monkeypatch.setattr(checkpoint, "write_payload", real_save)
    assert main([*TINY, "--epochs", "1", "--out", str(out)]) == 0  # as the message advises
    assert read_payload(out / "last.pt")["state"]["epoch"] == 1


def test_the_free_space_reported_does_not_count_the_half_written_file(tmp_path, monkeypatch):
    import os
    import shutil

    seen = []
    real_usage = shutil.disk_usage

    def usage(folder):
        seen.append(sorted(p.name for p in tmp_path.iterdir()))
        return real_usage(folder)

    def full(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "disk_usage", usage)
    monkeypatch.setattr(os, "fsync", lambda fd: full(fd, b""))
    with pytest.raises(CheckpointWriteError, match="No space left on device"):
        write_payload(tmp_path / "best.pt", {"weights": list(range(10))})
    assert seen == [[]]  # measured after the temporary file was removed
