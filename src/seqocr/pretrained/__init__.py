"""Bundled models, referred to by name: `seqocr.load("digits")` (strings), `seqocr.load("digit")`
(one digit), `seqocr.load("captcha")` (captcha_images_v2-style captchas), `seqocr.load("alnum")`
([0-9a-z] in captcha styles: the start for labelled folders that hold letters); "locator" finds
digit strings in cells, fields and photos before a reader reads them (seqocr/locating.py)."""

from __future__ import annotations

from pathlib import Path

from seqocr.errors import SeqocrError

BUNDLED = {
    "digits": "digits.pt",
    "digit": "digit.pt",
    "captcha": "captcha.pt",
    "alnum": "alnum.pt",
    "locator": "locator.pt",
}
HERE = Path(__file__).parent


def bundled_models() -> list[str]:
    return sorted(BUNDLED)


def resolve_model(name_or_path: str | Path) -> Path:
    """A bundled model's name or a checkpoint path -> the checkpoint file."""
    if str(name_or_path) in BUNDLED:
        path = HERE / BUNDLED[str(name_or_path)]
        if not path.is_file():
            raise SeqocrError(f"bundled model {name_or_path!r} is missing from this install ({path})")
        return path
    path = Path(name_or_path)
    if path.is_dir() and (path / "best.pt").is_file():  # a run folder
        return path / "best.pt"
    if path.is_file():
        return path
    if path.is_dir() and (path / "last.pt").is_file():
        raise SeqocrError(
            f"{path}: this run has no best checkpoint yet (it stopped before its first validation); "
            f"continue it with: seqocr train --resume --out {path}"
        )
    names = ", ".join(bundled_models())
    raise SeqocrError(f"{name_or_path}: no such model; give a checkpoint path, a run folder or one of: {names}")
