"""The training loop: any model family, any device, one process or several.

Each epoch draws fresh samples: new synthetic strings, or the folder's images changed
anew by augmentation (train/data.py). Validation uses a fixed set: strings of held-out
MNIST training digits, or the folder's held-out images. An epoch reads top to bottom:
train (train/step.py), validate (train/validation.py), record and save
(train/keeping.py), stop early or at the end of the schedule; the best weights are
calibrated at the end.

Under torchrun (train/distributed.py) each process trains on its share of the epoch,
the learning rate is multiplied by the square root of the number of processes (the
global batch grows with them), and only rank 0 writes the run folder and prints.
"""

from __future__ import annotations

import errno
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch.optim.swa_utils import AveragedModel
from torch.utils.data import DataLoader
from tqdm import tqdm

from seqocr.charset import Charset
from seqocr.checkpoint import Checkpoint, CheckpointWriteError
from seqocr.config import RunConfig
from seqocr.data.checks import charset_warnings
from seqocr.data.datasets import EncodedDataset, WidthBucketedBatches
from seqocr.data.folder import SMALL_SET, split_folder
from seqocr.device import resolve_device, resolve_precision
from seqocr.errors import SeqocrError
from seqocr.models import RecognitionModel, build_model, channels_last
from seqocr.run_folder import RunFolder
from seqocr.train.averaging import averaged_weights, kept_weights
from seqocr.train.data import TrainingData, likely_unseen, resolve_charset
from seqocr.train.distributed import Processes, join_processes, leave_processes
from seqocr.train.initial_weights import AUTO, choose_start, load_initial_weights, read_init, with_init_geometry
from seqocr.train.keeping import TrainState, calibrate_best, count_epoch, improves, restore, save_epoch
from seqocr.train.schedule import OneCycle
from seqocr.train.step import Stepper
from seqocr.train.validation import Validation, ValidationSet

WRITE_FAILURES = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)  # the run folder cannot grow


def train(
    config: RunConfig,
    resume: bool = False,
    progress: bool = True,
    command: str = "",
    pause_after: float = 0.0,
    patience: int | None = None,
) -> Path:
    """Train per `config` into its run folder; returns the best checkpoint's path.
    `pause_after` (minutes, 0: never) ends this call at the first epoch's end past it,
    the schedule unchanged: a long run trains in pieces, each continued with `resume`.
    `patience`, with `resume`, replaces the run's own: a run stopped early continues."""
    threads = torch.get_num_threads()  # the caller's setting comes back afterwards
    processes, device = join_processes(resolve_device(config.train.device))
    try:
        return _train(config, resume, progress and processes.main, command, device, processes, pause_after, patience)
    except RuntimeError as error:  # under torchrun: another process failed and left the group
        if not processes.several or processes.main:
            raise
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise SeqocrError(f"process {processes.rank}: stopped, another process of the run failed ({first})") from None
    except (OSError, CheckpointWriteError) as error:  # a full disk, a file-size limit
        if isinstance(error, OSError) and error.errno not in WRITE_FAILURES:
            raise
        folder = RunFolder(config.train.out)
        what = str(error) if isinstance(error, CheckpointWriteError) else f"{folder.root}: cannot write ({error})"
        if folder.last.is_file():
            advice = "the last good checkpoint is kept: free some space, then continue with --resume"
        else:
            advice = "no checkpoint was saved yet: free some space, then start again (the same --out is allowed)"
        raise SeqocrError(f"{what}; {advice}") from None
    finally:
        torch.set_num_threads(threads)
        leave_processes()


@dataclass
class Run:
    """A run ready to train: its resolved config, folder, charset, model and data."""

    config: RunConfig
    folder: RunFolder
    charset: Charset
    model: RecognitionModel
    data: TrainingData
    init: Checkpoint | None


