"""CRNN: a convolutional backbone, a sequence model over width, a linear head.

Returns logits (B, T, C) where T follows from the input width through the pooling;
`output_lengths` maps each image's real width to its real number of time steps, so
CTC never sees the padding of a batch.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqocr.config import ModelConfig, PreprocessConfig
from seqocr.errors import SeqocrError
from seqocr.models.ctc import CTCModel
from seqocr.models.registry import RecognitionModel, register


def conv_block(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class Backbone(nn.Module):
    """A stride-2 stem, then conv stages each followed by optional (height, width) pooling.

    The stem halves the resolution first: full-resolution activations are memory-bound
    and dominate CPU time, while 16 px of height still keep every MNIST stroke.
    """

    def __init__(self, in_channels: int, stem: int, stages: tuple[tuple[int, int, int], ...]):
        super().__init__()
        layers: list[nn.Module] = [conv_block(in_channels, stem, stride=2)]
        c_in = stem
        for c_out, pool_h, pool_w in stages:
            layers.append(conv_block(c_in, c_out))
            if (pool_h, pool_w) != (1, 1):
                layers.append(nn.MaxPool2d((pool_h, pool_w), (pool_h, pool_w)))
            c_in = c_out
        self.body = nn.Sequential(*layers)
        self.out_channels = c_in

    def forward(self, x: Tensor, widths: Tensor | None = None) -> Tensor:
        """x (B, C, H, W) -> (B, C', H', W'); columns past each image's width are zeroed
        after every layer, so a padded batch computes exactly what each image alone would."""
        if widths is None or not needs_mask(widths, x.shape[-1]):
            return self.body(x)
        for layer in self.body:
            x = layer(x)
            widths = _layer_lengths(layer, widths)
            x = x * mask_beyond(widths, x.shape[-1]).view(x.shape[0], 1, 1, -1)
        return x

    def output_lengths(self, widths: Tensor) -> Tensor:
        """Real widths (B,) -> real time steps (B,), following every layer's arithmetic."""
        for layer in self.body:
            widths = _layer_lengths(layer, widths)
        return widths


def _layer_lengths(layer: nn.Module, widths: Tensor) -> Tensor:
    for module in layer.modules():
        if isinstance(module, (nn.Conv2d, nn.MaxPool2d)):
            k, s, p = (_width_of(module.kernel_size), _width_of(module.stride), _width_of(module.padding))
            widths = torch.div(widths + 2 * p - k, s, rounding_mode="floor") + 1
    return widths


def needs_mask(lengths: Tensor, total: int) -> bool:
    """Whether some sequence of a batch is shorter than the padded size. An exported
    graph always masks: it must be right for every batch, not just the traced one."""
    if torch.jit.is_tracing() or torch.compiler.is_exporting():
        return True
    return not bool((lengths == total).all())


def mask_beyond(lengths: Tensor, total: int) -> Tensor:
    """(B,) lengths -> (B, total) float mask, 1 inside each length and 0 past it."""
    return (torch.arange(total, device=lengths.device)[None, :] < lengths[:, None]).float()


def _width_of(value: object) -> int:
    """The width component of a layer's kernel, stride or padding (an int or (h, w))."""
    return value if isinstance(value, int) else int(value[1])  # type: ignore[index]


class ConvSequence(nn.Module):
    """1-D convolutions over time: a local context that works at any length."""

    def __init__(self, features: int, hidden: int, layers: int, dropout: float, kernel_size: int = 3):
        super().__init__()
        blocks: list[nn.Module] = []
        c_in = features
        for _ in range(layers):
            blocks.append(
                nn.Sequential(
                    nn.Conv1d(c_in, hidden, kernel_size, padding=kernel_size // 2),
                    nn.ReLU(inplace=True),
                    nn.Dropout(dropout),
                )
            )
            c_in = hidden
        self.body = nn.Sequential(*blocks)
        self.out_features = hidden

    def forward(self, x: Tensor, lengths: Tensor | None) -> Tensor:
        x = x.transpose(1, 2)  # (B, F, T)
        if lengths is None or not needs_mask(lengths, x.shape[-1]):
            return self.body(x).transpose(1, 2)  # (B, T, hidden)
        mask = mask_beyond(lengths, x.shape[-1]).unsqueeze(1)  # (B, 1, T)
        for block in self.body:
            x = block(x) * mask
        return x.transpose(1, 2)  # (B, T, hidden)


class LSTMSequence(nn.Module):
    """Bidirectional LSTM; packs by real length so padding never leaks into the result."""

    def __init__(self, features: int, hidden: int, layers: int, dropout: float):
        super().__init__()
        self.rnn = nn.LSTM(
            features,
            hidden,
            num_layers=layers,
            bidirectional=True,
            batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.out_features = 2 * hidden

    def forward(self, x: Tensor, lengths: Tensor | None) -> Tensor:
        if lengths is None or bool((lengths == x.shape[1]).all()):
            return self.rnn(x)[0]  # (B, T, 2*hidden)
        packed = pack_padded_sequence(x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        return pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0]


class CRNN(CTCModel):
    def __init__(self, config: ModelConfig, preprocess: PreprocessConfig, num_classes: int):
        super().__init__()
        self.backbone = Backbone(preprocess.channels, config.stem, config.stages)
        with torch.no_grad():  # derive the feature size from a dummy pass, never by hand
            probe = self.backbone(torch.zeros(1, preprocess.channels, preprocess.height, 64))
        features = probe.shape[1] * probe.shape[2]
        sequences = {"conv": ConvSequence, "lstm": LSTMSequence}
        if config.sequence not in sequences:
            raise SeqocrError(f"unknown sequence model {config.sequence!r}; choose one of: conv, lstm")
        self.sequence: nn.Module = sequences[config.sequence](features, config.hidden, config.layers, config.dropout)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(self.sequence.out_features, num_classes)

    def forward(self, images: Tensor, widths: Tensor | None = None) -> Tensor:
        """images (B, C, H, W), widths (B,) real widths before padding -> logits (B, T, classes)."""
        images = images.contiguous(memory_format=torch.channels_last)  # faster on CPU
        f = self.backbone(images, widths)  # (B, C', H', T)
        b, c, h, t = f.shape
        f = f.permute(0, 3, 1, 2).reshape(b, t, c * h)  # (B, T, C'*H')
        lengths = None if widths is None else self.output_lengths(widths)
        f = self.sequence(f, lengths)  # (B, T, F)
        return self.head(self.dropout(f))  # (B, T, classes)

    def output_lengths(self, widths: Tensor) -> Tensor:
        return self.backbone.output_lengths(widths)


@register("crnn")
def crnn(config: ModelConfig, preprocess: PreprocessConfig, num_classes: int) -> RecognitionModel:
    """CRNN with CTC output; e.g. `build_model(ModelConfig(), PreprocessConfig(), 11)`."""
    return CRNN(config, preprocess, num_classes)
