"""API tokens: random, shown once, stored as SHA-256 (they carry 256 bits, so no slow hash is needed),
each with a scope (``auth.domain.Scope``) and perhaps an expiry."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from orderly.auth.domain import Scope
from orderly.auth.models import ApiToken
from orderly.core.clock import utcnow
from orderly.core.errors import DomainError, NotFound

PREFIX = "oly_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    id: int
    name: str
    scope: Scope
    expires_at: datetime | None
    token: str  # the only time the secret is seen


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    prefix: str
    scope: Scope
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class Holder:
    """What the secret of a live (unrevoked) token grants; expiry is checked at each use."""

    id: int
    name: str
    scope: Scope
    expires_at: datetime | None
    last_used_at: datetime | None


def create_token(
    session: Session, name: str, *, scope: Scope, expires_at: datetime | None = None
) -> IssuedToken:
    if expires_at is not None and expires_at <= utcnow():
        raise DomainError("the expiry must be in the future", field="expires_at")
    secret = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name,
        prefix=secret[:10],
        token_hash=digest(secret),
        scope=scope,
        created_at=utcnow(),
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return IssuedToken(row.id, name, scope, expires_at, secret)


def holder(session: Session, token_digest: str) -> Holder | None:
    """The live token with this digest (``digest(secret)``), or None. Only reads: the lookup is by the
    unique hash, which the secret's 256 bits make unguessable, so no constant-time compare is needed."""
    row = session.execute(
        select(ApiToken.id, ApiToken.name, ApiToken.scope, ApiToken.expires_at, ApiToken.last_used_at).where(
            ApiToken.token_hash == token_digest, ApiToken.revoked_at.is_(None)
        )
    ).one_or_none()
    return (
        None if row is None else Holder(row.id, row.name, Scope(row.scope), row.expires_at, row.last_used_at)
    )


def record_use(session: Session, token_id: int, at: datetime) -> None:
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=at))


def list_tokens(session: Session) -> list[TokenInfo]:
    rows = session.scalars(select(ApiToken).order_by(ApiToken.id))
    return [
        TokenInfo(
            r.id, r.name, r.prefix, Scope(r.scope), r.created_at, r.expires_at, r.last_used_at, r.revoked_at
        )
        for r in rows
    ]


def revoke_token(session: Session, token_id: int) -> None:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"no token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()


def has_admin(session: Session) -> bool:
    """Whether a live admin token (unrevoked, unexpired) remains, which can manage the others."""
    live = select(ApiToken.id).where(
        ApiToken.scope == Scope.ADMIN,
        ApiToken.revoked_at.is_(None),
        (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > utcnow()),
    )
    return session.scalar(live.limit(1)) is not None
