"""Random sequences of stock operations keep the ledger equal to the levels and never go negative.

One machine drives the pure domain with many examples; another drives the services and ingest on a
real database (both backends) with few, so the suite stays fast.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog.models import Product
from orderly.core.db import transaction
from orderly.core.errors import DomainError
from orderly.inventory import domain
from orderly.inventory import service as inventory
from orderly.inventory.domain import Demand, Level, Movement, StockKey, allocate
from orderly.inventory.models import StockLevel, Warehouse
from orderly.models import Base
from orderly.orders.domain import HoldReason, OrderStatus
from orderly.orders.ingest import ingest_batch
from orderly.orders.models import Order, OrderLine
from orderly.orders.service import cancel_order
from tests.factories import order, setup_catalog

# --- the pure domain ----------------------------------------------------------------------------------

PRODUCTS = (1, 2, 3)
WAREHOUSES = (10, 20)
keys = st.sampled_from([(p, w) for p in PRODUCTS for w in WAREHOUSES])
amounts = st.integers(min_value=-3, max_value=25)


class LevelMachine(RuleBasedStateMachine):
    """Every movement goes through the domain's rules, then onto the level and into a ledger."""

    def __init__(self) -> None:
        super().__init__()
        self.levels = {key: Level() for key in itertools.product(PRODUCTS, WAREHOUSES)}
        self.ledger: list[tuple[StockKey, Movement]] = []

    def _move(self, key: StockKey, movement: Any) -> None:
        level = self.levels[key]
        try:
            made = movement(level)
        except DomainError:
            return  # refused: nothing happens
        level.apply(made)  # what the rules allow never breaks a level
        self.ledger.append((key, made))

    @rule(key=keys, quantity=amounts)
    def receive(self, key: StockKey, quantity: int) -> None:
        self._move(key, lambda _: domain.receipt(quantity))

    @rule(key=keys, delta=st.integers(min_value=-25, max_value=25))
    def adjust(self, key: StockKey, delta: int) -> None:
        self._move(key, lambda level: domain.adjustment(level, delta))

    @rule(key=keys, counted=amounts)
    def count(self, key: StockKey, counted: int) -> None:
        self._move(key, lambda level: domain.count(level, counted))

    @rule(key=keys, new_safety=st.integers(min_value=-1, max_value=8))
    def set_safety(self, key: StockKey, new_safety: int) -> None:
        self._move(key, lambda level: domain.safety(level, new_safety))

    @rule(key=keys, quantity=amounts)
    def reserve(self, key: StockKey, quantity: int) -> None:
        self._move(key, lambda level: domain.reservation(level, quantity))

    @rule(key=keys, quantity=amounts)
    def release(self, key: StockKey, quantity: int) -> None:
        self._move(key, lambda level: domain.release(level, quantity))

    @rule(key=keys, quantity=amounts)
    def ship(self, key: StockKey, quantity: int) -> None:
        self._move(key, lambda level: domain.shipment(level, quantity))

    @rule(key=keys, quantity=amounts)
    def take_back(self, key: StockKey, quantity: int) -> None:
        self._move(key, lambda _: domain.stock_return(quantity))

    @rule(
        needs=st.lists(
            st.dictionaries(st.sampled_from(PRODUCTS), st.integers(1, 6), min_size=1), min_size=1, max_size=4
        ),
        order_of_warehouses=st.permutations(WAREHOUSES),
    )
    def allocate_and_reserve(self, needs: list[dict[int, int]], order_of_warehouses: list[int]) -> None:
        # As the ingest does: plan on a copy, then book each reservation through the rules.
        plan = {key: level.copy() for key, level in self.levels.items()}
        demands = [Demand(n, need) for n, need in enumerate(needs)]
        for alloc in allocate(demands, plan, list(order_of_warehouses)):
            if not alloc.ok:
                assert all(s.needed > s.available for s in alloc.shortages)
                continue
            assert alloc.warehouse_id is not None
            for pid, qty in alloc.needs.items():
                key = (pid, alloc.warehouse_id)
                made = domain.reservation(self.levels[key], qty)  # never refused once planned
                self.levels[key].apply(made)
                self.ledger.append((key, made))
        assert plan == self.levels  # the plan is exactly what was booked

    @invariant()
    def ledger_equals_levels(self) -> None:
        totals: dict[StockKey, list[int]] = defaultdict(lambda: [0, 0, 0])
        for key, m in self.ledger:
            totals[key][0] += m.on_hand_delta
            totals[key][1] += m.reserved_delta
            totals[key][2] += m.safety_delta
        for key, level in self.levels.items():
            assert [level.on_hand, level.reserved, level.safety] == totals[key]

    @invariant()
    def nothing_negative(self) -> None:
        for level in self.levels.values():
            assert 0 <= level.reserved <= level.on_hand
            assert level.safety >= 0
            assert level.available == max(0, level.on_hand - level.reserved - level.safety) >= 0


