"""API tokens, users, sign-in and sessions.

Tokens and session cookies are random (256 bits), shown once, stored as SHA-256 (no slow hash is
needed for that much entropy); passwords, chosen by people, are hashed with argon2id. A token carries
the role of its user (while active) or its own; a session its user's.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from orderly.auth.domain import (
    LOCALES,
    LOCK_WINDOW,
    SCOPE_ROLES,
    Role,
    Scope,
    after_failure,
    password_problem,
    permissions_of,
    session_live,
    username_key,
    username_problem,
)
from orderly.auth.models import ApiToken, SignInFailure, User, UserSession
from orderly.core.clock import utcnow, zone
from orderly.core.errors import Conflict, DomainError, NotFound
from orderly.core.web import Viewer

PREFIX = "oly_"
SESSION_LIFETIME = timedelta(hours=12)
SESSION_IDLE = timedelta(minutes=30)

_hasher = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters
# Checked against when the username is unknown, so both answers take the time of one hash.
_DUMMY = _hasher.hash("orderly: no such user")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    problem = password_problem(password)
    if problem:
        raise DomainError(f"password: {problem}", field="password")
    return _hasher.hash(password)


def password_matches(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class IssuedToken:
    id: int
    name: str
    role: Role
    user_id: int | None
    expires_at: datetime | None
    token: str  # the only time the secret is seen


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    prefix: str
    role: Role
    user_id: int | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class Holder:
    """What a live token or session grants; expiry (and a session's idleness) is checked at each use."""

    id: int
    kind: str  # "token" or "session"
    name: str  # the actor recorded: the user's username (their token's too), else the token's name
    user_id: int | None
    role: Role
    locale: str | None  # None: the hub's
    timezone: str | None
    csrf_token: str | None  # sessions only
    expires_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime

    def viewer(self, default_timezone: str) -> Viewer:
        return Viewer(
            self.user_id,
            self.name,
            self.role.value,
            permissions_of(self.role),
            self.locale or "en",
            self.timezone or default_timezone,
            self.csrf_token,
        )

    def live(self, now: datetime, last_used: datetime | None) -> bool:
        if self.kind == "token":
            return self.expires_at is None or now < self.expires_at
        assert self.expires_at is not None
        seen = max(filter(None, (self.last_used_at, last_used)), default=self.created_at)
        return now < self.expires_at and session_live(
            self.created_at, seen, now, lifetime=SESSION_LIFETIME, idle=SESSION_IDLE
        )


def create_token(
    session: Session,
    name: str,
    *,
    role: Role | None = None,
    user_id: int | None = None,
    scope: Scope | None = None,
    expires_at: datetime | None = None,
) -> IssuedToken:
    """A token for ``user_id`` (carrying that user's role), or with ``role`` (a ``scope`` names the role
    it became: read -> reader, write -> writer, admin -> admin)."""
    if expires_at is not None and expires_at <= utcnow():
        raise DomainError("the expiry must be in the future", field="expires_at")
    if user_id is not None:
        owner = session.get(User, user_id)
        if owner is None or not owner.active:
            raise NotFound(f"no active user {user_id}", field="user_id")
        role = Role(owner.role)
    elif role is None:
        role = SCOPE_ROLES[scope or Scope.WRITE]
    secret = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name,
        prefix=secret[:10],
        token_hash=digest(secret),
        role=role,
        user_id=user_id,
        created_at=utcnow(),
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return IssuedToken(row.id, name, role, user_id, expires_at, secret)


def holder(session: Session, token_digest: str) -> Holder | None:
    """The live token or session with this digest (``digest(secret)``), or None. Only reads: the lookup
    is by the unique hash, which the secret's 256 bits make unguessable, so no constant-time compare is
    needed."""
    token = session.execute(
        select(ApiToken, User)
        .outerjoin(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == token_digest, ApiToken.revoked_at.is_(None))
    ).one_or_none()
    if token is not None:
        row, user = token
        if user is not None and not user.active:
            return None
        return Holder(
            row.id,
            "token",
            user.username if user is not None else row.name,
            row.user_id,
            Role(user.role if user is not None else row.role),
            user.locale if user is not None else None,
            user.timezone if user is not None else None,
            None,
            row.expires_at,
            row.last_used_at,
            row.created_at,
        )
    signed = session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == token_digest, User.active.is_(True))
    ).one_or_none()
    if signed is None:
        return None
    kept, user = signed
    return Holder(
        kept.id,
        "session",
        user.username,
        user.id,
        Role(user.role),
        user.locale,
        user.timezone,
        kept.csrf_token,
        kept.expires_at,
        kept.last_seen_at,
        kept.created_at,
    )


