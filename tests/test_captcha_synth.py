from dataclasses import replace

import numpy as np

from seqocr.charset import Charset
from seqocr.config import DataConfig, PreprocessConfig
from seqocr.data.captcha_synth import CaptchaSynth
from seqocr.data.datasets import ConcatSource, EncodedDataset, FolderSource, WidthBucketedBatches
from seqocr.data.folder import split_folder
from seqocr.models import build_model
from seqocr.train.data import TrainingData
from seqocr.train.presets import captcha

SYMBOLS = "2345678bcdefgmnpwxy"


def test_a_synthetic_captcha_is_a_pure_function_of_seed_and_index():
    synth = CaptchaSynth(SYMBOLS, (4, 6), seed=3)
    image, text = synth.sample(7)
    again, same_text = CaptchaSynth(SYMBOLS, (4, 6), seed=3).sample(7)
    assert text == same_text and np.array_equal(np.asarray(image), np.asarray(again))
    assert not np.array_equal(np.asarray(CaptchaSynth(SYMBOLS, (4, 6), seed=4).sample(7)[0]), np.asarray(image))


def test_synthetic_captchas_look_like_the_set_they_stand_in_for():
    synth = CaptchaSynth(SYMBOLS, (4, 6), seed=0)
    samples = [synth.sample(i) for i in range(40)]
    assert {image.size for image, _ in samples} == {(200, 50)}
    assert all(4 <= len(text) <= 6 and set(text) <= set(SYMBOLS) for _, text in samples)
    assert len({text for _, text in samples}) == 40
    pixels = np.asarray(samples[0][0], dtype=np.float32)
    assert pixels.min() < 60 and np.median(pixels) > 150  # dark ink on light paper, mostly paper


def test_the_captcha_preset_adds_synthetic_captchas_to_every_epoch(captcha_folder):
    config = captcha()
    config = replace(config, data=replace(config.data, path=str(captcha_folder), synthetic_captchas=2.0))
    split = split_folder(config.data, config.train.seed)
    charset = Charset.from_labels([text for _, text in split.train])
    model = build_model(config.model, config.preprocess, charset.num_classes)
    data = TrainingData(config, charset, model, split)
    assert data.samples_per_epoch == 3 * len(split.train)
    epoch_1, epoch_2 = data.epoch_source(1), data.epoch_source(2)
    assert len(epoch_1) == data.samples_per_epoch
    real_texts = {text for _, text in split.train}
    first_synthetic = len(split.train)
    assert epoch_1[0][1] in real_texts
    assert epoch_1[first_synthetic][1] != epoch_2[first_synthetic][1]  # fresh captchas each epoch
    assert set(epoch_1[first_synthetic][1]) <= set(charset.chars)


def test_a_sample_shares_its_batch_with_different_samples_each_epoch(captcha_folder):
    split = split_folder(DataConfig(path=str(captcha_folder), val_split=0.0), seed=0)
    dataset = EncodedDataset(FolderSource(split.train), PreprocessConfig(crop=False), Charset(SYMBOLS))

    def batch_of_first(seed: int) -> set[str]:
        first = split.train[0][1]
        return next(set(b.texts) for b in WidthBucketedBatches(dataset, 8, seed) if first in b.texts)

    assert batch_of_first(1) != batch_of_first(2)
    assert batch_of_first(1) == batch_of_first(1)
    total = sum(len(b.texts) for b in WidthBucketedBatches(dataset, 8, seed=1))
    assert total == len(split.train)


def test_concatenated_sources_keep_every_sample_in_order():
    a = [(np.zeros((2, 2), np.uint8), "a"), (np.zeros((2, 2), np.uint8), "b")]
    b = [(np.zeros((2, 2), np.uint8), "c")]
    both = ConcatSource(a, b)
    assert len(both) == 3 and [both[i][1] for i in range(3)] == ["a", "b", "c"]
