"""The inbox: every order a platform sent or we fetched, stored raw before it is processed.

Entries are keyed by (shop, order, version), the version being the platform's stamp and a digest of
the mapped order (``version_key``), so a webhook delivered twice and a poll of the same version are
one entry, two changes within one stamp (Shopify's are to the second) are two, and ingest is idempotent
on top. A version read from the platform again goes through ingest again, last. Processing maps each
entry and ingests the batch; an entry that fails ``INBOX_MAX_ATTEMPTS`` times keeps its error and
waits for a replay. A signed delivery the hub does not process is kept once per topic and content,
with its reason, never processed or replayed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from orderly.channels import domain
from orderly.channels import repository as repo
from orderly.channels.connector import Connector, RawOrder, UnusableDelivery
from orderly.channels.models import Shop
from orderly.channels.schemas import InboxEntryOut
from orderly.core import jsontext
from orderly.core.clock import utcnow
from orderly.core.db import collector_paused, engine_of, transaction
from orderly.core.errors import Conflict, NotFound
from orderly.core.text import escape_nul
from orderly.jobs.service import NewJob, enqueue
from orderly.orders.domain import IngestReport
from orderly.orders.ingest import ingest_batch
from orderly.orders.service import cancel_from_platform

#: The job that processes a shop's inbox.
INBOX = "process_inbox"
INBOX_BATCH = 2000
#: Workers that may process one shop's inbox at once on PostgreSQL (``process``).
INBOX_LANES = 4
#: Seconds before entries left for another worker's earlier ones are looked at again.
BEHIND_WAIT = 0.5
INBOX_MAX_ATTEMPTS = 5  # an entry that keeps failing to map waits for a replay
#: Sources that read what the platform shows now (a webhook tells of a moment that may have passed).
READS_CURRENT = frozenset({"poll", "reconcile", "backfill"})
#: The most of one webhook delivery the inbox keeps: a platform's order with hundreds of lines is well
#: under it. A larger delivery (the request gate lets in up to ``endpoints.WEBHOOK_BODY_MAX``) is kept
#: once, cut to this, with the reason, and not processed.
KEPT_BODY_MAX = 1 << 20


def process_job(shop_id: int, *, lane: int = 0, delay: float = 0.0) -> NewJob:
    """The job that processes the shop's inbox; one is queued per shop and lane at a time. Lanes past
    the first are helpers a long inbox calls in (PostgreSQL)."""
    key = f"inbox:{shop_id}" if lane == 0 else f"inbox:{shop_id}:{lane}"
    return NewJob(INBOX, {"shop_id": shop_id}, key=key, shop_id=shop_id, delay=delay)


# --- storing -------------------------------------------------------------------------------------------


def version_key(connector: Connector, raw: RawOrder) -> str:
    """The inbox version of a raw order (``domain.version_key``). The digest is of the mapped order
    (what the hub takes from it, so a webhook and a poll of one version agree however their payloads
    differ), or of the payload when it does not map."""
    try:
        content: Any = connector.map_order(raw)
    except Exception:  # the entry keeps its mapping error when it is processed
        content = raw.body
    return domain.version_key(raw.version, content)


def store(
    session: Session,
    connector: Connector,
    source: str,
    topic: str,
    raws: Sequence[RawOrder],
    text: bytes | None = None,
) -> None:
    """Keep raw orders in the inbox; ``text`` is the body exactly as received, when there is one. A
    platform's order id is kept as the column can (a NUL escaped: ingest rejects and names it)."""
    shop_id, now = connector.connection.shop_id, utcnow()
    keys = [(escape_nul(r.external_id)[:200], version_key(connector, r)) for r in raws]
    repo.add_entries(
        session,
        [
            (shop_id, source, topic, event_id, key, (text or jsontext.dumps(r.body)).decode(), now, 0)
            for r, (event_id, key) in zip(raws, keys, strict=True)
        ],
    )
    if source in READS_CURRENT:
        read = set(keys)
        stored = repo.versions_of(session, shop_id, [event for event, _ in read])
        repo.receive_again(session, domain.taken_again(stored, read), now)


