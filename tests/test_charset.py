import pytest

from seqocr.charset import DIGITS, Charset
from seqocr.errors import SeqocrError


def test_blank_is_never_a_character():
    assert DIGITS.blank == 0
    assert DIGITS.encode("0123456789") == list(range(1, 11))
    assert DIGITS.num_classes == 11


def test_encode_decode_round_trip():
    assert DIGITS.decode(DIGITS.encode("90210")) == "90210"


def test_decode_drops_blanks():
    assert DIGITS.decode([DIGITS.blank, 2, DIGITS.blank, 3]) == "12"


def test_unknown_characters_are_named():
    with pytest.raises(SeqocrError, match="'x'"):
        DIGITS.encode("12x")


def test_repeated_characters_are_refused():
    with pytest.raises(SeqocrError, match="repeated"):
        Charset("0120")


def test_from_labels_is_sorted_and_unique():
    assert Charset.from_labels(["b2a", "a1"]).chars == "12ab"
