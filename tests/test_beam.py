"""CTC prefix beam search: exact probabilities, and constraints applied inside the search."""

import itertools
import math

import pytest
import torch

from seqocr.charset import Charset
from seqocr.config import DecodeConfig
from seqocr.decode import decode, greedy_decode
from seqocr.decode.align import align
from seqocr.errors import SeqocrError

ABC = Charset("ab")  # blank 0, a 1, b 2


def collapse(path):
    out, previous = [], 0
    for token in path:
        if token != 0 and token != previous:
            out.append(token)
        previous = token
    return ABC.decode(out)


def brute_force(log_probs):
    """P(text) by summing every one of the C^T alignments."""
    totals = {}
    steps, classes = log_probs.shape
    for path in itertools.product(range(classes), repeat=steps):
        p = math.exp(sum(float(log_probs[t, c]) for t, c in enumerate(path)))
        text = collapse(path)
        totals[text] = totals.get(text, 0.0) + p
    return totals


def search(log_probs, **config):
    (decoded,) = decode(log_probs[None], torch.tensor([log_probs.shape[0]]), ABC, DecodeConfig(**config))
    return decoded


@pytest.fixture
def log_probs():
    torch.manual_seed(3)
    return torch.randn(5, 3).mul(2).log_softmax(-1)


def test_beam_scores_are_the_exact_probability_over_all_alignments(log_probs):
    exact = brute_force(log_probs)
    decoded = search(log_probs, beam=50, n_best=5)
    best_text = max(exact, key=exact.get)
    assert decoded.text == best_text
    for text, confidence in decoded.alternatives:
        assert confidence == pytest.approx(exact[text], rel=1e-6)


def test_alternatives_come_best_first(log_probs):
    decoded = search(log_probs, beam=20, n_best=4)
    confidences = [c for _, c in decoded.alternatives]
    assert len(confidences) == 4 and confidences == sorted(confidences, reverse=True)
    assert sum(confidences) <= 1.0 + 1e-9


def test_constraints_pick_the_most_probable_text_that_satisfies_them(log_probs):
    exact = brute_force(log_probs)
    for config, ok in [
        ({"min_length": 3, "max_length": 3}, lambda t: len(t) == 3),
        ({"allowed": "a"}, lambda t: set(t) <= {"a"}),
        ({"pattern": "b+a?"}, lambda t: bool(__import__("re").fullmatch("b+a?", t))),
        ({"min_length": 2}, lambda t: len(t) >= 2),
    ]:
        wanted = max((t for t in exact if ok(t)), key=exact.get)
        decoded = search(log_probs, beam=50, **config)
        assert decoded.text == wanted, config
        assert decoded.confidence == pytest.approx(exact[wanted], rel=1e-6)


def test_a_repeated_character_needs_a_blank_between():
    # frames say a, a, a: only "a" (never "aa") can be read
    log_probs = torch.tensor([[-9.0, 0.0, -9.0]] * 3).log_softmax(-1)
    assert search(log_probs, beam=5).text == "a"
    assert search(log_probs, beam=5, min_length=2, allowed="a").text == "aa"  # forced: costs a blank frame


def test_unsatisfiable_constraints_give_an_empty_answer_with_zero_confidence():
    log_probs = torch.zeros(2, 3).log_softmax(-1)
    decoded = search(log_probs, min_length=3)  # 2 frames cannot hold 3 characters
    assert (decoded.text, decoded.confidence) == ("", 0.0)


def test_greedy_and_beam_agree_on_a_confident_model():
    path = [0, 1, 1, 0, 2, 0, 1]
    log_probs = torch.full((7, 3), -12.0)
    log_probs[torch.arange(7), torch.tensor(path)] = 0.0
    log_probs = log_probs.log_softmax(-1)
    greedy = greedy_decode(log_probs[None], torch.tensor([7]), ABC)[0]
    beam = search(log_probs, beam=8)
    assert beam.text == greedy.text == "aba"
    assert beam.char_frames == greedy.char_frames


def test_bad_constraints_are_one_line_errors():
    log_probs = torch.zeros(3, 3).log_softmax(-1)
    with pytest.raises(SeqocrError, match="not a valid regular expression"):
        search(log_probs, pattern="[ab")
    with pytest.raises(SeqocrError, match="cannot read: 'z'"):
        search(log_probs, allowed="az")
    with pytest.raises(SeqocrError, match="length range is empty"):
        search(log_probs, min_length=3, max_length=2)


def test_alignment_gives_each_character_its_frames():
    path = [0, 1, 1, 0, 1, 2, 2]
    log_probs = torch.full((7, 3), -12.0)
    log_probs[torch.arange(7), torch.tensor(path)] = 0.0
    assert align(log_probs.log_softmax(-1), "aab", ABC) == [[1, 2], [4], [5, 6]]