def record_use(session: Session, kind: str, holder_id: int, at: datetime) -> None:
    if kind == "session":
        session.execute(update(UserSession).where(UserSession.id == holder_id).values(last_seen_at=at))
    else:
        session.execute(update(ApiToken).where(ApiToken.id == holder_id).values(last_used_at=at))


def list_tokens(session: Session) -> list[TokenInfo]:
    rows = session.scalars(select(ApiToken).order_by(ApiToken.id))
    return [
        TokenInfo(
            r.id,
            r.name,
            r.prefix,
            Role(r.role),
            r.user_id,
            r.created_at,
            r.expires_at,
            r.last_used_at,
            r.revoked_at,
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
        ApiToken.role == Role.ADMIN,
        ApiToken.user_id.is_(None),
        ApiToken.revoked_at.is_(None),
        (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > utcnow()),
    )
    return session.scalar(live.limit(1)) is not None


# Users.


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    display_name: str
    role: Role
    locale: str
    timezone: str
    active: bool
    created_at: datetime
    updated_at: datetime


def _info(row: User) -> UserInfo:
    return UserInfo(
        row.id,
        row.username,
        row.display_name,
        Role(row.role),
        row.locale,
        row.timezone,
        row.active,
        row.created_at,
        row.updated_at,
    )


def _checked_locale(locale: str) -> str:
    if locale not in LOCALES:
        raise DomainError(f"locale: one of {', '.join(LOCALES)}", field="locale")
    return locale


def _checked_timezone(name: str) -> str:
    try:
        zone(name)
    except ValueError as error:
        raise DomainError(f"timezone: {error}", field="timezone") from None
    return name


def create_user(
    session: Session,
    username: str,
    password: str,
    *,
    role: Role,
    timezone: str,
    display_name: str | None = None,
    locale: str = "en",
) -> UserInfo:
    problem = username_problem(username)
    if problem:
        raise DomainError(f"username: {problem}", field="username")
    key = username_key(username)
    if session.scalar(select(User.id).where(User.username == key)) is not None:
        raise Conflict(f"a user '{key}' exists already", field="username")
    now = utcnow()
    row = User(
        username=key,
        display_name=(display_name or "").strip() or key,
        password_hash=hash_password(password),
        role=Role(role),
        locale=_checked_locale(locale),
        timezone=_checked_timezone(timezone),
        active=True,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return _info(row)


def list_users(session: Session) -> list[UserInfo]:
    return [_info(row) for row in session.scalars(select(User).order_by(User.id))]


def _user(session: Session, user_id: int) -> User:
    row = session.get(User, user_id)
    if row is None:
        raise NotFound(f"no user {user_id}")
    return row


def user_id_of(session: Session, username: str) -> int:
    found = session.scalar(select(User.id).where(User.username == username_key(username)))
    if found is None:
        raise NotFound(f"no user '{username_key(username)}'", field="username")
    return found


def get_user(session: Session, user_id: int) -> UserInfo:
    return _info(_user(session, user_id))


def update_user(
    session: Session,
    user_id: int,
    *,
    display_name: str | None = None,
    role: Role | None = None,
    locale: str | None = None,
    timezone: str | None = None,
    active: bool | None = None,
) -> UserInfo:
    """Change what is given. Deactivating (never deleting: the audit log names the user) ends the
    user's sessions; their tokens stop working while the user is inactive."""
    row = _user(session, user_id)
    if (role is not None and role != Role.ADMIN) or active is False:
        _keep_an_admin(session, row)
    if display_name is not None:
        row.display_name = display_name.strip() or row.username
    if role is not None:
        row.role = Role(role)
    if locale is not None:
        row.locale = _checked_locale(locale)
    if timezone is not None:
        row.timezone = _checked_timezone(timezone)
    if active is not None:
        row.active = active
        if not active:
            session.execute(delete(UserSession).where(UserSession.user_id == user_id))
    row.updated_at = utcnow()
    session.flush()
    return _info(row)


def _keep_an_admin(session: Session, row: User) -> None:
    """The last active admin stays one: nobody could manage users otherwise."""
    if row.role != Role.ADMIN or not row.active:
        return
    admins = session.scalar(
        select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.active.is_(True))
    )
    if admins == 1:
        raise Conflict("this is the last active admin: make another admin first", field="role")


def set_password(session: Session, user_id: int, password: str) -> None:
    """A new password (an admin's reset, or the user's own change): every session ends, and a lock
    from failed sign-ins is lifted."""
    row = _user(session, user_id)
    row.password_hash = hash_password(password)
    row.updated_at = utcnow()
    session.execute(delete(UserSession).where(UserSession.user_id == user_id))
    session.execute(delete(SignInFailure).where(SignInFailure.username == row.username))


def change_password(session: Session, user_id: int, old: str, new: str) -> None:
    row = _user(session, user_id)
    if not password_matches(row.password_hash, old):
        raise DomainError("the current password is wrong", field="old_password")
    set_password(session, user_id, new)


def has_admin_user(session: Session) -> bool:
    return session.scalar(select(User.id).where(User.role == Role.ADMIN).limit(1)) is not None


# Signing in.


class SignInRefused(DomainError):
    """The same answer for an unknown user, a wrong password and an inactive user."""

    http_status = 401

    def __init__(self) -> None:
        super().__init__("the username or password is wrong")


class SignInLocked(DomainError):
    http_status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many failed sign-ins for this username: try again in {retry_after} s", field="username"
        )
        self.retry_after = retry_after


