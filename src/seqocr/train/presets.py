"""Named starting points for `seqocr train --preset NAME`."""

from __future__ import annotations

from seqocr.config import RunConfig
from seqocr.errors import SeqocrError

PRESETS = {
    # Digit strings of 1-10 MNIST digits in the realistic default style.
    "digits": RunConfig(),
}


def preset(name: str) -> RunConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise SeqocrError(f"unknown preset {name!r}; choose one of: {', '.join(sorted(PRESETS))}") from None
