"""Domain errors. The API maps each kind to one HTTP status; the CLI prints the message."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from enum import StrEnum
from typing import TypeVar

from orderly.core.phrases import Arg, Phrase, listed

S = TypeVar("S", bound=StrEnum)


class DomainError(Exception):
    """A request that the domain refuses, with a message a person can act on.

    The message may be given as a :class:`~orderly.core.phrases.Phrase`: ``message`` is then its
    English (what the API and the CLI say) and ``phrase`` is kept for the console to say it in the
    viewer's language."""

    http_status = 400
    #: Every problem found, each ``{"field": ..., "message": ...}``, when a request can have several.
    errors: list[dict[str, str]] | None = None

    def __init__(self, message: str | Phrase, *, field: str | None = None) -> None:
        self.phrase = message if isinstance(message, Phrase) else None
        self.message = str(message)
        super().__init__(self.message)
        self.field = field


class NotFound(DomainError):
    http_status = 404


class Conflict(DomainError):
    http_status = 409


class OutOfRange(DomainError):
    """A figure beyond a bound the hub keeps (e.g. stock of a SKU in a warehouse): a wrong value."""

    http_status = 422


class InvalidTransition(Conflict):
    @classmethod
    def unless_allowed(
        cls,
        what: str | Phrase,
        allowed: Mapping[S, Collection[S]],
        current: S,
        target: S,
        *,
        words: Mapping[S, Phrase] | None = None,
    ) -> None:
        """Refuse a move a state machine's table does not allow, naming what is allowed from here; each
        status said by its word in ``words`` (its English the status itself) when given."""
        if target not in allowed[current]:

            def said(state: S) -> Arg:
                return (words or {}).get(state) or str(state)

            named = (
                listed([said(state) for state in sorted(allowed[current])], commas=True)
                if allowed[current]
                else Phrase("none (final)")
            )
            raise cls(
                Phrase(
                    "%(what)s cannot go from %(current)s to %(target)s; "
                    "allowed from %(current)s: %(allowed)s",
                    what=what,
                    current=said(current),
                    target=said(target),
                    allowed=named,
                )
            )


class InsufficientStock(Conflict):
    pass


def field_path(loc: Sequence[int | str]) -> str:
    """A validation error's location as people write it.

    ``("lines", 0, "quantity")`` becomes ``lines[0].quantity``.
    """
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path
