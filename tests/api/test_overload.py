"""Under load and behind locks the hub answers: reads take no write lock, `/health` waits for nothing a
request holds, a request that cannot get a turn or a lock in time is answered 503 with Retry-After."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import anyio.to_thread
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from orderly.api import create_app
from orderly.auth.domain import Scope
from orderly.auth.service import create_token
from orderly.catalog import endpoints as catalog
from orderly.catalog.models import Product
from orderly.channels.models import Shop
from orderly.core.admission import IN_FLIGHT_PER_TURN
from orderly.core.config import Settings
from orderly.core.db import make_session_factory, transaction
from orderly.core.web import ReadSession, get_session
from orderly.orders import endpoints as orders
from orderly.orders.models import Order
from orderly.review import endpoints as review
from tests.factories import order, setup_catalog

T = TypeVar("T")
PATIENCE = 30.0  # far beyond any answer that does not wait on a lock; a lock would hold it for 60 s


def _within(seconds: float, call: Callable[[], T]) -> T:
    """``call``'s result; the test fails if it is still waiting after ``seconds``."""
    pool = ThreadPoolExecutor(1)
    try:
        return pool.submit(call).result(timeout=seconds)
    finally:
        pool.shutdown(wait=False)


def _busy(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "1"
    assert "busy" in response.json()["error"]["message"]


@contextmanager
def _client(factory: sessionmaker[Session], **settings: Any) -> Iterator[TestClient]:
    with transaction(factory) as s:
        token = create_token(s, "tester", scope=Scope.WRITE).token
    app = create_app(Settings(**settings), factory=factory)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(app, headers=headers, raise_server_exceptions=False) as client:
        yield client


def _unguarded(app: Any) -> None:
    """The endpoints under test, also served at ``/unguarded`` without the token check: these tests
    are about their transactions, and checking a token is not theirs to test."""
    app.get("/unguarded/orders")(orders.list_orders)
    app.get("/unguarded/orders/{order_id}")(orders.get_order)
    app.get("/unguarded/products/{sku}")(catalog.get_product)
    app.patch("/unguarded/products/{sku}")(catalog.update_product)
    app.post("/unguarded/review/dry-run")(review.dry_run)


@contextmanager
def _locked(engine: Engine) -> Iterator[None]:
    """Another writer in the middle of its transaction: on SQLite it holds the write lock, on
    PostgreSQL the row of SKU-1."""
    with engine.connect() as connection:
        connection.execute(select(Product.id).where(Product.sku == "SKU-1").with_for_update())
        yield
        connection.rollback()


def test_while_a_writer_holds_a_lock_reads_and_health_answer_and_a_write_is_503(
    factory: sessionmaker[Session], engine: Engine
) -> None:
    setup_catalog(factory, {"SKU-1": 5})
    with _client(factory, request_lock_wait_s=0.05) as client:
        _unguarded(client.app)
        client.post("/api/v1/orders/ingest", json={"orders": [order(("SKU-1", 1))]}).raise_for_status()
        order_id = client.get("/api/v1/orders").json()["items"][0]["id"]
        with _locked(engine):
            for path in ("/unguarded/orders", f"/unguarded/orders/{order_id}", "/unguarded/products/SKU-1"):
                assert _within(PATIENCE, lambda p=path: client.get(p)).status_code == 200, path
            dry_run = _within(PATIENCE, lambda: client.post("/unguarded/review/dry-run", json={"rules": []}))
            assert dry_run.status_code == 200, dry_run.text
            assert _within(PATIENCE, lambda: client.get("/api/v1/health")).status_code == 200

            _busy(_within(PATIENCE, lambda: client.patch("/unguarded/products/SKU-1", json={"name": "New"})))

        assert client.patch("/unguarded/products/SKU-1", json={"name": "New"}).status_code == 200


def test_a_reading_transaction_holds_up_no_writer_and_cannot_write(
    factory: sessionmaker[Session], engine: Engine
) -> None:
    app = create_app(factory=factory)
    impatient = make_session_factory(engine, lock_wait=0.05)
    with transaction(app.state.read_factory) as reading:
        reading.execute(select(Order.id)).all()
        with transaction(impatient) as writing:  # would time out if the read held the write lock
            writing.add(Shop(code="new", name="New", channel="manual"))

    with pytest.raises(DBAPIError), transaction(app.state.read_factory) as reading:
        reading.add(Shop(code="other", name="Other", channel="manual"))
        reading.flush()


def _calls(dependant: Dependant) -> set[Any]:
    return {dependant.call}.union(*(_calls(d) for d in dependant.dependencies))


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (included := getattr(route, "original_router", None)) is not None:  # include_router's
            yield from _api_routes(included.routes)


def test_every_get_route_and_the_dry_run_read_without_the_writing_session(app: FastAPI) -> None:
    reading = [
        route
        for route in _api_routes(app.routes)
        if "GET" in route.methods or route.path.endswith("/dry-run")
    ]
    assert len(reading) > 20
    assert [route.path for route in reading if get_session in _calls(route.dependant)] == []


def test_over_the_concurrency_limit_a_request_is_503_at_once_and_health_still_answers(
    factory: sessionmaker[Session],
) -> None:
    entered, release = threading.Event(), threading.Event()
    with _client(factory, request_concurrency=1, request_wait_s=0.05) as client:
        app: Any = client.app

        @app.get("/api/v1/slow")
        def slow(session: ReadSession) -> None:  # holds the one turn until released
            entered.set()
            release.wait(4 * PATIENCE)  # longer than any wait of the test

        with ThreadPoolExecutor(1) as pool:
            held = pool.submit(client.get, "/api/v1/slow")
            try:
                assert entered.wait(PATIENCE)
                _busy(_within(PATIENCE, lambda: client.get("/api/v1/orders")))
                assert _within(PATIENCE, lambda: client.get("/api/v1/health")).status_code == 200
            finally:
                release.set()
            assert held.result(PATIENCE).status_code == 200

        assert client.get("/api/v1/orders").status_code == 200


def test_health_answers_while_every_worker_thread_is_busy(factory: sessionmaker[Session]) -> None:
    started, release = threading.Semaphore(0), threading.Event()
    with _client(factory, request_concurrency=1) as client:
        app: Any = client.app

        @app.get("/threads")
        async def threads() -> int:
            return int(anyio.to_thread.current_default_thread_limiter().total_tokens)

        @app.get("/busy")
        def busy() -> None:  # takes a worker thread, and keeps it until released
            started.release()
            release.wait(4 * PATIENCE)  # longer than any wait of the test

        count = client.get("/threads").json()
        with ThreadPoolExecutor(count) as pool:
            held = [pool.submit(client.get, "/busy") for _ in range(count)]
            try:
                for _ in range(count):
                    assert started.acquire(timeout=PATIENCE)
                assert _within(PATIENCE, lambda: client.get("/api/v1/health")).status_code == 200
            finally:
                release.set()
            assert all(h.result(PATIENCE).status_code == 200 for h in held)


def test_past_a_few_waiting_requests_per_turn_more_are_refused_before_any_work(
    factory: sessionmaker[Session],
) -> None:
    started, release = threading.Semaphore(0), threading.Event()
    with _client(factory, request_concurrency=1) as client:
        app: Any = client.app

        @app.get("/api/v1/stuck")
        def stuck() -> None:  # in the hub, on a worker thread, until released
            started.release()
            release.wait(4 * PATIENCE)  # longer than any wait of the test

        in_flight = app.state.settings.request_concurrency * IN_FLIGHT_PER_TURN
        with ThreadPoolExecutor(in_flight) as pool:
            held = [pool.submit(client.get, "/api/v1/stuck") for _ in range(in_flight)]
            try:
                for _ in range(in_flight):
                    assert started.acquire(timeout=PATIENCE)
                refused = _within(PATIENCE, lambda: client.get("/api/v1/orders"))
                _busy(refused)
                assert "too many requests" in refused.json()["error"]["message"]
                assert _within(PATIENCE, lambda: client.get("/api/v1/health")).status_code == 200
            finally:
                release.set()
            assert all(h.result(PATIENCE).status_code == 200 for h in held)

        assert client.get("/api/v1/orders").status_code == 200
