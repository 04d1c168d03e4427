"""Token ids: the only place blank, pad, BOS and EOS indices are defined."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from seqocr.errors import SeqocrError


@dataclass(frozen=True)
class Charset:
    """Maps characters to class ids, for CTC and for attention decoders alike.

    Id 0 is the CTC blank; the characters take ids 1..N in the order given. The blank
    is never a character, so a label can never be confused with "nothing here".
    An attention decoder uses the same ids plus three tokens: `pad` (0, the blank's
    id: padding is "nothing here", and the loss ignores it), `eos` (N+1) and `bos`
    (N+2). `special_tokens` is the only place these are defined.
    """

    chars: str

    BLANK = 0

    def __post_init__(self) -> None:
        if not self.chars:
            raise SeqocrError("charset is empty")
        if len(set(self.chars)) != len(self.chars):
            dupes = sorted({c for c in self.chars if self.chars.count(c) > 1})
            raise SeqocrError(f"charset has repeated characters: {''.join(dupes)!r}")
        if any(c.isspace() and c != " " for c in self.chars):
            raise SeqocrError("charset may not contain tabs or newlines")

    @property
    def blank(self) -> int:
        return self.BLANK

    @property
    def num_classes(self) -> int:
        """Size of the model's output layer: the characters plus the blank."""
        return len(self.chars) + 1

    @property
    def pad(self) -> int:
        return self.special_tokens(self.num_classes).pad

    @property
    def eos(self) -> int:
        return self.special_tokens(self.num_classes).eos

    @property
    def bos(self) -> int:
        return self.special_tokens(self.num_classes).bos

    @staticmethod
    def special_tokens(num_classes: int) -> SpecialTokens:
        """The attention decoder's extra ids for a model with `num_classes` CTC classes."""
        return SpecialTokens(pad=Charset.BLANK, eos=num_classes, bos=num_classes + 1, vocabulary=num_classes + 2)

    def encode(self, text: str) -> list[int]:
        """Text to ids; raises on characters outside the charset."""
        unknown = sorted({c for c in text if c not in self._index})
        if unknown:
            raise SeqocrError(f"label {text!r} has characters outside the charset: {''.join(unknown)!r}")
        return [self._index[c] for c in text]

    def id_of(self, char: str) -> int:
        try:
            return self._index[char]
        except KeyError:
            raise SeqocrError(f"{char!r} is outside the charset {self.chars!r}") from None

    def char_of(self, id_: int) -> str:
        """The character of a character id (not the blank or an attention token)."""
        return self.chars[id_ - 1]

    def ids_of(self, chars: Iterable[str]) -> list[int]:
        """The ids of those of `chars` the charset holds, in charset order."""
        wanted = set(chars)
        return [self._index[c] for c in self.chars if c in wanted]

    def decode(self, ids: Iterable[int]) -> str:
        """Ids to text (blank/pad, EOS and BOS are dropped; no CTC collapsing here)."""
        return "".join(self.chars[i - 1] for i in ids if 0 < i <= len(self.chars))

    def unknown_chars(self, text: str) -> str:
        return "".join(sorted({c for c in text if c not in self._index}))

    @property
    def _index(self) -> dict[str, int]:
        # Cached on first use; a frozen dataclass cannot hold it as a normal field.
        cache = self.__dict__.get("_cache")
        if cache is None:
            cache = {c: i + 1 for i, c in enumerate(self.chars)}
            object.__setattr__(self, "_cache", cache)
        return cache

    @classmethod
    def from_labels(cls, labels: Sequence[str]) -> Charset:
        """The sorted set of characters used by `labels`."""
        return cls("".join(sorted({c for text in labels for c in text})))


@dataclass(frozen=True)
class SpecialTokens:
    pad: int  # padding of teacher-forcing sequences: never a target (the loss's ignore_index)
    eos: int  # the decoder says the text is over
    bos: int  # the decoder's first input
    vocabulary: int  # the decoder's number of token ids


DIGITS = Charset("0123456789")
