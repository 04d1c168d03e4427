"""Models, built by name from a registry: the CTC family (crnn), the attention family
(attention), single-character classifiers (mlp, cnn) and the locator (locator), which
finds digit strings in a larger image."""

from seqocr.models import attention as _attention  # noqa: F401  (registers "attention")
from seqocr.models import classifier as _classifier  # noqa: F401  (registers "mlp", "cnn")
from seqocr.models import crnn as _crnn  # noqa: F401  (registers "crnn")
from seqocr.models import locator as _locator  # noqa: F401  (registers "locator")
from seqocr.models.registry import (
    RecognitionModel,
    available_architectures,
    available_readers,
    build_model,
    channels_last,
    register,
)

__all__ = [
    "RecognitionModel",
    "available_architectures",
    "available_readers",
    "build_model",
    "channels_last",
    "register",
]
