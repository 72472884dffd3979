"""Orders ingest refuses: each is kept in ``ingest_rejections`` with every reason and its payload as it
came, to be replayed once the cause is fixed; an order refused again renews its open rejection, and
one that goes in closes it."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from orderly.core.clock import utcnow
from orderly.core.text import escape_nul, escape_nul_json
from orderly.orders import repository as repo
from orderly.orders.domain import ItemResult

log = logging.getLogger(__name__)


@dataclass
class Rejection:
    index: int  # in the batch
    payload: Any
    errors: list[dict[str, str]]


def key_of(payload: Any) -> tuple[str | None, str | None]:
    """The shop and order a rejected item names, as the columns keep them: a NUL, which PostgreSQL
    cannot store, escaped (the errors name it)."""
    if not isinstance(payload, Mapping):
        return None, None
    shop, external_id = payload.get("shop"), payload.get("external_id")
    return (
        escape_nul(str(shop))[:64] if shop is not None else None,
        escape_nul(str(external_id))[:200] if external_id is not None else None,
    )


def store(
    session: Session, rejected: list[Rejection], replaying: Sequence[int] | None, actor: str
) -> list[ItemResult]:
    """Keep the rejections, or renew those ``replaying`` names (the rejection each item replays)."""
    now = utcnow()
    items: list[ItemResult] = []
    fresh_rows, fresh_items, replayed_rows = [], [], []
    for rej in sorted(rejected, key=lambda r: r.index):
        shop, external_id = key_of(rej.payload)
        errors = escape_nul_json(rej.errors)
        reason = "; ".join(f"{e['field']}: {e['message']}" for e in errors)[:2000]
        item = ItemResult(rej.index, shop, external_id, "rejected", errors=errors)
        items.append(item)
        if replaying is not None:
            item.rejection_id = replaying[rej.index]
            replayed_rows.append(
                {"id": item.rejection_id, "reason": reason, "errors": errors, "updated_at": now}
            )
            continue
        fresh_items.append(item)
        fresh_rows.append(
            {
                "shop_code": shop,
                "external_id": external_id,
                "status": "open",
                "reason": reason,
                "errors": errors,
                "payload": escape_nul_json(rej.payload),
                "attempts": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
    _insert_or_renew(session, fresh_items, fresh_rows)
    repo.update_rejections(session, replayed_rows)
    if items:
        log.info("%d orders rejected by %s", len(items), actor)
    return items


def _insert_or_renew(session: Session, items: list[ItemResult], rows: list[dict[str, Any]]) -> None:
    """Store new rejections; one of an order that already has an open rejection (or an earlier one in
    this batch) renews that one instead, so ingesting a bad file twice lists each order once."""
    keys = {(r["shop_code"], r["external_id"]) for r in rows if r["shop_code"] and r["external_id"]}
    known = repo.open_rejection_ids(session, keys)
    renewed: dict[int, dict[str, Any]] = {}
    inserted: dict[Any, int] = {}  # the position in ``fresh`` of each key
    fresh: list[dict[str, Any]] = []
    fresh_items: list[list[ItemResult]] = []
    for item, row in zip(items, rows, strict=True):
        order_key = (row["shop_code"], row["external_id"])
        key: Any = order_key if order_key in keys else id(row)  # a row naming no order stands alone
        if key in known:
            item.rejection_id = known[key]
            renewed[known[key]] = {k: row[k] for k in ("reason", "errors", "payload", "updated_at")} | {
                "id": known[key],
                "attempts": 1,
            }
        elif key in inserted:
            fresh[inserted[key]] = row  # the later version of the order is the one kept
            fresh_items[inserted[key]].append(item)
        else:
            inserted[key] = len(fresh)
            fresh.append(row)
            fresh_items.append([item])
    for same_order, row_id in zip(fresh_items, repo.insert_rejections(session, fresh), strict=True):
        for item in same_order:
            item.rejection_id = row_id
    repo.update_rejections(session, list(renewed.values()), increment=frozenset({"attempts"}))


def resolve(session: Session, gone_in: list[tuple[str, str, int]], now: datetime) -> None:
    """Close the open rejections of orders that have now gone in: (shop code, order id, our id)."""
    if gone_in and repo.has_open_rejections(session):
        repo.resolve_rejections(session, gone_in, now)
