import itertools
import math

import torch

from seqocr.charset import DIGITS
from seqocr.decode import greedy_decode

B = DIGITS.blank


def one_hot_logits(path: list[int], confidence: float = 0.9) -> torch.Tensor:
    """Logits (1, T, C) whose softmax puts `confidence` on each path token."""
    c = DIGITS.num_classes
    rest = (1 - confidence) / (c - 1)
    probs = torch.full((1, len(path), c), rest)
    for t, token in enumerate(path):
        probs[0, t, token] = confidence
    return probs.log()


def test_repeats_collapse_and_blanks_separate_them():
    # "1" "1" blank "1" "2" "2" -> "112"
    path = [2, 2, B, 2, 3, 3]
    (decoded,) = greedy_decode(one_hot_logits(path), torch.tensor([len(path)]), DIGITS)
    assert decoded.text == "112"
    assert decoded.char_frames == (0, 3, 4)


def collapse(path):
    ids = [token for i, token in enumerate(path) if token != B and (i == 0 or token != path[i - 1])]
    return DIGITS.decode(ids)


def test_confidence_is_the_texts_probability_over_all_its_alignments():
    path = [B, 5, B, 6]
    logits = one_hot_logits(path, 0.9)
    (decoded,) = greedy_decode(logits, torch.tensor([4]), DIGITS)
    assert decoded.text == "45"
    probs = logits[0].exp()
    every_alignment = sum(
        math.prod(float(probs[t, c]) for t, c in enumerate(p))
        for p in itertools.product(range(DIGITS.num_classes), repeat=4)
        if collapse(p) == "45"
    )
    assert every_alignment > 0.9**4  # the best path is one of several alignments
    assert math.isclose(decoded.confidence, every_alignment, rel_tol=1e-5)
    assert all(math.isclose(c, 0.9, rel_tol=1e-5) for c in decoded.char_confidences)


def test_frames_beyond_the_real_length_are_ignored():
    path = [3, B, 3, 7, 7]  # frames 3-4 are padding
    (decoded,) = greedy_decode(one_hot_logits(path), torch.tensor([3]), DIGITS)
    assert decoded.text == "22"


def test_all_blank_reads_as_empty_string():
    (decoded,) = greedy_decode(one_hot_logits([B, B, B]), torch.tensor([3]), DIGITS)
    assert decoded.text == ""
    assert decoded.char_confidences == ()
