"""What a run keeps: the best and last checkpoints, when to stop early, and the best
weights' calibrated temperature."""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from typing import Any

from torch.optim import Optimizer
from torch.optim.swa_utils import AveragedModel

from seqocr.charset import Charset
from seqocr.checkpoint import Checkpoint, cpu_state
from seqocr.config import RunConfig
from seqocr.evaluate.calibration import MIN_CALIBRATION_IMAGES, calibrate
from seqocr.evaluate.curves import curves_png
from seqocr.models import RecognitionModel
from seqocr.run_folder import RunFolder
from seqocr.train.averaging import kept_weights
from seqocr.train.validation import ValidationSet

# Early stopping counts stale epochs only in the second half of the one-cycle schedule:
# before that the learning rate is high and validation plateaus are expected.
EARLY_STOP_AFTER = 0.5


@dataclass
class TrainState:
    """What resuming needs besides weights and optimizer: saved in `last.pt`."""

    epoch: int = 0
    step: int = 0
    best_accuracy: float = -1.0
    stale_epochs: int = 0
    seconds: float = 0.0


def improves(state: TrainState, accuracy: float | None) -> bool:
    """Whether an epoch's validation accuracy beats the best so far. With no validation
    set (None), the latest weights are the best there is evidence for."""
    return accuracy is None or accuracy > state.best_accuracy


def count_epoch(state: TrainState, accuracy: float | None, improved: bool, done: float) -> None:
    """Count an epoch in `state`: its accuracy as the best when it `improved`, else one
    more stale epoch once `done` (the schedule's progress) is past EARLY_STOP_AFTER."""
    if improved and accuracy is not None:
        state.best_accuracy, state.stale_epochs = accuracy, 0
    elif not improved and done >= EARLY_STOP_AFTER:
        state.stale_epochs += 1


def save_epoch(
    folder: RunFolder,
    record: Checkpoint,
    row: dict[str, Any],
    model: RecognitionModel,
    averaged: AveragedModel | None,
    optimizer: Optimizer,
    state: TrainState,
    best: bool,
) -> None:
    """`best.pt` (weights only: the average when there is one) when validation improved;
    `last.pt` (all to resume: the trained weights, their average, the optimizer) always."""
    metrics = {k: row[k] for k in ("epoch", "val_accuracy", "val_cer", "elapsed_s")}
    if best:
        record.holding(kept_weights(model, averaged), metrics=metrics).save(folder.best)
    resume = {"optimizer": cpu_state(optimizer.state_dict()), "state": asdict(state)}
    if averaged is not None:
        resume["averaged"] = cpu_state(averaged.state_dict())
    record.holding(model, metrics=metrics, resume=resume).save(folder.last)
    plot_curves(folder)


def plot_curves(folder: RunFolder) -> None:
    """The run's curves.png, drawn anew from its metrics after each epoch."""
    rows = folder.read_metrics()
    if rows:
        folder.write_plot(curves_png(rows))


def restore(
    folder: RunFolder, model: RecognitionModel, optimizer: Optimizer, averaged: AveragedModel | None
) -> TrainState:
    """Weights, optimizer, average and counters of the run's `last.pt`."""
    last = Checkpoint.load(folder.last)
    model.load_state_dict(last.weights)
    optimizer.load_state_dict(last.resume["optimizer"])
    if averaged is not None:
        averaged.load_state_dict(last.resume["averaged"])
    return TrainState(**last.resume["state"])


def calibrate_best(
    folder: RunFolder, config: RunConfig, charset: Charset, val_set: ValidationSet, start_temperature: float
) -> None:
    """Fit the confidence temperature of the best weights on the validation set; saved with
    them. A validation set too small to trust keeps the starting model's temperature."""
    best = Checkpoint.load(folder.best)
    if val_set.images < MIN_CALIBRATION_IMAGES:
        best.calibrated(start_temperature).save(folder.best)
        source = f"the starting model's temperature {start_temperature:.3f}" if config.train.init else "temperature 1"
        images = val_set.images
        why = f"{images} validation images are too few to fit a temperature" if images else "no validation set"
        print(
            f"confidence not calibrated: {why} (at least {MIN_CALIBRATION_IMAGES} needed); kept {source}",
            file=sys.stderr,
        )
        return
    result = calibrate(best.build_model(), ((b.images, b.widths, b.texts) for b in val_set.batches), charset)
    best.calibrated(result.temperature, result.as_dict()).save(folder.best)
    print(
        f"calibrated confidence on {result.images} validation images: temperature {result.temperature:.3f}, "
        f"ECE {100 * result.ece_before:.2f}% -> {100 * result.ece_after:.2f}%",
        file=sys.stderr,
    )