TestLevelMachine = LevelMachine.TestCase
TestLevelMachine.settings = settings(max_examples=300, stateful_step_count=30, deadline=None)


@settings(max_examples=400, deadline=None)
@given(
    stock=st.dictionaries(
        st.tuples(st.sampled_from(PRODUCTS), st.sampled_from(WAREHOUSES)),
        st.tuples(st.integers(0, 12), st.integers(0, 12), st.integers(0, 4)),
    ),
    needs=st.lists(st.dictionaries(st.sampled_from(PRODUCTS), st.integers(1, 8), min_size=1), max_size=8),
    order_of_warehouses=st.permutations(WAREHOUSES),
)
def test_allocation_is_first_fit_all_or_nothing_and_never_overcommits(
    stock: dict[StockKey, tuple[int, int, int]], needs: list[dict[int, int]], order_of_warehouses: list[int]
) -> None:
    levels = {
        key: Level(on_hand + reserved, reserved, safety) for key, (on_hand, reserved, safety) in stock.items()
    }
    before = {key: level.copy() for key, level in levels.items()}
    free = {key: level.available for key, level in levels.items()}

    outcomes = allocate([Demand(n, need) for n, need in enumerate(needs)], levels, list(order_of_warehouses))

    booked: Counter[StockKey] = Counter()
    for alloc, need in zip(outcomes, needs, strict=True):
        fits = [w for w in order_of_warehouses if all(free.get((p, w), 0) >= q for p, q in need.items())]
        if fits:
            assert alloc.ok and alloc.warehouse_id == fits[0]  # the first that fills the whole order
            for p, q in need.items():
                free[(p, fits[0])] -= q
                booked[(p, fits[0])] += q
        else:
            assert not alloc.ok
            short = {s.product_id for s in alloc.shortages}
            assert short == {p for p, q in need.items() if free.get((p, alloc.warehouse_id), 0) < q}
    for key, level in levels.items():
        assert level.reserved - before[key].reserved == booked[key]  # all or nothing
        assert booked[key] <= before[key].available  # never into safety stock or beyond on hand
        assert level.reserved <= level.on_hand


# --- the services and ingest on a database ------------------------------------------------------------

SKUS = ("SKU-1", "SKU-2", "SKU-3")
HUB_WAREHOUSES = ("WH-1", "WH-2")
KIT = {"KIT-1": {"SKU-1": 2, "SKU-2": 1}}  # as tests.factories.setup_catalog makes it
order_lines = st.lists(
    st.tuples(st.sampled_from(("SKU-1", "SKU-2", "SKU-3", "KIT-1")), st.integers(1, 4)),
    min_size=1,
    max_size=3,
    unique_by=lambda line: line[0],
)


def _empty(engine: Engine) -> None:
    # DELETE, not TRUNCATE: on these few rows it is much faster, and ids need not restart.
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