def store_webhook(
    session: Session, shop: Shop, connector: Connector, headers: Any, body: bytes
) -> str | None:
    """Keep a verified delivery in the inbox and, for an order, wake the shop's inbox job. A delivery the
    hub does not process (another topic, one it cannot read, one too large to keep whole) is kept once
    per content, given up at once with its reason, which is returned."""
    if len(body) > KEPT_BODY_MAX:
        # Not parsed: it will not be processed, and its size is reason enough.
        topic = connector.webhook_topic(headers)
        reason = (
            f"{topic or 'a delivery'}: {len(body):,} bytes, more than the {KEPT_BODY_MAX:,} the hub keeps "
            f"of one: kept cut to that, not processed (polls and reconciliation read the order instead)"
        )
        _keep(session, shop.id, topic, reason, body)
        return reason
    try:
        event = connector.parse_webhook(headers, body)
    except UnusableDelivery as exc:
        _keep(session, shop.id, exc.topic, str(exc), body)
        return str(exc)
    if event.external_id is None:
        reason = f"{event.topic}: the hub processes only order events"
        _keep(session, shop.id, event.topic, reason, body)
        return reason
    # Order deliveries share their key with polls of the same version.
    raw = RawOrder(event.external_id, event.version or "-", event.body)
    store(session, connector, "webhook", event.topic[:64], [raw], body)
    enqueue(session, [process_job(shop.id)])
    return None


def _keep(session: Session, shop_id: int, topic: str, reason: str, body: bytes) -> None:
    """One entry per topic and content, whatever the delivery ids (a platform, or anyone replaying a
    signed delivery, sending it again adds nothing), never processed: it waits, with its reason, for a
    person. The body is kept as text the database can store, cut to ``KEPT_BODY_MAX`` bytes."""
    text = body[:KEPT_BODY_MAX].decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    row = (
        shop_id,
        "webhook",
        topic.replace("\x00", "")[:64],
        domain.kept_event_id(topic, body),
        "-",
        text,
        utcnow(),
        INBOX_MAX_ATTEMPTS,
        reason.replace("\x00", "")[:2000],
    )
    repo.add_entries(session, [row], with_error=True)


# --- processing ----------------------------------------------------------------------------------------


def process(factory: sessionmaker[Session], connector: Connector, *, helpers: bool = True) -> list[str]:
    """Map and ingest the shop's unprocessed entries, batch by batch; returns the orders that were new
    to the hub (those this call took in: with ``helpers``, others may take part of a long inbox)."""
    if engine_of(factory).dialect.name == "postgresql":
        return _process_shared(factory, connector, helpers=helpers)
    created: list[str] = []
    shop_id = connector.connection.shop_id
    while True:
        with transaction(factory) as session:
            entries = repo.unprocessed(session, shop_id, INBOX_MAX_ATTEMPTS, INBOX_BATCH)
        if not entries:
            return created
        with collector_paused():  # thousands of short-lived payload dicts, as in ingest
            mapped = _map(connector, entries)
            report = _ingest(factory, connector, mapped)
        with transaction(factory) as session:
            created += _record(session, connector, mapped, report)


def _process_shared(factory: sessionmaker[Session], connector: Connector, *, helpers: bool) -> list[str]:
    """PostgreSQL: several workers may process one shop's inbox at once. Each claims a batch of entries
    (``FOR UPDATE SKIP LOCKED``) in a transaction held open while the batch is ingested (in one of its
    own) and in which the batch is then recorded processed, so a batch is one worker's, and goes back
    to the inbox if the worker dies. The versions of one order are applied in the order received: an
    order with an earlier entry another worker holds is left, locked but untouched, for after it. A
    full batch calls ``INBOX_LANES`` helper jobs in, to share what follows."""
    created: list[str] = []
    shop_id = connector.connection.shop_id
    while True:
        with transaction(factory) as session:
            entries = repo.unprocessed(session, shop_id, INBOX_MAX_ATTEMPTS, INBOX_BATCH, claim=True)
            if not entries:
                return created
            later = repo.behind_others(session, [entry[0] for entry in entries], INBOX_MAX_ATTEMPTS)
            if later:
                # Whoever holds the earlier entries may be done before this transaction lets these go:
                # a job comes back for them.
                enqueue(session, [process_job(shop_id, delay=BEHIND_WAIT)])
                entries = [entry for entry in entries if entry[1] not in later]
            if helpers and len(entries) == INBOX_BATCH:
                with transaction(factory) as at_once:  # committed now, so idle workers start now
                    enqueue(at_once, [process_job(shop_id, lane=lane) for lane in range(1, INBOX_LANES)])
            with collector_paused():
                mapped = _map(connector, entries)
                report = _ingest(factory, connector, mapped)
            created += _record(session, connector, mapped, report)
        if not entries:
            return created  # everything claimed waits for another worker


