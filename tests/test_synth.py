import numpy as np
import pytest

from seqocr.config import SynthConfig
from seqocr.data.mnist import Digits
from seqocr.data.synth import DigitStringSynth
from seqocr.errors import SeqocrError


def fake_digits(label: int, count: int = 20) -> Digits:
    """Digits that are all `label`: lets a test see which set a string came from."""
    images = np.zeros((count, 28, 28), dtype=np.uint8)
    images[:, 6:22, 10:18] = 255
    return Digits(images, np.full(count, label))


def test_a_sample_is_a_pure_function_of_seed_and_index(test_digits):
    a = DigitStringSynth(SynthConfig(split="test", seed=3), digits=test_digits)
    b = DigitStringSynth(SynthConfig(split="test", seed=3), digits=test_digits)
    for index in (0, 17, 123_456):
        image_a, text_a = a.sample(index)
        b.sample(index + 1)  # order of calls must not matter
        image_b, text_b = b.sample(index)
        assert text_a == text_b
        np.testing.assert_array_equal(image_a, image_b)
    assert a.sample(1)[1] != a.sample(2)[1] or not np.array_equal(a.sample(1)[0], a.sample(2)[0])


def test_strings_use_only_the_given_split():
    synth = DigitStringSynth(SynthConfig(split="test"), digits=fake_digits(7))
    assert all(set(synth.sample(i)[1]) == {"7"} for i in range(20))


def test_lengths_stay_within_bounds(test_digits):
    synth = DigitStringSynth(SynthConfig(min_len=3, max_len=12), digits=test_digits)
    lengths = {len(synth.sample(i)[1]) for i in range(300)}
    assert lengths == set(range(3, 13))


def test_default_style_varies_polarity_and_size(test_digits):
    synth = DigitStringSynth(SynthConfig(), digits=test_digits)
    images = [synth.sample(i)[0] for i in range(200)]
    dark_on_light = sum(np.median(im) > 127 for im in images)
    assert 50 < dark_on_light < 150
    heights = {im.shape[0] for im in images}
    assert min(heights) < 28 and max(heights) > 50


def test_notebook_style_is_28px_cells_side_by_side(test_digits):
    synth = DigitStringSynth(SynthConfig(style="notebook", min_len=1, max_len=5), digits=test_digits)
    for i in range(20):
        image, text = synth.sample(i)
        assert image.shape == (28, 28 * len(text))


def test_bad_settings_are_refused(test_digits):
    with pytest.raises(SeqocrError, match="min_len"):
        DigitStringSynth(SynthConfig(min_len=5, max_len=2), digits=test_digits)
    with pytest.raises(SeqocrError, match="style"):
        DigitStringSynth(SynthConfig(style="comic"), digits=test_digits)


def test_augmented_digits_are_new_writers_yet_a_pure_function_of_seed_and_index(test_digits):
    plain = DigitStringSynth(SynthConfig(split="test", seed=3), digits=test_digits)
    augmented = DigitStringSynth(SynthConfig(split="test", seed=3, augment=True), digits=test_digits)
    again = DigitStringSynth(SynthConfig(split="test", seed=3, augment=True), digits=test_digits)
    for index in range(5):
        image, text = augmented.sample(index)
        same, same_text = again.sample(index)
        assert text == same_text and np.array_equal(image, same)
    differ = [not np.array_equal(plain.sample(i)[0], augmented.sample(i)[0]) for i in range(5)]
    assert any(differ)


def test_only_training_strings_are_augmented():
    from seqocr.config import RunConfig

    assert RunConfig().synth.augment is True  # the digits recipe's training strings
    assert SynthConfig().augment is False  # what `seqocr data synth` and benchmarks write


def test_augmented_notebook_strings_keep_28px_mnist_cells_with_new_writers(test_digits):
    plain = DigitStringSynth(SynthConfig(split="test", seed=4, style="notebook"), digits=test_digits)
    augmented = DigitStringSynth(SynthConfig(split="test", seed=4, style="notebook", augment=True), digits=test_digits)
    for index in range(5):
        (image, text), (changed, same_text) = plain.sample(index), augmented.sample(index)
        assert text == same_text and changed.shape == image.shape == (28, 28 * len(text))
    assert any(not np.array_equal(plain.sample(i)[0], augmented.sample(i)[0]) for i in range(5))
