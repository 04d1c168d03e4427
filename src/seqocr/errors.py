"""The one exception type users see.

Every problem caused by input (a bad file, a wrong name, missing data) raises
`SeqocrError` with a one-line message that names the file and the reason; the CLI
prints it without a traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


class SeqocrError(Exception):
    """A problem with the user's input or environment, explained in one line."""


def in_place(outcomes: Sequence[object], answers: Iterable[R]) -> list[R | SeqocrError]:
    """The answers for the usable items of `outcomes` (in order), each put back in its
    item's place among the errors of the unusable ones."""
    given = iter(answers)
    return [outcome if isinstance(outcome, SeqocrError) else next(given) for outcome in outcomes]


def attempt_each(work: Callable[[T], R], items: Iterable[T]) -> list[R | SeqocrError]:
    """`work(item)` for every item; an item whose input is unusable keeps its SeqocrError
    in its place and the rest are still done (a folder with one broken image)."""
    results: list[R | SeqocrError] = []
    for item in items:
        try:
            results.append(work(item))
        except SeqocrError as error:
            results.append(error)
    return results
