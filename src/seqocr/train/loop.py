"""The training loop: any model family's loss, validation every epoch, early stopping.

Each epoch draws fresh samples: new synthetic strings, or the folder's images changed
anew by augmentation (train/data.py). Validation uses a fixed set: strings of held-out
MNIST training digits, or the folder's held-out images.
"""

from __future__ import annotations

import errno
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, cast

import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel
from torch.utils.data import DataLoader
from tqdm import tqdm

from seqocr import __version__
from seqocr.charset import Charset
from seqocr.config import RunConfig, to_dict
from seqocr.data.checks import charset_warnings
from seqocr.data.datasets import Batch, EncodedDataset, WidthBucketedBatches, collate
from seqocr.data.folder import SMALL_SET, split_folder
from seqocr.errors import SeqocrError
from seqocr.evaluate.calibration import MIN_CALIBRATION_IMAGES, calibrate
from seqocr.evaluate.metrics import summarize
from seqocr.models import RecognitionModel, build_model, channels_last
from seqocr.train.checkpoint import CheckpointWriteError, load_checkpoint, save_checkpoint
from seqocr.train.data import TrainingData, resolve_charset
from seqocr.train.init import load_initial_weights, read_init, with_init_geometry
from seqocr.train.run_folder import RunFolder
from seqocr.train.schedule import OneCycle

# Early stopping counts stale epochs only in the second half of the one-cycle schedule:
# before that the learning rate is high and validation plateaus are expected.
EARLY_STOP_AFTER = 0.5
WRITE_FAILURES = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)  # the run folder cannot grow


@dataclass
class TrainState:
    """What resuming needs besides weights and optimizer: saved in `last.pt`."""

    epoch: int = 0
    step: int = 0
    best_accuracy: float = -1.0
    stale_epochs: int = 0
    seconds: float = 0.0


def train(config: RunConfig, resume: bool = False, progress: bool = True, command: str = "") -> Path:
    """Train per `config` into its run folder; returns the best checkpoint's path."""
    threads = torch.get_num_threads()  # the caller's setting comes back afterwards
    try:
        return _train(config, resume, progress, command)
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


