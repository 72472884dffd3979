"""Domain errors. The API maps each kind to one HTTP status; the CLI prints the message."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from enum import StrEnum
from typing import TypeVar

from orderly.core.phrases import Phrase

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
    def unless_allowed(cls, what: str, allowed: Mapping[S, Collection[S]], current: S, target: S) -> None:
        """Refuse a move a state machine's table does not allow, naming what is allowed from here."""
        if target not in allowed[current]:
            named = ", ".join(sorted(allowed[current])) or "none (final)"
            raise cls(f"{what} cannot go from {current} to {target}; allowed from {current}: {named}")


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
