"""Backfills: a shop's orders updated since a chosen date, older than its first poll reached. The job
that reads the window (``tasks.backfill_orders``) records its progress on the backfill's row."""

from __future__ import annotations

from sqlalchemy.orm import Session

from orderly.channels import repository as repo
from orderly.channels import service as shops
from orderly.channels.models import Backfill
from orderly.channels.schemas import BackfillIn, BackfillOut
from orderly.core.clock import utcnow
from orderly.core.errors import Conflict, DomainError, NotFound
from orderly.jobs import service as jobs
from orderly.jobs.models import Job
from orderly.jobs.service import NewJob, enqueue

#: The job that reads a backfill's window.
BACKFILL = "backfill_orders"


def backfill_job(backfill_id: int, shop_id: int, *, delay: float = 0.0) -> NewJob:
    return NewJob(BACKFILL, {"backfill_id": backfill_id}, key=_key(backfill_id), shop_id=shop_id, delay=delay)


def _key(backfill_id: int) -> str:
    return f"{BACKFILL}:{backfill_id}"


def start_backfill(session: Session, code: str, data: BackfillIn) -> BackfillOut:
    """Queue the import of the shop's orders updated since ``data.since``; one per shop at a time."""
    shop = shops.get_shop(session, code, lock=True)
    if not shop.sync_enabled:  # syncing shops are those with a connector and an address
        raise DomainError(
            f"shop {code!r} does not sync: `orderly shop connect {code} --enable` first", field="shop"
        )
    now = utcnow()
    until = min(data.until or now, now)
    if data.since >= until:
        raise DomainError(f"since must be before {until.isoformat()}", field="since")
    running = repo.running_backfill(session, shop.id)
    if running is not None:
        raise Conflict(f"backfill {running} of shop {code!r} is still running", field="shop")
    backfill = Backfill(shop_id=shop.id, since=data.since, until=until, reached=data.since, orders=0)
    session.add(backfill)
    session.flush()
    enqueue(session, [backfill_job(backfill.id, shop.id)])
    return _out(code, backfill, jobs.latest(session, BACKFILL, [_key(backfill.id)]).get(_key(backfill.id)))


def backfills(session: Session, code: str, backfill_id: int | None = None) -> list[BackfillOut]:
    """The shop's backfills, newest first (or the one asked for), each with its progress and job."""
    shop = shops.get_shop(session, code)
    found = repo.backfills_of(session, shop.id, backfill_id)
    if backfill_id is not None and not found:
        raise NotFound(f"shop {code!r} has no backfill {backfill_id}", field="backfill_id")
    latest = jobs.latest(session, BACKFILL, [_key(b.id) for b in found])
    return [_out(code, b, latest.get(_key(b.id))) for b in found]


def _out(code: str, backfill: Backfill, job: Job | None) -> BackfillOut:
    span = (backfill.until - backfill.since).total_seconds()
    done = backfill.finished_at is not None
    return BackfillOut(
        id=backfill.id,
        shop=code,
        since=backfill.since,
        until=backfill.until,
        reached=backfill.reached,
        orders=backfill.orders,
        progress=1.0 if done else min(1.0, (backfill.reached - backfill.since).total_seconds() / span),
        status="done" if done else ("dead" if job is not None and job.status == "dead" else "running"),
        job_id=job.id if job is not None else None,
        last_error=job.last_error if job is not None else None,
        created_at=backfill.created_at,
        finished_at=backfill.finished_at,
    )
