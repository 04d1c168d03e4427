"""One-cycle learning rate that follows steps or wall-clock time, whichever is further along.

With a time budget (`--max-minutes`), a run on a slower machine still warms up, peaks and
anneals completely inside its budget, instead of being cut off at a high learning rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class OneCycle:
    peak_lr: float
    total_steps: int
    total_seconds: float = 0.0  # 0: no time budget
    warmup: float = 0.15
    start_div: float = 25.0
    final_div: float = 1e4

    def progress(self, step: int, seconds: float) -> float:
        """Fraction of the run done, in [0, 1]."""
        by_steps = step / max(self.total_steps, 1)
        by_time = seconds / self.total_seconds if self.total_seconds > 0 else 0.0
        return min(1.0, max(by_steps, by_time))

    def lr(self, progress: float) -> float:
        low, high, final = self.peak_lr / self.start_div, self.peak_lr, self.peak_lr / self.final_div
        if progress < self.warmup:
            return _cosine(low, high, progress / self.warmup)
        return _cosine(high, final, (progress - self.warmup) / (1 - self.warmup))


def _cosine(start: float, end: float, fraction: float) -> float:
    return end + (start - end) * (1 + math.cos(math.pi * min(max(fraction, 0.0), 1.0))) / 2
