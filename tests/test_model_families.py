"""What every registered architecture does, whatever its family (CTC, attention, classifier):
it learns through `loss`, reads through `read`, and survives a save/load round trip."""

import pytest
import torch

from seqocr.charset import DIGITS
from seqocr.checkpoint import write_payload
from seqocr.config import DecodeConfig, ModelConfig, PreprocessConfig, SynthConfig, to_dict
from seqocr.data.datasets import DigitSource, EncodedDataset, SynthSource, collate
from seqocr.data.synth import DigitStringSynth
from seqocr.decode.attention import greedy_attention
from seqocr.loading import load
from seqocr.models import available_readers, build_model
from seqocr.models.attention import sequence_loss, teacher_forcing
from seqocr.recognizer import ModelInfo, Recognizer

pytestmark = pytest.mark.heavy

STRINGS = PreprocessConfig()
SQUARE = PreprocessConfig(height=28, square=True)


def geometry(arch: str) -> tuple[ModelConfig, PreprocessConfig]:
    single = arch in ("mlp", "cnn")
    config = ModelConfig(arch=arch, hidden=64, dropout=0.0, sequence="lstm" if arch == "attention" else "conv")
    return config, SQUARE if single else STRINGS


def batch_for(arch: str, test_digits, n: int = 8):
    _, pre = geometry(arch)
    if arch in ("mlp", "cnn"):
        source = DigitSource(test_digits, seed=0)
    else:
        source = SynthSource(DigitStringSynth(SynthConfig(split="test", min_len=2, max_len=5), digits=test_digits), n)
    dataset = EncodedDataset(source, pre, DIGITS)
    return collate([dataset[i] for i in range(n)])


@pytest.fixture(params=available_readers())  # the locator reads nothing: tests/test_locating.py
def arch(request):
    return request.param


def test_every_parameter_gets_a_finite_gradient(arch, test_digits):
    torch.manual_seed(0)
    config, pre = geometry(arch)
    model = build_model(config, pre, DIGITS.num_classes)
    model.train()
    loss = model.loss(batch_for(arch, test_digits), DIGITS)
    assert torch.isfinite(loss)
    loss.backward()
    for name, parameter in model.named_parameters():
        if name == "embedding.weight":  # BOS and the characters are inputs; padding's row stays zero
            assert parameter.grad[DIGITS.bos].abs().sum() > 0
            continue
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name


def test_every_architecture_learns_a_tiny_batch_perfectly(arch, test_digits):
    """Overfit 4 samples: proves loss, targets and decoding fit together in every family."""
    torch.manual_seed(0)
    config, pre = geometry(arch)
    model = build_model(config, pre, DIGITS.num_classes)
    batch = batch_for(arch, test_digits, n=4)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    texts: list[str] = []
    for step in range(400):
        model.train()
        loss = model.loss(batch, DIGITS)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 10 == 9:
            model.eval()
            with torch.no_grad():
                texts = [d.text for d in model.read(batch.images, batch.widths, DIGITS)]
            if texts == batch.texts:
                break
    assert texts == batch.texts


def test_save_and_load_give_identical_predictions(arch, test_digits, tmp_path):
    torch.manual_seed(0)
    config, pre = geometry(arch)
    model = build_model(config, pre, DIGITS.num_classes).eval()
    path = tmp_path / f"{arch}.pt"
    write_payload(
        path,
        {
            "charset": DIGITS.chars,
            "model": to_dict(config),
            "preprocess": to_dict(pre),
            "state_dict": model.state_dict(),
        },
    )
    images = [test_digits.images[i] for i in range(4)]
    before = Recognizer(model, DIGITS, pre, config, ModelInfo("in memory")).predict(images)
    after = load(path, locate="off").predict(images)  # as `before`: the whole image, not located
    assert [(p.text, p.confidence) for p in after] == [(p.text, p.confidence) for p in before]