def _train(
    config: RunConfig,
    resume: bool,
    progress: bool,
    command: str,
    device: torch.device,
    processes: Processes,
    pause_after: float,
    patience: int | None,
) -> Path:
    say = _speaker(processes)
    piece_started = time.monotonic()
    run = _prepare(config, resume, device, processes, say, patience)
    config, folder, charset, model, data = run.config, run.folder, run.charset, run.model, run.data
    tc = config.train
    stepper, schedule, state, averaged = _start(run, device, processes, resume, say)
    val_set = ValidationSet(
        EncodedDataset(data.validation, config.preprocess, charset) if data.validation is not None else None,
        tc.batch_size,
    )
    record = Checkpoint(  # weights: each save
        charset, config.model, config.preprocess, weights={}, command=command, label_length=data.label_length
    )
    started = time.monotonic() - state.seconds
    for epoch in range(state.epoch + 1, tc.epochs + 1):
        batches = _epoch_batches(config, data, charset, epoch, processes)
        epoch_start = time.monotonic()
        loader = epoch_loader(batches, tc.workers, pin=device.type == "cuda")
        train_loss, seen = _train_epoch(
            stepper, loader, schedule, state, processes, epoch, tc.epochs, progress, started
        )
        train_seconds = time.monotonic() - epoch_start
        if seen == 0:  # the budget ran out between epochs: nothing new to validate
            say(f"schedule complete after {state.seconds / 60:.1f} min")
            break
        val = val_set.validate(kept_weights(model, averaged), charset, device, processes) if val_set else None
        state.seconds = processes.max(time.monotonic() - started)
        state.epoch = epoch
        done = schedule.progress(state.step, state.seconds)
        accuracy = val.accuracy if val else None
        best = improves(state, accuracy)
        count_epoch(state, accuracy, best, done)
        images_per_s = processes.sum([seen])[0] / max(train_seconds, 1e-9)
        row = _metrics_row(state, train_loss, val, stepper.optimizer.param_groups[0]["lr"], images_per_s)
        if processes.main:
            folder.append_metrics(row)
            save_epoch(folder, record, row, model, averaged, stepper.optimizer, state, best)
            _report(epoch, row, best)
        processes.wait()  # every process goes on from the checkpoint rank 0 saved
        paused = bool(pause_after) and processes.max(time.monotonic() - piece_started) >= 60 * pause_after
        if stop := _why_stop(state, tc.patience, done, paused, folder):
            say(stop)
            break
    if processes.main and folder.best.is_file():
        start_temperature = run.init.temperature if run.init is not None else _init_temperature(config)
        calibrate_best(folder, config, charset, val_set, start_temperature)
    processes.wait()
    return folder.best