def sign_in(session: Session, username: str, password: str, client: str) -> tuple[str, Viewer]:
    """A new session for the user whose password this is: (the cookie's value, who is signed in).
    Refused with :class:`SignInLocked` while the username is locked, else :class:`SignInRefused`,
    after which the caller records the failure in a transaction of its own
    (:func:`record_failed_sign_in`: this one is rolled back)."""
    key = username_key(username)
    now = utcnow()
    failed = session.get(SignInFailure, key)
    if failed is not None and failed.locked_until is not None and failed.locked_until > now:
        raise SignInLocked(max(1, int((failed.locked_until - now).total_seconds() + 0.999)))
    user = session.scalar(select(User).where(User.username == key))
    matches = password_matches(user.password_hash if user is not None else _DUMMY, password)
    if user is None or not user.active or not matches:
        raise SignInRefused
    if failed is not None:
        session.delete(failed)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    cookie = secrets.token_urlsafe(32)
    row = UserSession(
        token_hash=digest(cookie),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        client=client[:100],
        created_at=now,
        last_seen_at=now,
        expires_at=now + SESSION_LIFETIME,
    )
    session.add(row)
    session.flush()
    viewer = Viewer(
        user.id,
        user.username,
        user.role,
        permissions_of(user.role),
        user.locale,
        user.timezone,
        row.csrf_token,
    )
    return cookie, viewer


def record_failed_sign_in(session: Session, username: str) -> bool:
    """Count one more failure for the username; True when it locks the username."""
    key = username_key(username)[:64]
    now = utcnow()
    row = session.get(SignInFailure, key, with_for_update=True)
    failures, since, locked = after_failure(
        row.failures if row else 0, row.first_failed_at if row else None, now
    )
    if row is None:
        session.add(
            SignInFailure(username=key, failures=failures, first_failed_at=since, locked_until=locked)
        )
    else:
        row.failures, row.first_failed_at, row.locked_until = failures, since, locked
    return locked is not None


def sign_out(session: Session, cookie_value: str) -> None:
    """End the session with this cookie; an unknown or ended one changes nothing."""
    session.execute(delete(UserSession).where(UserSession.token_hash == digest(cookie_value)))


#: The database's record of a session's last use is written up to a minute late (``auth/gate.py``):
#: a session is swept as idle only this long after it would have ended, so none still in use goes.
SWEEP_MARGIN = timedelta(minutes=2)


def sweep_sessions(session: Session) -> int:
    """Delete the sessions that have ended (past their lifetime, or idle) and the failed sign-in
    counters that count for nothing any more (their window passed, no lock left); how many sessions."""
    now = utcnow()
    ended = (UserSession.expires_at <= now) | (UserSession.last_seen_at <= now - SESSION_IDLE - SWEEP_MARGIN)
    swept = session.execute(delete(UserSession).where(ended))
    unlocked = SignInFailure.locked_until.is_(None) | (SignInFailure.locked_until <= now)
    session.execute(delete(SignInFailure).where(SignInFailure.first_failed_at <= now - LOCK_WINDOW, unlocked))
    return int(swept.rowcount or 0)  # type: ignore[attr-defined]
