"""Where seqocr keeps what it downloads or derives: the user cache (`$XDG_CACHE_HOME/seqocr`)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "seqocr"
