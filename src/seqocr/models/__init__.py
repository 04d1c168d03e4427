"""Models: plain nn.Modules returning logits (B, T, C), built by name from a registry."""

from seqocr.models import crnn as _crnn  # noqa: F401  (registers "crnn")
from seqocr.models.registry import RecognitionModel, available_architectures, build_model, channels_last, register

__all__ = ["RecognitionModel", "available_architectures", "build_model", "channels_last", "register"]
