"""Domain errors. The API maps each kind to one HTTP status; the CLI prints the message."""

from __future__ import annotations


class DomainError(Exception):
    """A request that the domain refuses, with a message a person can act on."""

    http_status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    http_status = 404


class Conflict(DomainError):
    http_status = 409


class InvalidTransition(Conflict):
    pass


class InsufficientStock(Conflict):
    pass