def _train(config: RunConfig, resume: bool, progress: bool, command: str) -> Path:
    folder = RunFolder(config.train.out)
    if resume:  # the run's own config wins; only its folder may have moved
        saved = folder.read_config()
        config = replace(saved, train=replace(saved.train, out=config.train.out))
    else:
        folder.refuse_existing()
    init = read_init(config.train.init) if config.train.init and not resume else None
    if init is not None:
        config = with_init_geometry(config, init)
    split = split_folder(config.data, config.train.seed) if config.data.path else None
    charset = resolve_charset(config, split)
    if split is not None and not config.charset and not resume:
        labels = [text for _, text in split.train + split.val]
        print(f"charset {charset.chars!r}: inferred from {len(labels)} labels", file=sys.stderr)
        for warning in charset_warnings(labels):
            print(f"warning: {warning}", file=sys.stderr)
    config = replace(config, charset=charset.chars)  # config.json records the charset used
    tc = config.train
    if tc.threads > 0:
        torch.set_num_threads(tc.threads)
    torch.manual_seed(tc.seed)
    model = channels_last(build_model(config.model, config.preprocess, charset.num_classes))
    data = TrainingData(config, charset, model, split)  # data problems fail before a run folder exists
    if not resume:
        folder.create(config)
    if split is not None and not split.val and config.data.val_split is None:
        print(
            f"all {len(split.train)} images train: a set under {SMALL_SET} holds none out for validation "
            "(--val-split to hold some out); the last weights are kept",
            file=sys.stderr,
        )
    if data.synthetic:
        print(
            f"each epoch: {data.samples_per_epoch - data.synthetic} folder images, {data.synthetic} synthetic strings",
            file=sys.stderr,
        )
    if data.excluded:
        folder.write_excluded([(e.where, e.reason) for e in data.excluded])
        print(f"excluded {len(data.excluded)} samples, each with its reason in {folder.excluded_path}", file=sys.stderr)
    if init is not None:
        print(load_initial_weights(model, init, charset), file=sys.stderr)
    optimizer = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    steps_per_epoch = -(-data.samples_per_epoch // tc.batch_size)
    schedule = OneCycle(tc.lr, total_steps=tc.epochs * steps_per_epoch, total_seconds=60 * tc.max_minutes)
    averaged = averaged_weights(model, tc.ema)
    state = TrainState()
    if resume:
        state = _restore(folder, model, optimizer, averaged)
        folder.keep_metrics_until(state.epoch)
    kept = kept_weights(model, averaged)  # what is validated and saved

    val_set = (
        _prerender(EncodedDataset(data.validation, config.preprocess, charset), tc.batch_size)
        if data.validation is not None
        else []
    )
    meta = {
        "charset": charset.chars,
        "model": to_dict(config.model),
        "preprocess": to_dict(config.preprocess),
        "seqocr": __version__,
        "command": command,
    }
    started = time.monotonic() - state.seconds
    for epoch in range(state.epoch + 1, tc.epochs + 1):
        batches = WidthBucketedBatches(
            EncodedDataset(data.epoch_source(epoch), config.preprocess, charset), tc.batch_size, tc.seed + epoch
        )
        loader = epoch_loader(batches, tc.workers)
        epoch_start = time.monotonic()
        train_loss, seen = _train_epoch(
            model, averaged, loader, optimizer, schedule, state, charset, epoch, tc.epochs, progress, started
        )
        train_seconds = time.monotonic() - epoch_start
        if seen == 0:  # the budget ran out between epochs: nothing new to validate
            print(f"schedule complete after {state.seconds / 60:.1f} min", file=sys.stderr)
            break
        val = validate(kept, val_set, charset) if val_set else None
        state.seconds = time.monotonic() - started
        state.epoch = epoch
        done = schedule.progress(state.step, state.seconds)
        # with no validation set, the latest weights are the best there is evidence for
        improved = val is None or val["accuracy"] > state.best_accuracy
        if val is not None and improved:
            state.best_accuracy, state.stale_epochs = val["accuracy"], 0
        elif val is not None and done >= EARLY_STOP_AFTER:
            state.stale_epochs += 1
        row = {
            "epoch": epoch,
            "train_loss": train_loss,
            "val_loss": val["loss"] if val else None,
            "val_accuracy": val["accuracy"] if val else None,
            "val_cer": val["cer"] if val else None,
            "lr": optimizer.param_groups[0]["lr"],
            "train_images_per_s": seen / max(train_seconds, 1e-9),
            "elapsed_s": state.seconds,
        }
        folder.append_metrics(row)
        _save(folder, meta, row, model, averaged, optimizer, state, improved)
        _report(epoch, row, improved)
        if state.stale_epochs >= tc.patience:
            print(f"early stop: no improvement for {tc.patience} epochs", file=sys.stderr)
            break
        if done >= 1.0:
            print(f"schedule complete after {state.seconds / 60:.1f} min", file=sys.stderr)
            break
    if folder.best.is_file():
        _calibrate_best(folder, config, charset, val_set)
    return folder.best


def averaged_weights(model: RecognitionModel, decay: float) -> AveragedModel | None:
    """An exponential moving average of the weights (and BatchNorm statistics), updated
    every step; None when `decay` is 0. The average of the last ~1/(1 - decay) steps is
    smoother than any one step's weights: it is what gets validated and kept."""
    if decay == 0:
        return None

    def update(averaged: Sequence[Tensor], current: Sequence[Tensor], count: Tensor | int) -> None:
        # early on, the average forgets faster: its first steps' random weights would
        # otherwise weigh on it for thousands of steps
        rate = min(decay, (1 + int(count)) / (10 + int(count)))
        for mean, value in zip(averaged, current, strict=True):
            if mean.is_floating_point():
                mean.lerp_(value, 1 - rate)
            else:  # BatchNorm's batch counter follows the model
                mean.copy_(value)

    return AveragedModel(model, multi_avg_fn=update, use_buffers=True)


def kept_weights(model: RecognitionModel, averaged: AveragedModel | None) -> RecognitionModel:
    """The weights a run validates and keeps: their average when there is one."""
    return model if averaged is None else cast(RecognitionModel, averaged.module)


def epoch_loader(batches: WidthBucketedBatches, workers: int) -> DataLoader:
    """Batches rendered by `workers` processes while the model trains. A worker renders a
    whole pool of batches before it yields any, so its queue holds a pool and more: with
    DataLoader's default of 2 the trainer sat idle while each next pool was rendered
    (120 instead of 150 images/s with one thread and one worker)."""
    if workers == 0:
        return DataLoader(batches, batch_size=None)
    return DataLoader(batches, batch_size=None, num_workers=workers, prefetch_factor=batches.pool + 2)


def _calibrate_best(folder: RunFolder, config: RunConfig, charset: Charset, val_set: list[Batch]) -> None:
    """Fit the confidence temperature of the best weights on the validation set; saved with
    them. A validation set too small to trust keeps the starting model's temperature."""
    data = load_checkpoint(folder.best)
    images = sum(len(b.texts) for b in val_set)
    if images < MIN_CALIBRATION_IMAGES:
        temperature = float(read_init(config.train.init).get("temperature", 1.0)) if config.train.init else 1.0
        save_checkpoint(folder.best, {**data, "temperature": temperature})
        source = f"the starting model's temperature {temperature:.3f}" if config.train.init else "temperature 1"
        why = f"{images} validation images are too few to fit a temperature" if images else "no validation set"
        print(
            f"confidence not calibrated: {why} (at least {MIN_CALIBRATION_IMAGES} needed); kept {source}",
            file=sys.stderr,
        )
        return
    model = build_model(config.model, config.preprocess, charset.num_classes)
    model.load_state_dict(data["state_dict"])
    model.eval()
    result = calibrate(model, ((b.images, b.widths, b.texts) for b in val_set), charset)
    save_checkpoint(folder.best, {**data, "temperature": result.temperature, "calibration": result.as_dict()})
    print(
        f"calibrated confidence on {result.images} validation images: temperature {result.temperature:.3f}, "
        f"ECE {100 * result.ece_before:.2f}% -> {100 * result.ece_after:.2f}%",
        file=sys.stderr,
    )


def _save(
    folder: RunFolder,
    meta: dict[str, Any],
    row: dict[str, Any],
    model: RecognitionModel,
    averaged: AveragedModel | None,
    optimizer: torch.optim.Optimizer,
    state: TrainState,
    improved: bool,
) -> None:
    """`best.pt` (weights only: the average when there is one) when validation improved;
    `last.pt` (all to resume: the trained weights, their average, the optimizer) always."""
    metrics = {k: row[k] for k in ("epoch", "val_accuracy", "val_cer", "elapsed_s")}
    kept = kept_weights(model, averaged)
    weights = {**meta, "state_dict": kept.state_dict(), "metrics": metrics}
    if improved:
        save_checkpoint(folder.best, weights)
    resumable = {"state_dict": model.state_dict(), "optimizer": optimizer.state_dict(), "state": asdict(state)}
    if averaged is not None:
        resumable["averaged"] = averaged.state_dict()
    save_checkpoint(folder.last, {**weights, **resumable})
    folder.plot()


def _train_epoch(
    model: RecognitionModel,
    averaged: AveragedModel | None,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    schedule: OneCycle,
    state: TrainState,
    charset: Charset,
    epoch: int,
    epochs: int,
    progress: bool,
    started: float,
) -> tuple[float, int]:
    """One pass over `loader`; ends early when the schedule (steps or time) is complete."""
    model.train()
    total, seen = 0.0, 0
    bar = tqdm(loader, desc=f"epoch {epoch}/{epochs}", disable=not progress, leave=False, unit="batch")
    for batch in bar:
        done = schedule.progress(state.step, time.monotonic() - started)
        if done >= 1.0:
            break
        for group in optimizer.param_groups:
            group["lr"] = schedule.lr(done)
        loss = model.loss(batch, charset)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        if averaged is not None:
            averaged.update_parameters(model)
        state.step += 1
        total += loss.item() * len(batch.texts)
        seen += len(batch.texts)
        bar.set_postfix(loss=f"{total / seen:.4f}")
    return total / max(seen, 1), seen


def _prerender(dataset: EncodedDataset, batch_size: int) -> list[Batch]:
    """Render a fixed set once, sorted by width so padding is small."""
    samples = sorted((dataset[i] for i in range(len(dataset))), key=lambda s: s[0].shape[-1])
    return [collate(samples[i : i + batch_size]) for i in range(0, len(samples), batch_size)]


@torch.inference_mode()
def validate(model: RecognitionModel, batches: list[Batch], charset: Charset) -> dict[str, float]:
    model.eval()
    truths, predictions, loss = [], [], 0.0
    for batch in batches:
        batch_loss, texts = model.validation_step(batch, charset)
        loss += batch_loss * len(batch.texts)
        truths += batch.texts
        predictions += texts
    summary = summarize(truths, predictions)
    return {"loss": loss / len(truths), "accuracy": summary["accuracy"], "cer": summary["cer"]}


def _restore(folder: RunFolder, model: RecognitionModel, optimizer: Any, averaged: AveragedModel | None) -> TrainState:
    data = load_checkpoint(folder.last)
    model.load_state_dict(data["state_dict"])
    optimizer.load_state_dict(data["optimizer"])
    if averaged is not None:
        averaged.load_state_dict(data["averaged"])
    return TrainState(**data["state"])


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
