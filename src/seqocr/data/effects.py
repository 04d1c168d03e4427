"""The named effects of synthetic strings beyond the default style, and how likely each is.

Every effect is drawn with its own probability, per string (per gap for `ligature`,
per digit for `usps` and the writers' conventions of data/conventions.py), from a random
stream of the sample's own (seed, index): a sample stays a pure function of them.
`seqocr data synth --gallery OUT.png` draws each effect alone; `--effect NAME=P` changes one probability.

| group | effect | what it draws (range) |
| --- | --- | --- |
| spacing | tight | neighbours from touching to overlapping by up to 45% of the narrower digit |
| spacing | ligature | a pen stroke joining two neighbours, as in joined-up writing |
| marks | separators | thousands separators or a decimal mark (`.` `,` `'`) between digits |
| marks | dash | an ending after the amount: `-`, `/-`, `=`, `--` or `.-` |
| marks | currency | a currency sign before the amount (`$`, `€`, `£`) |
| marks | underline | a hand-drawn line under the digits |
| marks | ruled | printed ruled lines across the field (baseline and a line above) |
| marks | boxes | a printed form box around every digit |
| marks | field_box | a printed box around the whole field |
| paper | texture | paper grain and low-frequency mottling (3-12% of the range) |
| paper | guilloche | a printed security pattern of interlaced wavy lines (15-50% dark) |
| paper | gradient | a linear brightness gradient across the paper (10-30%) |
| paper | stain | one to three soft stains (10-30% dark) |
| paper | shadow | a shadow falling over one edge (up to 50% dark) |
| paper | show_through | mirrored digits from the page's other side (8-20% dark) |
| pen | thin | a thin pencil: grey, narrow strokes |
| pen | thick | a marker: strokes widened by 1-2 pixels |
| pen | faint | low contrast: ink at 25-50% of the paper's darkness |
| pen | broken | strokes with gaps where the pen skipped |
| capture | rotate | the whole line turned by up to 4 degrees |
| capture | perspective | corners moved by up to 6% (a photo taken at an angle) |
| capture | uneven_light | light falling off across the image (to 55-90%) |
| capture | defocus | a Gaussian blur (0.5-1.5 px) |
| capture | motion_blur | a 5-pixel streak in a random direction |
| capture | downscale | captured at 14-22 pixels of text height |
| capture | jpeg | JPEG artefacts at quality 15-60 |
| glyphs | usps | a digit from USPS envelopes (other writers than MNIST's), training strings only |
| glyphs | flag_one | a continental 1: a lead-in flag, and a foot half the time (per 1) |
| glyphs | crossed_seven | a 7 with a bar across its stem (per 7) |
| glyphs | looped_zero | a 0 closed with a small loop or an overshoot on top (per 0) |
| glyphs | drawn_four | a 4 drawn open or closed in place of the written one (per 4) |
| glyphs | straight_nine | a 9 drawn with a straight tail in place of the written one (per 9) |

Three sets of probabilities are named: `touching` (tight spacing, dark ink on light
paper, nothing else), `document` (every effect but the glyphs, at the rates of a scanned
form; the test suite of that name) and `mixed` (the training mix of the bundled `digits`
model: every effect, a writers' convention in about a third of the digits of its kind).
"""

from __future__ import annotations

from collections.abc import Mapping

from seqocr.errors import SeqocrError

EFFECTS: tuple[str, ...] = (
    "tight",
    "ligature",
    "separators",
    "dash",
    "currency",
    "underline",
    "ruled",
    "boxes",
    "field_box",
    "texture",
    "guilloche",
    "gradient",
    "stain",
    "shadow",
    "show_through",
    "thin",
    "thick",
    "faint",
    "broken",
    "rotate",
    "perspective",
    "uneven_light",
    "defocus",
    "motion_blur",
    "downscale",
    "jpeg",
    "usps",
)
# drawn per digit by the synthesizer (data/conventions.py), after the line's own effects
CONVENTIONS: tuple[str, ...] = ("flag_one", "crossed_seven", "looped_zero", "drawn_four", "straight_nine")
EFFECTS += CONVENTIONS

NONE = dict.fromkeys(EFFECTS, 0.0)

PROBABILITIES: dict[str, dict[str, float]] = {
    "touching": {**NONE, "tight": 1.0},
    "document": {
        **NONE,
        "tight": 0.3,
        "ligature": 0.1,
        "separators": 0.35,
        "dash": 0.25,
        "currency": 0.15,
        "underline": 0.15,
        "ruled": 0.15,
        "boxes": 0.08,
        "field_box": 0.12,
        "texture": 0.5,
        "guilloche": 0.3,
        "gradient": 0.3,
        "stain": 0.15,
        "shadow": 0.15,
        "show_through": 0.1,
        "thin": 0.15,
        "thick": 0.15,
        "faint": 0.15,
        "broken": 0.1,
        "rotate": 0.4,
        "perspective": 0.25,
        "uneven_light": 0.25,
        "defocus": 0.25,
        "motion_blur": 0.1,
        "downscale": 0.25,
        "jpeg": 0.25,
    },
    "mixed": {
        **NONE,
        "tight": 0.45,
        "ligature": 0.12,
        "separators": 0.25,
        "dash": 0.2,
        "currency": 0.1,
        "underline": 0.12,
        "ruled": 0.12,
        "boxes": 0.06,
        "field_box": 0.1,
        "texture": 0.4,
        "guilloche": 0.25,
        "gradient": 0.25,
        "stain": 0.12,
        "shadow": 0.12,
        "show_through": 0.08,
        "thin": 0.15,
        "thick": 0.15,
        "faint": 0.12,
        "broken": 0.1,
        "rotate": 0.35,
        "perspective": 0.2,
        "uneven_light": 0.2,
        "defocus": 0.2,
        "motion_blur": 0.08,
        "downscale": 0.2,
        "jpeg": 0.2,
        "usps": 0.25,
        "flag_one": 0.3,
        "crossed_seven": 0.3,
        "looped_zero": 0.25,
        "drawn_four": 0.3,
        "straight_nine": 0.3,
    },
}


def probabilities(style: str, overrides: tuple[tuple[str, float], ...] = ()) -> dict[str, float]:
    """The probability of every effect for a style's renderer, with `overrides` applied."""
    table = dict(PROBABILITIES.get(style, NONE))
    table.update(check_overrides(overrides))
    return table


def check_overrides(overrides: tuple[tuple[str, float], ...] | Mapping[str, float]) -> dict[str, float]:
    """`overrides` as a dict, refusing unknown names and probabilities outside [0, 1]."""
    pairs = overrides.items() if isinstance(overrides, Mapping) else overrides
    checked = {}
    for name, probability in pairs:
        if name not in EFFECTS:
            raise SeqocrError(f"unknown synthesis effect {name!r}; choose from: {', '.join(EFFECTS)}")
        if not 0.0 <= probability <= 1.0:
            raise SeqocrError(f"effect {name}: probability {probability} is outside [0, 1]")
        checked[name] = float(probability)
    return checked


def parse_override(text: str) -> tuple[str, float]:
    """`NAME=P` from the command line."""
    name, sep, value = text.partition("=")
    try:
        probability = float(value) if sep else None
    except ValueError:
        probability = None
    if probability is None:
        raise SeqocrError(f"--effect {text!r}: expected NAME=PROBABILITY, e.g. tight=0.5")
    return next(iter(check_overrides(((name.strip(), probability),)).items()))
