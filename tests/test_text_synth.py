"""Alphanumeric strings in captcha styles: pure functions of (seed, index), labelled as the
charset writes them, with one style kept out of training."""

import numpy as np
import pytest

from seqocr.data.text_synth import ALNUM, HELD_OUT_STYLES, STYLES, TRAIN_STYLES, TextSynth, TextSynthConfig
from seqocr.errors import SeqocrError


def test_a_sample_is_a_pure_function_of_seed_and_index_in_every_style():
    for style in STYLES:
        a = TextSynth(TextSynthConfig(seed=3, styles=(style,)))
        b = TextSynth(TextSynthConfig(seed=3, styles=(style,)))
        b.sample(5)  # what was drawn before must not matter
        image, text = a.sample(2)
        again, same = b.sample(2)
        assert text == same and np.array_equal(image, again), style
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 and image.shape[0] >= 30


def test_labels_come_from_the_charset_while_letters_are_drawn_in_either_case():
    charset = "abc123"
    mixed = TextSynth(TextSynthConfig(seed=1, charset=charset, min_len=5, max_len=5))
    lower = TextSynth(TextSynthConfig(seed=1, charset=charset, min_len=5, max_len=5, mixed_case=False))
    differ = 0
    for i in range(20):
        (a, text), (b, same) = mixed.sample(i), lower.sample(i)
        assert text == same and len(text) == 5 and set(text) <= set(charset)
        differ += a.shape != b.shape or not np.array_equal(a, b)
    assert differ >= 15  # upper-case letters change the picture, not the label


def test_the_held_out_style_is_never_drawn_for_training_and_each_style_looks_its_own():
    assert not set(HELD_OUT_STYLES) & set(TRAIN_STYLES)
    assert TextSynthConfig().styles == TRAIN_STYLES
    means = {s: TextSynth(TextSynthConfig(seed=2, styles=(s,))).sample(0)[0].std() for s in STYLES}
    assert len({round(float(v), 3) for v in means.values()}) == len(STYLES)


def test_unknown_styles_and_empty_charsets_are_refused():
    with pytest.raises(SeqocrError, match="unknown text style"):
        TextSynth(TextSynthConfig(styles=("sparkles",)))
    with pytest.raises(SeqocrError, match="needs a charset"):
        TextSynth(TextSynthConfig(charset=""))


def test_the_alnum_recipe_trains_on_text_in_its_charset_from_the_digits_model():
    from seqocr.charset import Charset
    from seqocr.cli import build_parser
    from seqocr.cli.train import train_config_from
    from seqocr.models import build_model
    from seqocr.train.data import TrainingData

    config = train_config_from(build_parser().parse_args(["train", "--preset", "alnum", "--samples-per-epoch", "8"]))
    assert config.data.source == "text" and config.charset == ALNUM and config.train.init == "digits"
    charset = Charset(config.charset)
    data = TrainingData(config, charset, build_model(config.model, config.preprocess, charset.num_classes), None)
    first, second = data.epoch_source(1), data.epoch_source(2)
    texts = [first[i][1] for i in range(8)]
    assert all(4 <= len(t) <= 6 and set(t) <= set(ALNUM) for t in texts)
    assert texts != [second[i][1] for i in range(8)]  # fresh strings each epoch
    assert data.validation is not None and data.validation[0][1] not in texts  # a seed of its own
