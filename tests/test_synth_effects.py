"""Synthesis beyond the default style: touching digits, marks, paper, pen, capture; the test suites."""

import ast
import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from seqocr.config import SynthConfig
from seqocr.data import writers_suite as writers_module
from seqocr.data.conventions import CONVENTIONS as CONVENTION_OF
from seqocr.data.effects import CONVENTIONS, EFFECTS, probabilities
from seqocr.data.suites import TEST_SEED, suite
from seqocr.data.synth import DigitStringSynth
from seqocr.data.usps import load_usps
from seqocr.data.writers_suite import writers_suite
from seqocr.errors import SeqocrError
from seqocr.evaluate.analysis import error_kinds

pytestmark = pytest.mark.heavy

NO_EFFECTS = tuple((name, 0.0) for name in EFFECTS)


def only(**chosen: float) -> tuple[tuple[str, float], ...]:
    return tuple((name, chosen.get(name, 0.0)) for name in EFFECTS)


def digest(synth: DigitStringSynth, count: int) -> str:
    h = hashlib.sha256()
    for i in range(count):
        image, text = synth.sample(i)
        h.update(image.tobytes())
        h.update(text.encode())
    return h.hexdigest()


def test_the_older_styles_render_exactly_as_before_so_their_benchmarks_stay_comparable(test_digits):
    # digests of the first 50 test-suite strings, taken before the effects existed
    expected = {
        "default": "477c65be19910093a9c49e5e3ab1a15cb064142006ae6cafb3e585319b689a0d",
        "notebook": "d682a2f80ea6c43508ec3c64ca6be4e667681d546647d44f05ce275347363e46",
        # and before the writers' conventions existed
        "touching": "a0ae9c967ffcf011ae31eb48574322f7dcae76e9cdbf5114d6af56b350679ad7",
        "document": "6423d819fe52c47f668a317e23be619971dae190be127ad5d0ff76378212ca77",
    }
    for style, value in expected.items():
        synth = DigitStringSynth(SynthConfig(split="test", seed=TEST_SEED, style=style), digits=test_digits)
        assert digest(synth, 50) == value, style


@pytest.mark.parametrize("style", ["touching", "document", "mixed"])
def test_every_new_style_is_a_pure_function_of_seed_and_index(style, test_digits):
    a = DigitStringSynth(SynthConfig(split="test", seed=5, style=style), digits=test_digits)
    b = DigitStringSynth(SynthConfig(split="test", seed=5, style=style), digits=test_digits)
    for index in (0, 9, 4_321):
        b.sample(index + 3)  # what was drawn before must not matter
        image_a, text_a = a.sample(index)
        image_b, text_b = b.sample(index)
        assert text_a == text_b
        np.testing.assert_array_equal(image_a, image_b)


def test_tight_spacing_packs_the_digits_into_less_width(test_digits):
    def width_per_digit(effects):
        synth = DigitStringSynth(
            SynthConfig(split="test", min_len=6, max_len=6, style="touching", effects=effects), digits=test_digits
        )
        # capture may rescale: compare width to height, which both effects leave alike
        return np.mean([image.shape[1] / image.shape[0] for image, _ in synth.samples(60)])

    assert width_per_digit(only(tight=1.0)) < 0.8 * width_per_digit(NO_EFFECTS)


def test_touching_strings_are_dark_ink_on_light_paper(test_digits):
    synth = DigitStringSynth(SynthConfig(split="test", style="touching"), digits=test_digits)
    for image, _ in synth.samples(20):
        assert np.median(image) > 150


def test_marks_are_drawn_but_left_out_of_the_label_unless_the_charset_holds_them(test_digits):
    drawn = DigitStringSynth(
        SynthConfig(split="test", style="touching", effects=only(dash=1.0, separators=1.0)), digits=test_digits
    )
    plain = DigitStringSynth(SynthConfig(split="test", style="touching", effects=NO_EFFECTS), digits=test_digits)
    for i in range(20):
        (marked, text), (bare, bare_text) = drawn.sample(i), plain.sample(i)
        assert text == bare_text and text.isdigit()
        assert marked.shape != bare.shape or not np.array_equal(marked, bare)  # the marks are drawn
    dates = DigitStringSynth(
        SynthConfig(split="test", style="touching", effects=only(dash=1.0), marks="/"), digits=test_digits
    )
    labels = [dates.sample(i)[1] for i in range(60)]
    assert all(set(label) <= set("0123456789/") for label in labels)
    assert sum("/" in label for label in labels) > 5  # "/-" is one of five endings


@pytest.mark.parametrize("effect", [e for e in EFFECTS if e != "usps" and e not in CONVENTIONS])
def test_each_effect_alone_changes_the_picture_and_keeps_the_text(effect, test_digits):
    base = DigitStringSynth(SynthConfig(split="test", seed=1, style="touching", effects=NO_EFFECTS), digits=test_digits)
    changed = DigitStringSynth(
        SynthConfig(split="test", seed=1, style="touching", effects=only(**{effect: 1.0})), digits=test_digits
    )
    differs = 0
    for i in range(4):
        (a, text_a), (b, text_b) = base.sample(i), changed.sample(i)
        assert text_a == text_b
        assert b.dtype == np.uint8 and b.ndim == 2 and min(b.shape) >= 8
        differs += a.shape != b.shape or not np.array_equal(a, b)
    assert differs >= 3


