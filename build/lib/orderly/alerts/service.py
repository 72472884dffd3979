"""Raise and resolve alerts; one open alert per (kind, subject), however often the cause repeats."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from orderly.alerts.models import Alert
from orderly.core.clock import utcnow


def raise_alert(session: Session, kind: str, subject: str, message: str) -> None:
    open_alert = session.scalar(
        select(Alert)
        .where(Alert.kind == kind, Alert.subject == subject, Alert.resolved_at.is_(None))
        .limit(1)
    )
    if open_alert is None:
        session.add(Alert(kind=kind, subject=subject, message=message, created_at=utcnow()))
        session.flush()  # the session does not autoflush: a second raise in this transaction must see it
    else:
        open_alert.message = message


def resolve(session: Session, kind: str, subject: str) -> None:
    session.execute(
        update(Alert)
        .where(Alert.kind == kind, Alert.subject == subject, Alert.resolved_at.is_(None))
        .values(resolved_at=utcnow())
    )


def open_alerts(session: Session, *, limit: int = 200) -> list[Alert]:
    query = select(Alert).where(Alert.resolved_at.is_(None)).order_by(Alert.id.desc()).limit(limit)
    return list(session.scalars(query))