@dataclass
class _Mapped:
    """A batch of entries mapped: what goes to ingest, and what becomes of each entry."""

    orders: list[dict[str, Any]] = field(default_factory=list)
    mapped_ids: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    waiting: list[int] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)


def _map(connector: Connector, entries: Sequence[Any]) -> _Mapped:
    mapped = _Mapped()
    for entry_id, event_id, version, body in entries:
        try:  # a payload that cannot be read must not stop the others
            raw = RawOrder(event_id, version, jsontext.loads(body))
            if not connector.ready(raw):
                mapped.waiting.append(entry_id)  # e.g. an Amazon order still Pending, without an address yet
                if connector.cancelled(raw):
                    mapped.cancelled.append(event_id)
                continue
            order = connector.map_order(raw)
            # The inbox already keeps every version verbatim: ingest need not store it a second time.
            order["raw"] = None
            mapped.orders.append(order)
            mapped.mapped_ids.append(entry_id)
        except Exception as exc:
            mapped.failed[entry_id] = escape_nul(f"cannot map: {type(exc).__name__}: {exc}")[:2000]
    return mapped


def _ingest(factory: sessionmaker[Session], connector: Connector, mapped: _Mapped) -> IngestReport | None:
    actor = f"sync:{connector.connection.shop_code}"
    return ingest_batch(factory, mapped.orders, actor=actor) if mapped.orders else None


def _record(
    session: Session, connector: Connector, mapped: _Mapped, report: IngestReport | None
) -> list[str]:
    """Settle the batch's entries once its orders are in; returns the orders new to the hub."""
    actor = f"sync:{connector.connection.shop_code}"
    cancel_from_platform(session, connector.connection.shop_id, mapped.cancelled, actor=actor)
    repo.mark_processed(session, mapped.mapped_ids + mapped.waiting, utcnow())
    repo.mark_failed(session, mapped.failed)
    return [item.external_id or "" for item in report.items if item.outcome == "created"] if report else []


# --- what a person sees and does ------------------------------------------------------------------------


def replay(session: Session, entry_ids: Sequence[int] | None = None) -> int:
    """Process inbox entries again (those given, or all that gave up); returns how many were reset.
    Deliveries kept unprocessed are never replayed: they would fail the same way."""
    if entry_ids is not None:
        refused = repo.kept_among(session, entry_ids, domain.KEPT)
        if refused:
            raise Conflict(
                f"inbox entr{'ies' if len(refused) > 1 else 'y'} {', '.join(map(str, refused))}: deliveries "
                "the hub does not process, kept with the reason (`orderly inbox list` shows it); a replay "
                "would change nothing",
                field="entry_ids",
            )
    reset = repo.reset_entries(session, entry_ids, max_attempts=INBOX_MAX_ATTEMPTS, kept_prefix=domain.KEPT)
    missing = sorted(set(entry_ids or ()) - set(reset))
    if missing:
        raise NotFound(f"no inbox entry {', '.join(map(str, missing))}: `orderly inbox list` shows them")
    enqueue(session, [process_job(shop_id) for shop_id in sorted(set(reset.values()))])
    return len(reset)


def list_inbox(
    session: Session, *, shop: str | None = None, failed: bool = False, after_id: int = 0, limit: int = 50
) -> list[InboxEntryOut]:
    """What each platform sent, oldest first; ``failed`` keeps the unprocessed entries that could not
    be mapped."""
    shop_id = None
    if shop is not None:
        shop_id = repo.shop_id_of(session, shop)
        if shop_id is None:
            raise NotFound(f"unknown shop {shop!r}", field="shop")
    return [
        InboxEntryOut(
            id=entry.id,
            shop=code,
            source=entry.source,
            topic=entry.topic,
            external_id=entry.event_id,
            version=entry.version,
            state=domain.inbox_state(
                processed=entry.processed_at is not None,
                event_id=entry.event_id,
                attempts=entry.attempts,
                failing=bool(entry.last_error),
                max_attempts=INBOX_MAX_ATTEMPTS,
            ),
            attempts=entry.attempts,
            last_error=entry.last_error,
            received_at=entry.received_at,
            processed_at=entry.processed_at,
        )
        for entry, code in repo.inbox_page(
            session, shop_id=shop_id, failed=failed, after_id=after_id, limit=limit
        )
    ]
