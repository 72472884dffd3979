"""What a token may do: its scope, by the request it makes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class Scope(StrEnum):
    """Each scope includes the ones before it: ``admin`` may write, ``write`` may read."""

    READ = "read"  # GET and HEAD
    WRITE = "write"  # every request that changes something
    ADMIN = "admin"  # managing tokens, and shops: their credentials and where those are sent

    def allows(self, needed: Scope) -> bool:
        order = list(Scope)
        return order.index(self) >= order.index(needed)


#: The scope a request needs by its method; a route may ask for more (``core.web.require_admin``).
def needed_by(method: str) -> Scope:
    return Scope.READ if method in {"GET", "HEAD"} else Scope.WRITE


def expired(expires_at: datetime | None, now: datetime) -> bool:
    """A token stops working at its expiry; one without an expiry works until it is revoked."""
    return expires_at is not None and expires_at <= now
