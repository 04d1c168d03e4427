import pytest

from seqocr.evaluate.metrics import character_error_rate, edit_distance, sequence_accuracy, summarize, wilson_interval


@pytest.mark.parametrize(
    "a, b, distance",
    [
        ("", "", 0),
        ("123", "123", 0),
        ("123", "", 3),
        ("", "12", 2),
        ("123", "124", 1),
        ("123", "13", 1),
        ("13", "123", 1),
        ("kitten", "sitting", 3),
        ("1111", "111", 1),
    ],
)
def test_edit_distance(a, b, distance):
    assert edit_distance(a, b) == distance


def test_sequence_accuracy_counts_exact_matches():
    assert sequence_accuracy(["12", "34", "56", "78"], ["12", "34", "5", "87"]) == 0.5


def test_cer_is_total_edits_over_total_truth_length():
    # edits: 0 + 1 + 2 = 3 over 2 + 3 + 5 = 10 characters
    assert character_error_rate(["12", "345", "67890"], ["12", "34", "67809"]) == pytest.approx(0.3)


def test_summary_by_length():
    summary = summarize(["1", "2", "34", "56"], ["1", "3", "34", "5"])
    assert summary["accuracy"] == 0.5
    assert summary["by_length"][1] == {"count": 2, "accuracy": 0.5, "cer": 0.5}
    assert summary["by_length"][2] == {"count": 2, "accuracy": 0.5, "cer": 0.25}


def test_wilson_interval_matches_hand_computed_values():
    # 95 of 100: centre 0.969208 / 1.038416 = 0.93335, half-width 0.04510 (z = 1.96)
    low, high = wilson_interval(95, 100)
    assert low == pytest.approx(0.8882, abs=1e-4) and high == pytest.approx(0.9785, abs=1e-4)
    assert wilson_interval(10, 10)[1] == 1.0 and wilson_interval(10, 10)[0] == pytest.approx(0.7225, abs=1e-4)
