"""The audit log: who changed what. Every successful change a signed-in caller makes over HTTP (the
API's routes and the console's pages: ``core.web.AuditTrail``, through ``gate.TokenGate.audit``) is
recorded: who (user or token, role), the route and the path parameters naming what was changed, the
status, the client address and when."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderly.auth.models import AuditEvent
from orderly.core.clock import utcnow

if TYPE_CHECKING:
    from orderly.auth.service import Holder


def subject(route: str, params: Mapping[str, str]) -> tuple[str | None, str | None]:
    """What a route changes, by its path: the word before its first parameter, made singular
    (``/orders/{order_id}/hold`` -> ``("order", "7")``, ``/shops/{code}`` -> ``("shop", "acme")``);
    a route naming nothing (``/stock/receive``) has no subject."""
    parts = route.strip("/").split("/")
    for index, part in enumerate(parts):
        if part.startswith("{") and index:
            name = part.strip("{}").split(":")[0]
            kind = parts[index - 1]
            return (kind[:-1] if kind.endswith("s") else kind), params.get(name)
    return None, None


def record_change(
    session: Session,
    who: Holder,
    role: str,
    method: str,
    route: str,
    params: Mapping[str, str],
    status_code: int,
    client: str,
    summary: str | None = None,
) -> None:
    action = f"{method} {route.removeprefix('/api/v1')}"
    kind, subject_id = subject(action.split(" ", 1)[1], params)
    named = ", ".join(f"{k}={v}" for k, v in params.items())
    session.add(
        AuditEvent(
            at=utcnow(),
            actor=who.name,
            user_id=who.user_id,
            token_id=who.id if who.kind == "token" else None,
            role=role,
            action=action[:120],
            subject_kind=kind,
            subject_id=None if subject_id is None else subject_id[:200],
            params=dict(params),
            status=status_code,
            client=client[:100],
            summary=(summary or f"{action}{f' ({named})' if named else ''}: {status_code}")[:300],
        )
    )


def record_sign_in(
    session: Session,
    username: str,
    *,
    route: str,
    status_code: int,
    client: str,
    outcome: str,
    user_id: int | None = None,
    role: str = "",
) -> None:
    """A sign-in attempt, as typed: the username (never the password), the address, and how it went
    (signed in, refused, locked out). Its subject is the user the name names, known or not."""
    name = username.replace("\x00", "\ufffd").strip()[:100]  # kept whatever was typed
    action = f"POST {route.removeprefix('/api/v1')}"
    session.add(
        AuditEvent(
            at=utcnow(),
            actor=name,
            user_id=user_id,
            token_id=None,
            role=role,
            action=action[:120],
            subject_kind="user",
            subject_id=name,
            params={},
            status=status_code,
            client=client[:100],
            summary=f"{action}: {outcome}"[:300],
        )
    )


#: The routes people sign in by (the API's and the console's form), as the log names them.
SIGN_IN_ACTIONS = ("POST /auth/sign-in", "POST /sign-in")


def last_sign_ins(session: Session, usernames: Sequence[str]) -> dict[str, datetime]:
    """When each of these users last signed in, as the log recorded it (users who never did since
    sign-ins were recorded are left out)."""
    query = (
        select(AuditEvent.actor, func.max(AuditEvent.at))
        .where(
            AuditEvent.actor.in_(list(usernames)),
            AuditEvent.action.in_(SIGN_IN_ACTIONS),
            AuditEvent.status == 200,
        )
        .group_by(AuditEvent.actor)
    )
    return {actor: at for actor, at in session.execute(query)}


def subject_kinds(session: Session) -> list[str]:
    """The kinds of thing the log's events are about (from the subject index)."""
    query = select(AuditEvent.subject_kind).where(AuditEvent.subject_kind.is_not(None)).distinct()
    return sorted(kind for kind in session.scalars(query) if kind is not None)


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    subject_kind: str | None = None
    subject_id: str | None = None
    action: str | None = None  # a part of the action: "hold", "POST /orders"
    since: datetime | None = None
    until: datetime | None = None


def events(session: Session, where: AuditFilter, *, limit: int, before_id: int | None) -> list[AuditEvent]:
    """The newest first, ``limit + 1`` rows (one more tells whether a page follows)."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit + 1)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    if where.actor is not None:
        query = query.where(AuditEvent.actor == where.actor)
    if where.subject_kind is not None:
        query = query.where(AuditEvent.subject_kind == where.subject_kind)
    if where.subject_id is not None:
        query = query.where(AuditEvent.subject_id == where.subject_id)
    if where.action is not None:
        query = query.where(AuditEvent.action.contains(where.action, autoescape=True))
    if where.since is not None:
        query = query.where(AuditEvent.at >= where.since)
    if where.until is not None:
        query = query.where(AuditEvent.at < where.until)
    return list(session.scalars(query))
