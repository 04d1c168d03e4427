"""The most likely CTC alignment of a known text: which frames emitted which character.

Beam search scores a text over all its alignments; to say how sure the model is of each
character, and where it read it, we take the single best alignment (Viterbi).
"""

from __future__ import annotations

import numpy as np
from torch import Tensor

from seqocr.charset import Charset


def align(log_probs: Tensor, text: str, charset: Charset) -> list[list[int]]:
    """log_probs (T, C), a text CTC can emit in T steps -> for each character, its frames."""
    if not text:
        return []
    ids = charset.encode(text)
    lp = log_probs.double().numpy()
    states = [charset.blank]
    for i in ids:
        states += [i, charset.blank]
    states_arr = np.array(states)
    n, steps = len(states), lp.shape[0]
    # a character state may skip the blank before it unless it repeats the previous character
    can_skip = np.zeros(n, dtype=bool)
    for s in range(3, n, 2):
        can_skip[s] = states[s] != states[s - 2]
    score = np.full(n, -np.inf)
    score[0], score[1] = lp[0, states[0]], lp[0, states[1]]
    back = np.zeros((steps, n), dtype=np.int64)
    for t in range(1, steps):
        stay = score
        step = np.concatenate([[-np.inf], score[:-1]])
        skip = np.where(can_skip, np.concatenate([[-np.inf, -np.inf], score[:-2]]), -np.inf)
        options = np.stack([stay, step, skip])  # (3, n)
        choice = options.argmax(axis=0)
        back[t] = np.arange(n) - choice
        score = options[choice, np.arange(n)] + lp[t, states_arr]
    state = n - 1 if n == 1 or score[n - 1] >= score[n - 2] else n - 2
    frames: list[list[int]] = [[] for _ in ids]
    for t in range(steps - 1, -1, -1):
        if state % 2 == 1:
            frames[state // 2].insert(0, t)
        state = int(back[t, state]) if t > 0 else state
    return frames
