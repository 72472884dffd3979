"""Signing in and out, one's own profile, users, API tokens and the audit log over HTTP.

Sign-in is the one route here open to all; the profile (``/auth/me``) is every signed-in caller's;
users, tokens and the audit log are the admin's. A token's secret is returned once, when it is made.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response, status
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from orderly.auth import audit, service
from orderly.auth.domain import Role
from orderly.auth.gate import TokenGate
from orderly.auth.schemas import (
    AuditEventOut,
    IssuedTokenOut,
    MeIn,
    PasswordIn,
    SignInIn,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    UserPatch,
    ViewerOut,
)
from orderly.auth.web import set_session_cookie, sign_in_request, sign_out_request
from orderly.core.clock import range_end, range_start
from orderly.core.db import transaction
from orderly.core.errors import DomainError
from orderly.core.pagination import Page, decode_cursor, paginate
from orderly.core.text import StorableStr
from orderly.core.web import (
    Cursor,
    DateZoneOf,
    DayOrTime,
    DbSession,
    ErrorOut,
    Factory,
    Limit,
    ReadSession,
    SignedIn,
    Viewer,
    api_router,
    id_path,
)

router = api_router("auth", area="tokens", admin=True)
sign_in_router = api_router("auth", public=True)
account = api_router("auth", area="account")
users = api_router("users", admin=True)
audit_log = api_router("audit")

TokenId = Annotated[int, id_path("token")]
UserId = Annotated[int, id_path("user")]


def _gate(request: Request) -> TokenGate:
    gate: TokenGate = request.app.state.tokens
    return gate


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(session: ReadSession) -> list[TokenOut]:
    """Every token, revoked ones included; never the secrets."""
    return [TokenOut.model_validate(info) for info in service.list_tokens(session)]


@router.post("/tokens", response_model=IssuedTokenOut, status_code=status.HTTP_201_CREATED)
def create_token(session: DbSession, body: TokenIn) -> IssuedTokenOut:
    """A token of a user (carrying the user's role) or with a role (`writer` unless asked), perhaps
    with an expiry."""
    issued = service.create_token(
        session, body.name, role=body.role, user_id=body.user_id, scope=body.scope, expires_at=body.expires_at
    )
    return IssuedTokenOut.model_validate(issued)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(request: Request, factory: Factory, token_id: TokenId) -> None:
    """Revoke: refused from the next request on by this hub process, within seconds by others;
    revoking a revoked token changes nothing."""
    with transaction(factory) as session:
        service.revoke_token(session, token_id)
    _gate(request).forget(token_id=token_id)  # once committed: a check made before would find it live


def _viewer_out(session: Session, viewer: Viewer) -> ViewerOut:
    user = service.get_user(session, viewer.user_id) if viewer.user_id is not None else None
    return ViewerOut(
        user_id=viewer.user_id,
        name=viewer.name,
        display_name=user.display_name if user is not None else None,
        role=Role(viewer.role),
        permissions=sorted(viewer.permissions),
        locale=viewer.locale,
        timezone=viewer.timezone,
        csrf_token=viewer.csrf_token,
    )


@sign_in_router.post(
    "/auth/sign-in",
    response_model=ViewerOut,
    responses={
        401: {"model": ErrorOut, "description": "The username or password is wrong (the same for both)."}
    },
)
async def sign_in(request: Request, response: Response, factory: Factory, body: SignInIn) -> ViewerOut:
    """Sign in: sets the HTTP-only session cookie `orderly_session`, and answers who signed in with the
    session's `csrf_token`. Failures from one address, or for one username, are limited: 429 with
    `Retry-After`; the username is locked for 15 minutes after 5 failures in 15 minutes, known or not."""
    cookie, viewer = await sign_in_request(request, factory, body.username, body.password)
    set_session_cookie(request, response, cookie)
    return await run_in_threadpool(_described, request.app.state.read_factory, viewer)


def _described(factory: sessionmaker[Session], viewer: Viewer) -> ViewerOut:
    with transaction(factory) as session:
        return _viewer_out(session, viewer)


@account.post("/auth/sign-out", status_code=status.HTTP_204_NO_CONTENT)
async def sign_out(request: Request, response: Response, factory: Factory, viewer: SignedIn) -> None:
    """End this session (a bearer token stays valid: revoke it instead) and clear its cookie."""
    await sign_out_request(request, response, factory)


@account.get("/auth/me", response_model=ViewerOut)
def me(session: ReadSession, viewer: SignedIn) -> ViewerOut:
    """Who is signed in: user, role, permissions, locale, time zone and the session's CSRF token."""
    return _viewer_out(session, viewer)


@account.patch("/auth/me", response_model=ViewerOut)
def update_me(request: Request, factory: Factory, viewer: SignedIn, body: MeIn) -> ViewerOut:
    """One's own locale, time zone, display name; a new password with the current one (every session
    ends, this one too: sign in again)."""
    if viewer.user_id is None:
        raise DomainError("a token of no user has no profile to change", field="user_id")
    with transaction(factory) as session:
        service.update_user(
            session,
            viewer.user_id,
            display_name=body.display_name,
            locale=body.locale,
            timezone=body.timezone,
        )
        if body.new_password is not None:
            service.change_password(session, viewer.user_id, body.old_password or "", body.new_password)
    _gate(request).forget(user_id=viewer.user_id)
    return _described(
        request.app.state.read_factory,
        Viewer(
            viewer.user_id,
            viewer.name,
            viewer.role,
            viewer.permissions,
            body.locale or viewer.locale,
            body.timezone or viewer.timezone,
            None if body.new_password is not None else viewer.csrf_token,
        ),
    )


@users.get("/users", response_model=list[UserOut])
def list_users(session: ReadSession) -> list[UserOut]:
    """Every user, deactivated ones included."""
    return [UserOut.model_validate(u) for u in service.list_users(session)]


@users.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def create_user(request: Request, session: DbSession, body: UserIn) -> UserOut:
    """A user with a role and a first password (at least 10 characters)."""
    created = service.create_user(
        session,
        body.username,
        body.password,
        role=body.role,
        display_name=body.display_name,
        locale=body.locale,
        timezone=body.timezone or request.app.state.settings.timezone,
    )
    return UserOut.model_validate(created)


@users.get("/users/{user_id}", response_model=UserOut)
def get_user(session: ReadSession, user_id: UserId) -> UserOut:
    return UserOut.model_validate(service.get_user(session, user_id))


@users.patch("/users/{user_id}", response_model=UserOut)
def update_user(request: Request, factory: Factory, user_id: UserId, body: UserPatch) -> UserOut:
    """Change a user's name, role, locale, time zone; `active: false` deactivates (users are never
    deleted: the audit log names them). The last active admin stays one."""
    with transaction(factory) as session:
        updated = service.update_user(
            session,
            user_id,
            display_name=body.display_name,
            role=body.role,
            locale=body.locale,
            timezone=body.timezone,
            active=body.active,
        )
    _gate(request).forget(user_id=user_id)
    return UserOut.model_validate(updated)


@users.post("/users/{user_id}/password", status_code=status.HTTP_204_NO_CONTENT)
def reset_password(request: Request, factory: Factory, user_id: UserId, body: PasswordIn) -> None:
    """Set a user's password (they forgot it): their sessions end and a sign-in lock is lifted."""
    with transaction(factory) as session:
        service.set_password(session, user_id, body.password)
    _gate(request).forget(user_id=user_id)


@audit_log.get("/audit", response_model=Page[AuditEventOut])
def list_audit(
    session: ReadSession,
    zones: DateZoneOf,
    limit: Limit = 100,
    cursor: Cursor = None,
    actor: Annotated[
        StorableStr | None, Query(max_length=100, description="a username or token name")
    ] = None,
    subject_kind: Annotated[
        StorableStr | None, Query(max_length=40, description="e.g. order, shop, rule")
    ] = None,
    subject_id: Annotated[StorableStr | None, Query(max_length=200)] = None,
    action: Annotated[
        StorableStr | None, Query(max_length=120, description="a part of 'METHOD /route'")
    ] = None,
    since: DayOrTime | None = None,
    until: DayOrTime | None = None,
) -> Page[AuditEventOut]:
    """Who changed what, newest first."""
    where = zones.of(None)
    rows = audit.events(
        session,
        audit.AuditFilter(
            actor=actor,
            subject_kind=subject_kind,
            subject_id=subject_id,
            action=action,
            since=None if since is None else range_start(since, where),
            until=None if until is None else range_end(until, where),
        ),
        limit=limit,
        before_id=decode_cursor(cursor) if cursor else None,
    )
    page, next_cursor = paginate(rows, limit, lambda row: row.id)
    return Page[AuditEventOut](items=[AuditEventOut.model_validate(r) for r in page], next_cursor=next_cursor)
