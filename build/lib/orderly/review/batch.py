"""Reviewing a batch of orders with what the hub knows around them: each shop's normal order, the
recent orders of each buyer and address, the stock as read. Used by ingest (once per batch), by a
person's correction of a stored order, and by the dry run. Services never commit."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from orderly.alerts.service import raise_alert
from orderly.inventory.domain import Allocation, Level, StockKey
from orderly.orders.domain import Hold, OrderStatus
from orderly.orders.models import Order
from orderly.review import repository as repo
from orderly.review import routing
from orderly.review.caches import CACHES
from orderly.review.domain.engine import Decision, RuleSet
from orderly.review.domain.view import History, ReviewContext, RunningNorm, Seen, Subject
from orderly.review.routing import Routed, route_subjects
from orderly.review.schemas import ReviewSettings
from orderly.review.service import live
from orderly.review.subjects import available_by_sku, catalog_facts, subjects_for_orders

NORM_SAMPLE = 500  # recent orders a shop's normal total is the median of
HISTORY_PER_IDENTITY = 50  # recent orders of one buyer or address a review looks at, at most
#: Statuses in which an order can still ship together with a new one.
MERGEABLE = frozenset(
    {OrderStatus.PENDING_REVIEW, OrderStatus.APPROVED, OrderStatus.ALLOCATED, OrderStatus.ON_HOLD}
)


def shop_norms(session: Session, subjects: Iterable[Subject]) -> dict[tuple[str, str], RunningNorm]:
    """Each shop's latest order totals per currency (oldest first), to judge its normal order by.

    A full sample moves slowly, so it is kept for a while (``CACHES``); a shop with fewer orders than
    that (a new shop, a fresh hub importing its backlog) is read for every batch, or the check would
    stay blind for minutes while thousands of orders go by.
    """
    database = str(session.get_bind().engine.url)
    norms: dict[tuple[str, str], RunningNorm] = {}
    for shop, currency in {(s.order["shop"], s.order["currency"]) for s in subjects}:
        key = (database, shop, currency)
        totals = CACHES.shop_totals(key)
        if totals is None:
            totals = repo.recent_totals(session, shop, currency, NORM_SAMPLE)[::-1]
            if len(totals) >= NORM_SAMPLE:
                CACHES.keep_shop_totals(key, totals)
        norms[(shop, currency)] = RunningNorm(totals, NORM_SAMPLE)
    return norms


def history_window(ruleset: RuleSet) -> timedelta:
    """How far back any enabled rule looks."""
    return timedelta(seconds=max((need.seconds for need in ruleset.lookbacks()), default=0))


def load_history(session: Session, subjects: Sequence[Subject], ruleset: RuleSet) -> History:
    """The recent orders, from the database, of the buyers and addresses in ``subjects``: as far back,
    and by as many identities, as the enabled rules look (velocity: every identity for minutes; merge:
    the buyer for hours)."""
    lookbacks = ruleset.lookbacks()
    history = History(max((need.seconds for need in lookbacks), default=0))
    if not subjects or not lookbacks:
        return history
    first = min(s.order["placed_at"] for s in subjects)
    last = max(s.order["placed_at"] for s in subjects)
    # One lookup for the batch, each need by the identities it follows and only as far back as it
    # looks: a buyer's orders of the whole day, but every identity's only of the last minutes.
    reviewed = {s.order_id for s in subjects if s.order_id is not None}
    lookups = []
    for every_identity, seconds in sorted({(need.every_identity, need.seconds) for need in lookbacks}):
        names = {i for s in subjects for i in (s.identities if every_identity else (s.buyer,))}
        window = timedelta(seconds=seconds)
        lookups.append((names, first - window, last + window))
    found: dict[tuple[int, int], Any] = {}
    for match in repo.identity_matches(session, lookups, per_identity=HISTORY_PER_IDENTITY):
        if match[1] not in reviewed:
            found[(match[0], match[1])] = match
    matches = list(found.values())
    # SKUs only of the orders close enough in time for a check that compares them.
    near = timedelta(seconds=max((need.seconds for need in lookbacks if need.skus), default=-1))
    since, until = first - near, last + near
    skus = repo.line_skus(session, {m[1] for m in matches if since <= m[2] <= until})
    # Whether an order can still ship with another matters only for one of the same buyer and address.
    pairs = {(s.buyer, s.address) for s in subjects}
    status = repo.statuses(session, {m[1] for m in matches if (m[3], m[4]) in pairs})
    seen: dict[int, Seen] = {}
    for identity, order_id, placed_at, buyer, address in matches:
        entry = seen.get(order_id)
        if entry is None:
            mergeable = status.get(order_id) in MERGEABLE
            entry = seen[order_id] = Seen(
                ("order", order_id),
                order_id,
                placed_at.timestamp(),
                frozenset(skus.get(order_id, ())),
                address,
                buyer,
                mergeable,
            )
        history.add(entry, (identity,))
    return history


def review_batch(
    session: Session,
    subjects: Sequence[Subject],
    *,
    ruleset: RuleSet,
    settings: ReviewSettings,
    now: datetime | None,
    available: Mapping[str, Mapping[str, int]] | None,
    warehouses: tuple[str, ...],
    presale: Mapping[str, datetime],
) -> dict[Hashable, Decision]:
    """Review orders in the order they were placed, each seeing the ones before it in this batch: in
    the buyers' histories and in its shop's normal order value."""
    running = shop_norms(session, subjects)
    norms = {key: norm for key, sample in running.items() if (norm := sample.norm) is not None}
    context = ReviewContext(
        now=now,
        history=load_history(session, subjects, ruleset),
        norms=norms,
        available=available,
        warehouses=warehouses,
        presale=presale,
        base_currency=settings.base_currency,
        rates=settings.rates,
    )
    decisions: dict[Hashable, Decision] = {}
    for subject in sorted(subjects, key=lambda s: s.placed):
        decisions[subject.key] = ruleset.review(subject, context)
        context.history.add(subject.seen(), subject.identities)
        if subject.order_id is None:  # a new order: the ones after it are judged with it counted
            key = (subject.order["shop"], subject.order["currency"])
            sample = running[key]
            sample.add(subject.total)
            norms[key] = sample.norm or norms[key]
    return decisions


def identity_rows(order_id: int, subject: Subject) -> list[tuple[int, datetime, int, int, int]]:
    placed = subject.order["placed_at"]
    return [(identity, placed, order_id, subject.buyer, subject.address) for identity in subject.identities]


def record_identities(session: Session, rows: Sequence[tuple[int, datetime, int, int, int]]) -> None:
    repo.insert_identities(session, rows)


@dataclass
class BatchReview:
    """The decisions on a batch being ingested, and what ingest needs from them."""

    ruleset: RuleSet
    subjects: dict[Hashable, Subject]
    decisions: dict[Hashable, Decision]
    warehouse_codes: Mapping[int, str]
    now: datetime
    routed: Routed | None = None  # the routing of each order (None, or no routes: no routing rules)

    def holds(self, key: Hashable) -> list[Hold]:
        """The decision's holds, less any stock hold: allocation, on the locked figures, decides that."""
        decision = self.decisions.get(key)
        if decision is None:
            return []
        stock_rules = self.ruleset.stock_rules
        return [h for h in decision.holds if not any(d.get("rule") in stock_rules for d in h.details)]

    def holds_when_short(self, key: Hashable) -> bool:
        subject = self.subjects.get(key)
        return subject is None or self.ruleset.holds_when_short(subject)

    def demand_options(
        self, key: Hashable, warehouse_ids: Sequence[int]
    ) -> tuple[tuple[int, ...] | None, bool]:
        """(the warehouses this order may use, in order, or None for the default; whether it may split).
        A routed order follows its route, which took the review's choices in."""
        routed = self.routed.options(key) if self.routed is not None else None
        if routed is not None:
            return routed
        decision = self.decisions.get(key)
        if decision is None:
            return None, False
        split = decision.split is True
        if decision.warehouse is None and not decision.exclude_warehouses:
            return None, split
        codes = self.warehouse_codes
        allowed = [w for w in warehouse_ids if codes.get(w) not in decision.exclude_warehouses]
        chosen = [w for w in allowed if codes.get(w) == decision.warehouse]
        return tuple(chosen + [w for w in allowed if w not in chosen]), split

    def tags(self, key: Hashable) -> list[str]:
        decision = self.decisions.get(key)
        return decision.tags if decision else []

    def as_json(self, key: Hashable, ids: Mapping[Any, int]) -> dict[str, Any] | None:
        decision = self.decisions.get(key)
        if decision is None:
            return None
        # Partners are orders of this batch (by their key) or stored ones (("order", id)).
        merge_ids: list[int] = []
        for k in decision.merge_with:
            if k in ids:
                merge_ids.append(ids[k])
            elif isinstance(k, tuple) and k[0] == "order":
                merge_ids.append(int(k[1]))
        return decision.as_json(ruleset=self.ruleset.version, at=self.now, merge_ids=sorted(merge_ids))

    def routing_json(self, key: Hashable, allocation: Allocation | None) -> dict[str, Any] | None:
        """The order's routing decision as stored, with where its stock went; None when not routed."""
        return self.routed.as_json(key, allocation) if self.routed is not None else None

    def record(self, session: Session, ids: Mapping[Any, int], fresh: Iterable[Hashable]) -> None:
        """Index the new orders' identities for later checks and raise the alerts rules asked for."""
        rows = [
            row
            for key in fresh
            if key in self.subjects
            for row in identity_rows(ids[key], self.subjects[key])
        ]
        record_identities(session, rows)
        for key, decision in self.decisions.items():
            for message in decision.notify:
                subject = self.subjects[key]
                raise_alert(
                    session,
                    "review",
                    f"order {ids[key]}",
                    f"order {subject.order['external_id']} on {subject.order['shop']}: {message}",
                )