@pytest.mark.parametrize("digit", sorted(CONVENTION_OF))
def test_a_writers_convention_redraws_its_own_digit_and_leaves_other_strings_alone(digit, test_digits):
    def synth(p):
        config = SynthConfig(split="test", seed=3, style="touching", effects=only(**{CONVENTION_OF[digit][0]: p}))
        return DigitStringSynth(config, digits=test_digits)

    plain, written = synth(0.0), synth(1.0)
    changed = kept = 0
    for i in range(40):
        (a, text), (b, same_text) = plain.sample(i), written.sample(i)
        assert text == same_text
        differs = a.shape != b.shape or not np.array_equal(a, b)
        if digit in text:
            changed += differs
        else:
            kept += not differs
            assert not differs  # no random draw where the digit is absent: the string is as it was
    assert changed >= 5 and kept >= 5


def test_the_writers_suite_is_drawn_apart_from_training_and_is_mostly_conventions(test_digits):
    first = writers_suite(test_digits, 60)
    again = writers_suite(test_digits, 60)
    for (a, text), (b, same) in zip(first, again, strict=True):
        assert text == same and np.array_equal(a, b)
        assert text.isdigit() and 4 <= len(text) <= 8 and np.median(a) > 150  # dark ink on light paper
    digits = "".join(text for _, text in first)
    assert sum(digits.count(d) for d in "01479") > 0.6 * len(digits)
    tree = ast.parse(Path(writers_module.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"__future__", "seqocr.data.mnist"}  # MNIST's test digits and nothing of the generator


def test_unknown_effects_and_probabilities_outside_0_1_are_refused(test_digits):
    with pytest.raises(SeqocrError, match="unknown synthesis effect 'smudge'"):
        DigitStringSynth(SynthConfig(split="test", style="mixed", effects=(("smudge", 0.5),)), digits=test_digits)
    with pytest.raises(SeqocrError, match=r"outside \[0, 1\]"):
        probabilities("mixed", (("tight", -0.1),))


def test_usps_digits_come_in_for_training_strings_only(test_digits):
    usps = load_usps("train")
    assert usps.images.shape == (7291, 16, 16) and set(usps.labels.tolist()) == set(range(10))
    assert usps.images[:, 0, 0].mean() < 60  # light ink on black, like MNIST
    train = DigitStringSynth(SynthConfig(split="train", style="touching", effects=only(usps=1.0)), digits=test_digits)
    val = DigitStringSynth(SynthConfig(split="val", style="touching", effects=only(usps=1.0)), digits=test_digits)
    plain = DigitStringSynth(SynthConfig(split="train", style="touching", effects=NO_EFFECTS), digits=test_digits)
    assert val.usps is None and train.usps is not None
    assert not np.array_equal(train.sample(0)[0], plain.sample(0)[0])
    assert train.sample(0)[1] == plain.sample(0)[1]


def test_the_touching_suite_overlaps_whole_mnist_cells(test_digits):
    strings = suite("touching_1_10", test_digits, 200)
    again = suite("touching_1_10", test_digits, 200)
    assert all(np.array_equal(a[0], b[0]) and a[1] == b[1] for a, b in zip(strings, again, strict=True))
    for image, text in strings:
        assert image.shape[0] == 32
        if len(text) > 1:  # cells overlap by more than their margins
            assert image.shape[1] <= 28 * len(text) - 7 * (len(text) - 1)
        assert np.median(image) > 150
    with pytest.raises(SeqocrError, match="unknown test suite"):
        suite("cursive", test_digits, 1)


def test_error_kinds_count_deletions_insertions_and_substitutions():
    assert error_kinds(["1234", "55", "9"], ["124", "555", "8"]) == {
        "deletions": 1,
        "insertions": 1,
        "substitutions": 1,
    }
    assert error_kinds(["12"], ["12"]) == {"deletions": 0, "insertions": 0, "substitutions": 0}


def test_the_gallery_draws_every_style_and_effect_and_refuses_a_path_it_cannot_write(tmp_path, capsys):
    from seqocr.cli import main

    out = tmp_path / "gallery.png"
    assert main(["data", "synth", "--gallery", str(out)]) == 0
    picture = Image.open(out)
    assert picture.height >= 32 * (len(EFFECTS) + 5)
    capsys.readouterr()
    assert main(["data", "synth", "--gallery", str(tmp_path / "no" / "g.png")]) == 1
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "no folder" in err
    assert main(["data", "synth", "--out", str(tmp_path / "s"), "--effect", "tight=2"]) == 1
    assert "outside [0, 1]" in capsys.readouterr().err
