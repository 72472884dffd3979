"""Signing in over HTTP, shared by the API (``auth/endpoints.py``) and the console's pages: the
per-address throttle, the use case in one transaction and a failure recorded in another, the cookie.

Who is signed in, and what they may do, is ``core.web``'s (``Viewer``, ``signed_in``, ``SignedIn``,
``require``), re-exported here for the pages."""

from __future__ import annotations

import math

from fastapi import HTTPException, Request, Response, status
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from orderly.auth import audit, service
from orderly.auth.domain import LOCK_FOR
from orderly.auth.gate import TokenGate, client_address
from orderly.auth.service import SignInLocked, SignInRefused
from orderly.core.db import transaction
from orderly.core.web import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    SignedIn,
    Viewer,
    require,
    signed_in,
)

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "SignedIn",
    "Viewer",
    "clear_session_cookie",
    "require",
    "set_session_cookie",
    "sign_in_request",
    "sign_out_request",
    "signed_in",
]


def _sign_in(
    factory: sessionmaker[Session], username: str, password: str, client: str, route: str
) -> tuple[str, Viewer]:
    """Sign in, the attempt recorded in the audit log however it goes (with the session it opens, or
    in a transaction of its own when refused)."""

    def record(
        session: Session, code: int, outcome: str, user_id: int | None = None, role: str = "", name: str = ""
    ) -> None:
        audit.record_sign_in(
            session,
            name or username,
            route=route,
            status_code=code,
            client=client,
            outcome=outcome,
            user_id=user_id,
            role=role,
        )

    if "\x00" in username:  # no username holds one (PostgreSQL text cannot): refused before any lookup
        with transaction(factory) as session:
            record(session, 401, "refused: the username holds a NUL", name=username.replace("\x00", "\\0"))
        raise SignInRefused
    try:
        with transaction(factory) as session:
            cookie, viewer = service.sign_in(session, username, password, client)
            record(session, 200, "signed in", viewer.user_id, viewer.role, viewer.name)  # their username
            return cookie, viewer
    except SignInRefused as refused:
        with transaction(factory) as session:
            locked = service.record_failed_sign_in(session, username)
            lock = f"; the username is locked for {int(LOCK_FOR.total_seconds()) // 60} min" if locked else ""
            record(session, refused.http_status, f"refused: {refused.message}{lock}")
        raise
    except SignInLocked as locked_out:
        with transaction(factory) as session:
            record(session, locked_out.http_status, f"locked out: {locked_out.message}")
        raise


async def sign_in_request(
    request: Request, factory: sessionmaker[Session], username: str, password: str
) -> tuple[str, Viewer]:
    """(the cookie's value, who signed in), or ``SignInRefused`` (401: the same for an unknown user and a
    wrong password) or ``SignInLocked`` / an ``HTTPException`` (429 with ``Retry-After``): too many
    failures for the username, or from the address."""
    gate: TokenGate = request.app.state.tokens
    address = client_address(request)
    wait = gate.throttle.wait(address)
    if wait:
        seconds = math.ceil(wait)
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many failed sign-ins or API tokens from this address: try again in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )
    try:
        # argon2 takes tens of milliseconds of CPU: off the event loop.
        route = request.scope["route"].path
        return await run_in_threadpool(_sign_in, factory, username, password, address, route)
    except SignInRefused:
        gate.throttle.failed(address)
        raise
    except SignInLocked as locked:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            locked.message,
            headers={"Retry-After": str(locked.retry_after)},
        ) from None


def set_session_cookie(request: Request, response: Response, cookie: str) -> None:
    """HTTP-only (no script reads it), SameSite=Lax (not sent on other sites' forms), Secure over
    HTTPS or when ``ORDERLY_SECURE_COOKIES`` says the hub is reached through HTTPS."""
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(service.SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https" or request.app.state.settings.secure_cookies,
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https" or request.app.state.settings.secure_cookies,
    )


async def sign_out_request(request: Request, response: Response, factory: sessionmaker[Session]) -> None:
    """End the request's session (if it came with one) and clear its cookie."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:

        def end() -> None:
            with transaction(factory) as session:
                service.sign_out(session, cookie)

        await run_in_threadpool(end)
        gate: TokenGate = request.app.state.tokens
        gate.forget_secret(cookie)
    clear_session_cookie(request, response)