class HubMachine(RuleBasedStateMachine):
    """People move stock while orders come in, change and get cancelled; a model keeps what must hold."""

    def __init__(self, engine: Engine, factory: sessionmaker[Session]) -> None:
        super().__init__()
        _empty(engine)
        opening = {"SKU-1": 20, "SKU-2": 10, "SKU-3": 5}
        setup_catalog(factory, opening, warehouses=2)
        self.factory = factory
        self.on_hand: Counter[tuple[str, str]] = Counter({(sku, "WH-1"): qty for sku, qty in opening.items()})
        self.orders: dict[str, tuple[list[tuple[str, int]], int]] = {}  # external id -> (lines, version)
        self.ids = itertools.count(1)

    def _stock(self, work: Any) -> Any:
        try:
            with transaction(self.factory) as s:
                return work(s)
        except DomainError:
            return None  # refused, and rolled back

    @rule(sku=st.sampled_from(SKUS), warehouse=st.sampled_from(HUB_WAREHOUSES), quantity=st.integers(1, 12))
    def receive(self, sku: str, warehouse: str, quantity: int) -> None:
        figure = self._stock(lambda s: inventory.receive(s, sku, warehouse, quantity, actor="t", reason=None))
        self.on_hand[(sku, warehouse)] += quantity
        assert figure.on_hand == self.on_hand[(sku, warehouse)]

    @rule(sku=st.sampled_from(SKUS), warehouse=st.sampled_from(HUB_WAREHOUSES), delta=st.integers(-8, 8))
    def adjust(self, sku: str, warehouse: str, delta: int) -> None:
        if self._stock(lambda s: inventory.adjust(s, sku, warehouse, delta, actor="t", reason=None)):
            self.on_hand[(sku, warehouse)] += delta

    @rule(sku=st.sampled_from(SKUS), warehouse=st.sampled_from(HUB_WAREHOUSES), counted=st.integers(0, 15))
    def count(self, sku: str, warehouse: str, counted: int) -> None:
        if self._stock(lambda s: inventory.count(s, sku, warehouse, counted, actor="t", reason=None)):
            self.on_hand[(sku, warehouse)] = counted

    @rule(sku=st.sampled_from(SKUS), warehouse=st.sampled_from(HUB_WAREHOUSES), safety=st.integers(0, 4))
    def set_safety(self, sku: str, warehouse: str, safety: int) -> None:
        self._stock(lambda s: inventory.set_safety(s, sku, warehouse, safety, actor="t", reason=None))

    @rule(batch=st.lists(order_lines, min_size=1, max_size=4))
    def ingest_new_orders(self, batch: list[list[tuple[str, int]]]) -> None:
        bodies = []
        for lines in batch:
            external_id = f"P{next(self.ids)}"
            self.orders[external_id] = (lines, 0)
            bodies.append(order(*lines, external_id=external_id))
        report = ingest_batch(self.factory, bodies)
        assert report.count("created") == len(batch)

    @rule(data=st.data(), lines=order_lines)
    def platform_changes_an_order(self, data: st.DataObject, lines: list[tuple[str, int]]) -> None:
        if self.orders:
            external_id = data.draw(st.sampled_from(sorted(self.orders)))
            version = self.orders[external_id][1] + 1
            self.orders[external_id] = (lines, version)
            ingest_batch(self.factory, [order(*lines, external_id=external_id, updated=version)])

    @rule(data=st.data(), versions=st.lists(order_lines, min_size=2, max_size=3))
    def several_versions_in_one_batch(
        self, data: st.DataObject, versions: list[list[tuple[str, int]]]
    ) -> None:
        known = sorted(self.orders)
        external_id = data.draw(st.sampled_from(known)) if known and data.draw(st.booleans()) else None
        external_id = external_id or f"P{next(self.ids)}"
        first = self.orders.get(external_id, ([], 0))[1] + 1
        bodies = [
            order(*lines, external_id=external_id, updated=first + n) for n, lines in enumerate(versions)
        ]
        self.orders[external_id] = (versions[-1], first + len(versions) - 1)
        report = ingest_batch(self.factory, data.draw(st.permutations(bodies)))
        assert report.count("stale") == len(versions) - 1  # the newest wins, whatever the order

    @rule(data=st.data())
    def platform_cancels_an_order(self, data: st.DataObject) -> None:
        if self.orders:
            external_id = data.draw(st.sampled_from(sorted(self.orders)))
            lines, version = self.orders[external_id]
            self.orders[external_id] = (lines, version + 1)
            body = order(*lines, external_id=external_id, updated=version + 1, cancelled=True)
            ingest_batch(self.factory, [body])

    @rule(data=st.data())
    def hub_cancels_an_order(self, data: st.DataObject) -> None:
        if self.orders:
            external_id = data.draw(st.sampled_from(sorted(self.orders)))
            with transaction(self.factory) as s:
                found = s.execute(
                    select(Order.id, Order.status).where(Order.external_id == external_id)
                ).one()
            cancellable = found.status not in (OrderStatus.CANCELLED, OrderStatus.SHIPPED)
            done = self._stock(lambda s: cancel_order(s, found.id, actor="t", reason="test"))
            assert (done is not None) == cancellable

    @invariant()
    def ledger_equals_levels_and_nothing_is_negative(self) -> None:
        with transaction(self.factory) as s:
            assert inventory.verify(s, repair=False, actor="t") == []
            rows = s.execute(
                select(
                    Product.sku, Warehouse.code, StockLevel.on_hand, StockLevel.reserved, StockLevel.safety
                )
                .join(Product, Product.id == StockLevel.product_id)
                .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
            ).all()
        for sku, warehouse, on_hand, reserved, safety in rows:
            assert 0 <= reserved <= on_hand and safety >= 0
            assert on_hand == self.on_hand[(sku, warehouse)]

    @invariant()
    def reserved_stock_is_what_allocated_orders_need(self) -> None:
        with transaction(self.factory) as s:
            reserved: Counter[str] = Counter()
            for sku, qty in s.execute(
                select(Product.sku, StockLevel.reserved).join(Product, Product.id == StockLevel.product_id)
            ):
                reserved[sku] += qty
            needed: Counter[str] = Counter()
            for sku, qty in s.execute(
                select(Product.sku, OrderLine.quantity)
                .join(Order, Order.id == OrderLine.order_id)
                .join(Product, Product.id == OrderLine.product_id)
                .where(Order.status == OrderStatus.ALLOCATED)
            ):
                for component, per_kit in KIT.get(sku, {sku: 1}).items():
                    needed[component] += per_kit * qty
            held = s.execute(select(Order.status, Order.holds)).all()
        assert +reserved == +needed
        for status, holds in held:
            assert status in (OrderStatus.ALLOCATED, OrderStatus.ON_HOLD, OrderStatus.CANCELLED)
            if status == OrderStatus.ON_HOLD:
                assert [h["reason"] for h in holds] == [HoldReason.OUT_OF_STOCK]


def test_stock_operations_and_orders_keep_the_ledger_equal_to_the_levels(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    run_state_machine_as_test(
        lambda: HubMachine(engine, factory),
        settings=settings(
            max_examples=25,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
