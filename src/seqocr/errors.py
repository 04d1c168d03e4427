"""The one exception type users see.

Every problem caused by input (a bad file, a wrong name, missing data) raises
`SeqocrError` with a one-line message that names the file and the reason; the CLI
prints it without a traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


class SeqocrError(Exception):
    """A problem with the user's input or environment, explained in one line."""


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