def test_attention_loss_ignores_what_lies_past_each_target():
    targets = torch.tensor([1, 2, 3, 4, 5])  # "01" and "234"
    lengths = torch.tensor([2, 3])
    inputs, outputs = teacher_forcing(targets, lengths, DIGITS)
    assert inputs.tolist() == [[DIGITS.bos, 1, 2, DIGITS.pad], [DIGITS.bos, 3, 4, 5]]
    assert outputs.tolist() == [[1, 2, DIGITS.eos, DIGITS.pad], [3, 4, 5, DIGITS.eos]]
    logits = torch.randn(2, 4, DIGITS.special_tokens(DIGITS.num_classes).vocabulary)
    loss = sequence_loss(logits, outputs, lengths + 1, DIGITS.pad)
    changed_targets = outputs.clone()
    changed_targets[0, 3] = 7  # a padded target position
    changed_logits = logits.clone()
    changed_logits[0, 3] = 100.0  # the prediction at a padded position
    assert sequence_loss(changed_logits, changed_targets, lengths + 1, DIGITS.pad) == loss
    assert DIGITS.pad not in range(1, DIGITS.num_classes) and DIGITS.pad != DIGITS.eos != DIGITS.bos


class ScriptedDecoder:
    """Says a fixed token sequence with probability 0.9 per step, whatever it attends to."""

    def __init__(self, script: list[int]):
        self.script, self.calls = script, 0

    def start(self, memory):
        return (torch.zeros(len(memory.lengths), 1),)

    def step(self, tokens, state, memory):
        token = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        vocabulary = DIGITS.bos + 1
        probs = torch.full((len(tokens), vocabulary), 0.1 / (vocabulary - 1))
        probs[:, token] = 0.9
        logits = probs.log()
        steps = memory.mask.shape[1]
        return logits, state, torch.full((len(tokens), steps), 1.0 / steps)


class OneImage:
    def __init__(self, steps: int):
        self.lengths = torch.tensor([steps])
        self.mask = torch.ones(1, steps, dtype=torch.bool)

    def select(self, rows):
        return self


def test_attention_decoding_stops_at_eos():
    decoder = ScriptedDecoder([3, 5, DIGITS.eos, 7, 7, 7])  # "24", then EOS, then noise
    (read,) = greedy_attention(decoder, OneImage(steps=10), DIGITS)
    assert read.text == "24"
    assert decoder.calls == 3  # nothing is asked of the decoder after EOS
    assert len(read.attention) == 2 and len(read.attention[0]) == 10
    assert read.char_confidences == pytest.approx((0.9, 0.9))
    assert read.confidence == pytest.approx(0.9**3)  # two digits and EOS


def test_attention_decoding_never_writes_more_characters_than_time_steps():
    (read,) = greedy_attention(ScriptedDecoder([4]), OneImage(steps=3), DIGITS)  # never says EOS
    assert read.text == "333"


def test_attention_beam_search_applies_constraints(test_digits):
    torch.manual_seed(0)
    config, pre = geometry("attention")
    model = build_model(config, pre, DIGITS.num_classes).eval()
    batch = batch_for("attention", test_digits, n=3)
    with torch.no_grad():
        reads = model.read(
            batch.images, batch.widths, DIGITS, DecodeConfig(beam=4, n_best=2, allowed="12", min_length=3, max_length=3)
        )
    for read in reads:
        assert len(read.text) == 3 and set(read.text) <= {"1", "2"}
        assert len(read.alternatives) == 2 and read.alternatives[0][1] >= read.alternatives[1][1]


def test_fine_tuning_an_attention_model_keeps_its_eos_and_bos_rows():
    from seqocr.charset import Charset
    from seqocr.checkpoint import Checkpoint
    from seqocr.train.initial_weights import load_initial_weights

    config, pre = geometry("attention")
    old = build_model(config, pre, DIGITS.num_classes)
    init = Checkpoint(DIGITS, config, pre, old.state_dict())
    wider = Charset("0123456789ab")
    model = build_model(config, pre, wider.num_classes)
    load_initial_weights(model, init, wider)
    for name in ("head.weight", "embedding.weight"):
        new_rows, old_rows = model.state_dict()[name], old.state_dict()[name]
        assert torch.equal(new_rows[wider.eos], old_rows[DIGITS.eos]), name
        assert torch.equal(new_rows[wider.bos], old_rows[DIGITS.bos]), name
        assert torch.equal(new_rows[wider.encode("7")[0]], old_rows[DIGITS.encode("7")[0]]), name
