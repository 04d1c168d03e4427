"""The CTC architectures: shapes, lengths, gradients, and padding that never leaks.
(What every family shares is specified in test_model_families.py.)"""

import pytest
import torch

from seqocr.charset import DIGITS
from seqocr.config import ModelConfig, PreprocessConfig
from seqocr.errors import SeqocrError
from seqocr.models import available_readers, build_model

PRE = PreprocessConfig()
CTC = [a for a in available_readers() if a not in ("attention", "mlp", "cnn")]
VARIANTS = [ModelConfig(arch=a, sequence=s) for a in CTC for s in ("conv", "lstm")]


@pytest.fixture(params=VARIANTS, ids=lambda c: f"{c.arch}-{c.sequence}")
def model(request):
    torch.manual_seed(0)
    return build_model(request.param, PRE, DIGITS.num_classes)


def test_logits_are_batch_time_classes(model):
    logits = model(torch.rand(3, 1, 32, 120), torch.tensor([120, 100, 60]))
    assert logits.shape == (3, model.output_lengths(torch.tensor([120])).item(), DIGITS.num_classes)


@pytest.mark.parametrize("width", [16, 17, 31, 64, 99, 400])
def test_output_lengths_match_the_real_time_steps(model, width):
    model.eval()
    with torch.no_grad():
        steps = model(torch.rand(1, 1, 32, width)).shape[1]
    assert model.output_lengths(torch.tensor([width])).item() == steps


def test_every_sequence_model_passes_a_finite_gradient_to_every_parameter(model):
    model.train()
    logits = model(torch.rand(2, 1, 32, 80), torch.tensor([80, 64]))
    logits.log_softmax(-1).mean().backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name


def test_padding_a_batch_does_not_change_an_images_result(model):
    model.eval()
    short = torch.rand(1, 1, 32, 60)
    batch = torch.zeros(2, 1, 32, 140)
    batch[0, :, :, :60] = short
    batch[1] = torch.rand(1, 32, 140)
    with torch.no_grad():
        alone = model(short, torch.tensor([60]))
        together = model(batch, torch.tensor([60, 140]))
    steps = alone.shape[1]
    torch.testing.assert_close(together[0, :steps], alone[0], atol=1e-4, rtol=1e-4)


def test_unknown_architecture_lists_the_valid_ones():
    with pytest.raises(SeqocrError, match="crnn"):
        build_model(ModelConfig(arch="transformer-xxl"), PRE, 11)
