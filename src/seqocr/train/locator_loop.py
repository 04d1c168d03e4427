"""Training the locator (`seqocr train --preset locator`, or `--arch locator`).

The same run folder, checkpoint format, time budget, one-cycle schedule, early
stopping and `--resume` as the recognisers' loop, on other data: synthetic cells and
fields (data/cells.py), each with its true boxes, rendered afresh every epoch by a
worker process. The target is each string's box filled at the map's resolution; the
loss is cross-entropy plus Dice (models/locator.py). Validation finds the boxes of a
fixed set of held-out cells and keeps the weights with the best F1 of boxes matched at
IoU 0.5.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from seqocr.charset import DIGITS
from seqocr.checkpoint import Checkpoint, cpu_state
from seqocr.config import RunConfig
from seqocr.data.cells import Cell, CellSynth
from seqocr.errors import SeqocrError
from seqocr.evaluate.metrics import IOU_MATCH, match_boxes
from seqocr.locating import TRAIN_HEIGHT, StringLocator, working_image
from seqocr.models import build_model
from seqocr.models.locator import STRIDE, Locator
from seqocr.run_folder import RunFolder
from seqocr.train.keeping import TrainState, count_epoch, improves, plot_curves, restore
from seqocr.train.schedule import OneCycle

VALIDATION_SEED_OFFSET = 1_000_003


def train_locator(config: RunConfig, resume: bool = False, progress: bool = True, command: str = "") -> Path:
    """Train the locator per `config` into its run folder; returns the best checkpoint's path."""
    folder = RunFolder(config.train.out)
    if resume:
        config = replace(folder.read_config(), train=replace(folder.read_config().train, out=config.train.out))
    else:
        folder.refuse_existing()
    tc = config.train
    model, optimizer, schedule, state = _start(config, folder, resume)
    val_synth = CellSynth(tc.seed + VALIDATION_SEED_OFFSET, "val")
    val_cells = [val_synth.sample(i) for i in range(tc.val_samples)]
    record = Checkpoint(DIGITS, config.model, config.preprocess, weights={}, command=command)
    started = time.monotonic() - state.seconds
    for epoch in range(state.epoch + 1, tc.epochs + 1):
        model.train()
        loader = DataLoader(
            CellBatches(tc.seed, (epoch - 1) * tc.samples_per_epoch, tc.samples_per_epoch, tc.batch_size),
            batch_size=None,
            num_workers=tc.workers,
        )
        epoch_start = time.monotonic()
        losses, seen = _train_epoch(model, optimizer, loader, schedule, state, started, epoch, progress)
        if seen == 0:
            break
        state.seconds = time.monotonic() - started
        state.epoch = epoch
        val = validate(StringLocator(model.eval()), val_cells)
        best = improves(state, val.f1)
        count_epoch(state, val.f1, best, schedule.progress(state.step, state.seconds))
        row = {
            "epoch": epoch,
            "train_loss": float(np.mean(losses)),
            "val_loss": None,
            "val_accuracy": val.f1,
            "val_recall": val.recall,
            "val_precision": val.precision,
            "val_iou": val.mean_iou,
            "lr": optimizer.param_groups[0]["lr"],
            "train_images_per_s": seen / max(time.monotonic() - epoch_start, 1e-9),
            "elapsed_s": state.seconds,
        }
        folder.append_metrics(row)
        _save(folder, record, model, optimizer, state, row, best)
        print(
            f"\repoch {epoch}: loss {row['train_loss']:.4f}  recall {100 * val.recall:.2f}%  precision "
            f"{100 * val.precision:.2f}%  IoU {val.mean_iou:.3f}{'  (best)' if best else ''}",
            file=sys.stderr,
        )
        if state.stale_epochs >= tc.patience:
            print(f"early stop: no improvement for {tc.patience} epochs", file=sys.stderr)
            break
        if schedule.progress(state.step, state.seconds) >= 1.0:
            print(f"schedule complete after {state.seconds / 60:.1f} min", file=sys.stderr)
            break
    return folder.best