def review_for_ingest(
    session: Session,
    items: Sequence[tuple[Hashable, Mapping[str, Any], int, Sequence[int], int | None]],
    *,
    parts: Mapping[int, list[tuple[int, int]]],
    levels: Mapping[StockKey, Level],
    warehouse_ids: Sequence[int],
    now: datetime,
) -> BatchReview:
    """Review (key, order, total, product ids, stored id) items against the stock ``levels`` read."""
    ruleset, parsed = live(session)
    facts = catalog_facts(session, {pid for item in items for pid in item[3]}, parts)
    channels = repo.channel_by_shop(session)
    subjects = {
        key: facts.subject(
            key, order, total, product_ids, channel=channels.get(order["shop"]), order_id=order_id
        )
        for key, order, total, product_ids, order_id in items
    }
    codes = repo.warehouse_codes(session)
    available = available_by_sku(levels, facts.skus, codes)
    warehouses = tuple(codes[w] for w in warehouse_ids if w in codes)
    decisions = review_batch(
        session,
        list(subjects.values()),
        ruleset=ruleset,
        settings=parsed,
        now=now,
        available=available,
        warehouses=warehouses,
        presale=facts.presale,
    )
    routing_set = routing.live(session)
    routed = (
        route_subjects(
            routing_set,
            list(subjects.values()),
            routing.routing_context(now, available, warehouses, parsed),
            {key: routing.asked_of_decision(d) for key, d in decisions.items()},
            codes,
        )
        if routing_set.active
        else None
    )
    return BatchReview(ruleset, subjects, decisions, codes, now, routed)


def review_stored(session: Session, orders: Sequence[Order], *, now: datetime) -> BatchReview:
    """Review stored orders again as they stand (a person corrected one), against the live rules, the
    history around them and the stock as it stands; keyed ``("order", id)``."""
    ruleset, parsed = live(session)
    subjects, available, warehouses, presale = subjects_for_orders(session, orders)
    decisions = review_batch(
        session,
        subjects,
        ruleset=ruleset,
        settings=parsed,
        now=now,
        available=available,
        warehouses=warehouses,
        presale=presale,
    )
    return BatchReview(ruleset, {s.key: s for s in subjects}, decisions, repo.warehouse_codes(session), now)


def reidentify(session: Session, before: Subject, after: Subject) -> None:
    """The order of ``before`` now looks like ``after`` (its address was corrected): later checks find
    it by its new identities, not its old ones."""
    assert before.order_id is not None and before.order_id == after.order_id
    placed = before.order["placed_at"]
    repo.delete_identities(session, [(i, placed, before.order_id) for i in before.identities])
    record_identities(session, identity_rows(before.order_id, after))