def _start(
    run: Run, device: torch.device, processes: Processes, resume: bool, say: Callable[[str], None]
) -> tuple[Stepper, OneCycle, TrainState, AveragedModel | None]:
    """The optimizer's stepper, the schedule, and the counters (and weights, and their
    average) of a fresh run or of the run's `last.pt`."""
    tc, model = run.config.train, run.model
    precision = resolve_precision(tc.precision, device)
    model.to(device)
    averaged = averaged_weights(model, tc.ema)
    peak_lr = tc.lr * math.sqrt(processes.world)
    stepper = Stepper(model, run.charset, replace(tc, lr=peak_lr), device, precision, processes, averaged)
    steps_per_epoch = -(-(run.data.samples_per_epoch // processes.world) // tc.batch_size)
    schedule = OneCycle(peak_lr, total_steps=tc.epochs * steps_per_epoch, total_seconds=60 * tc.max_minutes)
    state = restore(run.folder, model, stepper.optimizer, averaged) if resume else TrainState()
    if resume and processes.main:
        run.folder.keep_metrics_until(state.epoch)
    if device.type != "cpu" or processes.several:
        say(f"training on {device} at precision {precision}, {processes.world} process(es)")
    return stepper, schedule, state, averaged


def _epoch_batches(
    config: RunConfig, data: TrainingData, charset: Charset, epoch: int, processes: Processes
) -> WidthBucketedBatches:
    """This process's share of the epoch's samples, in batches of similar width."""
    dataset = EncodedDataset(data.epoch_source(epoch), config.preprocess, charset)
    return WidthBucketedBatches(
        dataset, config.train.batch_size, config.train.seed + epoch, rank=processes.rank, world=processes.world
    )


def _why_stop(state: TrainState, patience: int, done: float, paused: bool, folder: RunFolder) -> str | None:
    """Why the run ends after this epoch, in words; None while it goes on."""
    if state.stale_epochs >= patience:
        return f"early stop: no improvement for {patience} epochs"
    if done >= 1.0:
        return f"schedule complete after {state.seconds / 60:.1f} min"
    if paused:
        minutes = state.seconds / 60
        return f"paused at epoch {state.epoch} ({minutes:.1f} min in all): continue with --resume --out {folder.root}"
    return None


def _metrics_row(
    state: TrainState, train_loss: float, val: Validation | None, lr: float, images_per_s: float
) -> dict[str, Any]:
    """An epoch's line in metrics.jsonl."""
    return {
        "epoch": state.epoch,
        "train_loss": train_loss,
        "val_loss": val.loss if val else None,
        "val_accuracy": val.accuracy if val else None,
        "val_cer": val.cer if val else None,
        "lr": lr,
        "train_images_per_s": images_per_s,
        "elapsed_s": state.seconds,
    }


def _prepare(
    config: RunConfig,
    resume: bool,
    device: torch.device,
    processes: Processes,
    say: Callable[[str], None],
    patience: int | None = None,
) -> Run:
    """Resolve the config (a resumed run's own, an initial model's geometry), check the data
    and create the run folder; data problems fail before a run folder exists."""
    folder = RunFolder(config.train.out)
    if resume:  # the run's own config wins; only its folder, the machine and its patience may change
        saved, given = folder.read_config(), config.train
        config = replace(
            saved,
            train=replace(
                saved.train,
                out=given.out,
                device=given.device,
                precision=given.precision,
                patience=patience or saved.train.patience,
            ),
        )
        if config.train.patience != saved.train.patience and processes.main:
            folder.write_config(config)  # config.json says what the run goes on by
            say(f"patience {saved.train.patience} -> {config.train.patience} epochs")
    else:
        folder.refuse_existing()
    split = split_folder(config.data, config.train.seed) if config.data.path else None
    charset = resolve_charset(config, split)
    if config.train.init == AUTO and not resume:
        start, why = choose_start(charset)
        say(why)
        config = replace(config, train=replace(config.train, init=start))  # config.json: the start chosen
    init = read_init(config.train.init) if config.train.init and not resume else None
    if init is not None:
        config = with_init_geometry(config, init)
    if split is not None and not config.charset and not resume:
        labels = [text for _, text in split.train + split.val]
        say(f"charset {charset.chars!r}: inferred from {len(labels)} labels")
        for warning in charset_warnings(labels):
            say(f"warning: {warning}")
        if init is not None and (unseen := likely_unseen(labels, init.charset)):
            charset = Charset.from_labels([*labels, unseen])
            say(
                f"charset: {unseen!r} added from the start {config.train.init!r}: the labels hold most of the digits "
                "or letters and some character only once, so the rest are likely in the images too (--charset sets it)"
            )
    config = replace(config, charset=charset.chars)  # config.json records the charset used
    tc = config.train
    if tc.threads > 0:
        torch.set_num_threads(tc.threads)
    torch.manual_seed(tc.seed)  # every process builds the same initial weights
    model = build_model(config.model, config.preprocess, charset.num_classes)
    if device.type == "cpu":
        model = channels_last(model)
    data = TrainingData(config, charset, model, split)
    processes.wait()  # every process has checked the folder before rank 0 creates it
    if not resume and processes.main:
        folder.create(config)
    if split is not None and not split.val and config.data.val_split is None:
        say(
            f"all {len(split.train)} images train: a set under {SMALL_SET} holds none out for validation "
            "(--val-split to hold some out); the last weights are kept"
        )
    if data.label_length is not None:
        n = data.label_length
        say(f"every label has {n} character{'s' * (n != 1)}: the model reads {n} unless asked otherwise (--any-length)")
    if data.synthetic:
        say(f"each epoch: {data.samples_per_epoch - data.synthetic} folder images, {data.synthetic} synthetic strings")
    if data.excluded and processes.main:
        folder.write_excluded([(e.where, e.reason) for e in data.excluded])
        say(f"excluded {len(data.excluded)} samples, each with its reason in {folder.excluded_path}")
    if init is not None:
        say(load_initial_weights(model, init, charset, backbone=config.train.init_backbone))
    return Run(config, folder, charset, model, data, init)


def _init_temperature(config: RunConfig) -> float:
    """A resumed run's starting model's temperature (1 when it started from scratch)."""
    return read_init(config.train.init).temperature if config.train.init else 1.0


def epoch_loader(batches: WidthBucketedBatches, workers: int, pin: bool = False) -> DataLoader:
    """Batches rendered by `workers` processes while the model trains. A worker renders a
    whole pool of batches before it yields any, so its queue holds a pool and more: with
    DataLoader's default of 2 the trainer sat idle while each next pool was rendered.
    `pin` puts batches in page-locked memory, so their copy to a GPU does not block."""
    if workers == 0:
        return DataLoader(batches, batch_size=None, pin_memory=pin)
    return DataLoader(batches, batch_size=None, num_workers=workers, prefetch_factor=batches.pool + 2, pin_memory=pin)


def _train_epoch(
    stepper: Stepper,
    loader: DataLoader,
    schedule: OneCycle,
    state: TrainState,
    processes: Processes,
    epoch: int,
    epochs: int,
    progress: bool,
    started: float,
) -> tuple[float, int]:
    """One pass over `loader`; ends early when the schedule (steps or time) is complete.
    Every process takes the same steps at the same learning rate: the furthest-along
    process's clock decides for all."""
    stepper.model.train()
    total, seen = 0.0, 0
    bar = tqdm(loader, desc=f"epoch {epoch}/{epochs}", disable=not progress, leave=False, unit="batch")
    for batch in bar:
        done = processes.max(schedule.progress(state.step, time.monotonic() - started))
        if done >= 1.0:
            break
        loss = stepper.step(batch, schedule.lr(done))
        state.step += 1
        total += loss * len(batch.texts)
        seen += len(batch.texts)
        bar.set_postfix(loss=f"{total / seen:.4f}")
    return total / max(seen, 1), seen


def _speaker(processes: Processes) -> Callable[[str], None]:
    """Print a line to stderr: rank 0 speaks for the run."""

    def say(message: str) -> None:
        if processes.main:
            print(message, file=sys.stderr, flush=True)

    return say


def _report(epoch: int, row: dict[str, Any], improved: bool) -> None:
    if row["val_accuracy"] is None:
        val, mark = "no validation set", ""
    else:
        val = (
            f"val loss {row['val_loss']:.4f}  val acc {100 * row['val_accuracy']:.2f}%  "
            f"val CER {100 * row['val_cer']:.3f}%"
        )
        mark = " *best*" if improved else ""
    print(
        f"epoch {epoch}: train loss {row['train_loss']:.4f}  {val}  "
        f"{row['train_images_per_s']:.0f} img/s  {row['elapsed_s'] / 60:.1f} min{mark}",
        file=sys.stderr,
        flush=True,
    )