def _start(
    config: RunConfig, folder: RunFolder, resume: bool
) -> tuple[Locator, torch.optim.Optimizer, OneCycle, TrainState]:
    """The network, its optimizer and schedule, and the counters: fresh (the run folder
    created) or the run's `last.pt`."""
    tc = config.train
    if tc.threads > 0:
        torch.set_num_threads(tc.threads)
    torch.manual_seed(tc.seed)
    model = build_model(config.model, config.preprocess, 0)
    if not isinstance(model, Locator):
        raise SeqocrError(f"--arch {config.model.arch}: not a locator")
    optimizer = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    steps_per_epoch = -(-tc.samples_per_epoch // tc.batch_size)
    schedule = OneCycle(tc.lr, total_steps=tc.epochs * steps_per_epoch, total_seconds=60 * tc.max_minutes)
    state = TrainState()  # its best_accuracy is the best box F1
    if resume:
        state = restore(folder, model, optimizer, None)
        folder.keep_metrics_until(state.epoch)
    else:
        folder.create(config)
    return model, optimizer, schedule, state


def _train_epoch(
    model: Locator,
    optimizer: torch.optim.Optimizer,
    loader: DataLoader,
    schedule: OneCycle,
    state: TrainState,
    started: float,
    epoch: int,
    progress: bool,
) -> tuple[list[float], int]:
    """One pass over `loader` (ended early when the schedule is complete): each step's
    loss, and the cells seen."""
    losses, seen = [], 0
    for images, targets, weights in loader:
        done = schedule.progress(state.step, time.monotonic() - started)
        if done >= 1.0:
            break
        for group in optimizer.param_groups:
            group["lr"] = schedule.lr(done)
        loss = model.loss_of(images, targets, weights)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        state.step += 1
        seen += len(images)
        if progress and state.step % 20 == 0:
            print(f"\repoch {epoch} step {state.step} loss {np.mean(losses[-20:]):.4f}", end="", file=sys.stderr)
    return losses, seen


def _save(
    folder: RunFolder,
    record: Checkpoint,
    model: Locator,
    optimizer: torch.optim.Optimizer,
    state: TrainState,
    row: dict[str, Any],
    best: bool,
) -> None:
    """`best.pt` when the box F1 improved, `last.pt` (all to resume) always, and the curves."""
    metrics = {k: row[k] for k in ("epoch", "val_recall", "val_precision", "val_iou")} | {"val_f1": row["val_accuracy"]}
    if best:
        record.holding(model, metrics=metrics).save(folder.best)
    resume_state = {"optimizer": cpu_state(optimizer.state_dict()), "state": asdict(state)}
    record.holding(model, metrics=metrics, resume=resume_state).save(folder.last)
    plot_curves(folder)


class CellBatches(IterableDataset):
    """Batches of rendered cells (images, targets, weights), cells of similar shape together."""

    def __init__(self, seed: int, start: int, count: int, batch_size: int):
        self.seed, self.start, self.count, self.batch_size = seed, start, count, batch_size

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        info = get_worker_info()
        share, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        synth = CellSynth(self.seed, "train")
        pool: list[tuple[np.ndarray, np.ndarray]] = []
        for index in range(self.start + share, self.start + self.count, workers):
            pool.append(training_pair(synth.sample(index)))
            if len(pool) >= 4 * self.batch_size:
                yield from _batches(pool, self.batch_size)
                pool = []
        yield from _batches(pool, self.batch_size)


def training_pair(cell: Cell) -> tuple[np.ndarray, np.ndarray]:
    """A cell as the locator sees it (h, w) and its target map (h/2, w/2): the share of
    each map cell inside a string's box."""
    from PIL import Image

    pixels, scale = working_image(Image.fromarray(cell.image), fit=TRAIN_HEIGHT)
    mask = np.zeros(pixels.shape, np.float32)
    for box in cell.boxes:
        x0, y0, x1, y1 = box
        mask[round(y0 * scale) : round(y1 * scale), round(x0 * scale) : round(x1 * scale)] = 1.0
    h, w = pixels.shape[0], pixels.shape[1]
    target = mask.reshape(h // STRIDE, STRIDE, w // STRIDE, STRIDE).mean(axis=(1, 3))
    return pixels, target


def _batches(
    pool: list[tuple[np.ndarray, np.ndarray]], batch_size: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    pool = sorted(pool, key=lambda pair: pair[0].shape[1] / pair[0].shape[0])
    for start in range(0, len(pool), batch_size):
        part = pool[start : start + batch_size]
        h = max(p.shape[0] for p, _ in part)
        w = max(p.shape[1] for p, _ in part)
        images = torch.zeros(len(part), 1, h, w)
        targets = torch.zeros(len(part), 1, h // STRIDE, w // STRIDE)
        weights = torch.zeros_like(targets)
        for i, (pixels, target) in enumerate(part):
            images[i, 0, : pixels.shape[0], : pixels.shape[1]] = torch.from_numpy(pixels)
            level = float(np.median(pixels))
            images[i, 0, pixels.shape[0] :, :] = level
            images[i, 0, :, pixels.shape[1] :] = level
            targets[i, 0, : target.shape[0], : target.shape[1]] = torch.from_numpy(target)
            weights[i, 0, : target.shape[0], : target.shape[1]] = 1.0
        yield images, targets, weights


@dataclass(frozen=True)
class BoxValidation:
    """One epoch's boxes on the validation cells, at IoU 0.5."""

    recall: float
    precision: float
    f1: float
    mean_iou: float  # of the true boxes with the found ones


def validate(locator: StringLocator, cells: list[Cell]) -> BoxValidation:
    """Recall and precision of boxes at IoU 0.5, their F1, and the mean IoU of true boxes."""
    from PIL import Image

    truths = found = matched = 0
    ious: list[float] = []
    for cell in cells:
        image = Image.fromarray(cell.image)
        boxes = [r.box for r in locator.locate([image])[0]]
        scores = match_boxes(cell.boxes, boxes)
        ious += scores
        truths += len(cell.boxes)
        found += len(boxes)
        matched += sum(s >= IOU_MATCH for s in scores)
    recall = matched / max(truths, 1)
    precision = matched / max(found, 1)
    f1 = 2 * recall * precision / max(recall + precision, 1e-9)
    return BoxValidation(recall, precision, f1, float(np.mean(ious)) if ious else 0.0)
