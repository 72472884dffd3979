"""API tokens: random, shown once, stored as SHA-256 (they carry 256 bits, so no slow hash is needed)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from orderly.auth.models import ApiToken
from orderly.core.clock import utcnow
from orderly.core.errors import NotFound

PREFIX = "oly_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    id: int
    name: str
    token: str  # the only time the secret is seen


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def create_token(session: Session, name: str) -> IssuedToken:
    secret = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, prefix=secret[:10], token_hash=_digest(secret), created_at=utcnow())
    session.add(row)
    session.flush()
    return IssuedToken(row.id, name, secret)


def authenticate(session: Session, token: str) -> ApiToken | None:
    """The live token with this secret, or None. The lookup is by hash; the compare is constant-time."""
    digest = _digest(token)
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None)))
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    now = utcnow()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return row


def list_tokens(session: Session) -> list[TokenInfo]:
    rows = session.scalars(select(ApiToken).order_by(ApiToken.id))
    return [TokenInfo(r.id, r.name, r.prefix, r.created_at, r.last_used_at, r.revoked_at) for r in rows]


def revoke_token(session: Session, token_id: int) -> None:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"no token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()


def has_tokens(session: Session) -> bool:
    return session.scalar(select(ApiToken.id).where(ApiToken.revoked_at.is_(None)).limit(1)) is not None
