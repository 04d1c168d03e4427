import numpy as np
import torch
from PIL import Image

from seqocr.config import PreprocessConfig
from seqocr.data.transform import pad_batch, preprocess

CONFIG = PreprocessConfig(height=32, crop=False)


def stripe_image(width: int = 90, height: int = 30, ink: int = 255, paper: int = 0) -> np.ndarray:
    image = np.full((height, width), paper, dtype=np.uint8)
    image[8:22, 10:14] = ink
    image[8:22, 40:60] = ink
    return image


def test_resizes_to_the_model_height_keeping_aspect_ratio():
    tensor = preprocess(stripe_image(90, 30), CONFIG)
    assert tensor.shape == (1, 32, 96)
    assert tensor.dtype == torch.float32


def test_ink_is_bright_whatever_the_polarity():
    light_on_dark = preprocess(stripe_image(ink=230, paper=20), CONFIG)
    dark_on_light = preprocess(stripe_image(ink=20, paper=230), CONFIG)
    torch.testing.assert_close(light_on_dark, dark_on_light, atol=1e-5, rtol=0)
    assert light_on_dark[0, 0, 0] == 0.0 and light_on_dark.max() == 1.0


def test_cropping_keeps_the_ink_and_a_margin():
    image = np.zeros((100, 600), np.uint8)
    image[40:60, 100:110] = 255  # a thin stroke in a large empty frame
    image[40:60, 150:152] = 255  # a one-pixel-wide stroke must survive the crop
    tensor = preprocess(image, PreprocessConfig(height=32, crop=True))
    assert tensor.shape[1] == 32
    columns_with_ink = (tensor[0] > 0.5).any(dim=0).nonzero().flatten()
    assert columns_with_ink.numel() > 0 and columns_with_ink.min() > 0
    assert columns_with_ink.max() < tensor.shape[-1] - 1  # a margin on both sides
    # ink is 52 x 20 px; with a 12% margin it becomes about 73 px wide at 32 px tall;
    # the uncropped frame would be 192 px wide
    assert 60 < tensor.shape[-1] < 85


def test_cropping_ignores_isolated_noise():
    rng = np.random.default_rng(0)
    image = np.zeros((64, 256), np.uint8)
    image[20:44, 100:104] = 255
    noisy = image.copy()
    specks = rng.integers(0, [64, 256], size=(40, 2))
    noisy[specks[:, 0], specks[:, 1]] = 255
    cropped = preprocess(noisy, PreprocessConfig(height=32, crop=True))
    assert cropped.shape[-1] < 32


def test_low_contrast_is_stretched():
    faint = preprocess(stripe_image(ink=140, paper=110), CONFIG)
    assert faint.min() == 0.0 and faint.max() == 1.0


def test_any_mode_is_accepted():
    rgba = Image.fromarray(stripe_image(ink=0, paper=255)).convert("RGBA")
    palette = Image.fromarray(stripe_image()).convert("P")
    sixteen = Image.fromarray(stripe_image().astype(np.uint16) * 257)
    for image in (rgba, palette, sixteen):
        assert preprocess(image, CONFIG).shape == (1, 32, 96)


def test_tiny_images_are_padded_to_the_minimum_width():
    assert preprocess(np.zeros((32, 4), np.uint8), CONFIG).shape == (1, 32, CONFIG.min_width)


def test_batches_pad_with_background_and_keep_real_widths():
    a, b = torch.ones(1, 32, 20), torch.ones(1, 32, 50)
    batch, widths = pad_batch([a, b])
    assert batch.shape == (2, 1, 32, 50)
    assert widths.tolist() == [20, 50]
    assert batch[0, :, :, 20:].abs().sum() == 0
