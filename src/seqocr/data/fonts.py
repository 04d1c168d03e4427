"""Real fonts for printed matter: the TrueType files matplotlib ships (DejaVu, STIX,
Computer Modern), so that synthesis draws more than Pillow's one built-in face with
nothing to download."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import ImageFont


@lru_cache(maxsize=256)
def shipped_font(name: str, size: int) -> ImageFont.FreeTypeFont:
    """matplotlib's font file `name` (e.g. "DejaVuSans.ttf") at `size` pixels."""
    import matplotlib

    return ImageFont.truetype(str(Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf" / name), size)
