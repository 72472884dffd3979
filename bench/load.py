"""The hub under load: ``python bench/load.py [--seconds 30] [--clients 500] [--databases sqlite]``.

For each database, starts the hub as served (``orderly start`` in a process of its own, with its job
workers) on a fresh, migrated database with ``--orders`` orders ingested, then measures:

1. ``unauth_100mb_rss_growth_mb`` (SQLite run): the hub's resident memory before and after a 100 MB
   body is POSTed to ``/api/v1/orders/ingest`` without a token.
2. The order list (a page of 50) at 50 concurrent clients for ``--seconds / 3`` (at least 5 s):
   requests per second and p99.
3. Overload: ``--clients`` concurrent clients for ``--seconds``, each sending one request after
   another: the order list (50 %), an order's detail (25 %), a batch of 5 new orders (15 %), ``/health``
   (10 %). A client told 503 waits its ``Retry-After``, as a well-behaved client does
   (``--ignore-retry-after``: it does not). ``answered_within_2s`` is the share of requests answered
   (2xx or 503) within 2 s: one still waiting when the load ends counts as answered if it had waited
   less than that, as not if more. Meanwhile one more client asks ``/health`` every 50 ms:
   ``health_p99_ms``.
4. ``recovery_s``: from the moment the load stops until the order list answers 200 within 0.5 s.

Clients run in ``--client-processes`` processes (asyncio, one keep-alive connection each), apart from
the hub, on the same machine: the figures include their share of the CPU. Goals: every request
answered within 2 s, ``/health`` p99 at most 100 ms, recovery within 5 s. The last line printed is one
JSON object with the figures. PostgreSQL is the server of ``ORDERLY_DATABASE_URL`` when that points at
PostgreSQL, else the local one; the benchmark uses a database of its own, ``orderly_bench_load``,
dropped and created again.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from cryptography.fernet import Fernet
from rich.console import Console

from common import postgres_url
from orderly.auth.domain import Scope
from orderly.auth.service import create_token
from orderly.core.db import make_engine, make_session_factory, transaction
from orderly.core.migrate import upgrade
from orderly.orders.ingest import ingest_batch
from orderly.sandbox import OrderGenerator, build_catalog, default_catalog

BENCH_DATABASE = "orderly_bench_load"
WITHIN = 2.0  # seconds: the goal for every answer
BATCH = 5  # orders per ingest request of the load
MIX = {"list": 50, "detail": 25, "ingest": 15, "health": 10}
console = Console(stderr=True)


@dataclass
class Tally:
    """What one kind of request got: statuses, and the latency of every answer (seconds)."""

    sent: int = 0
    answered_in_time: int = 0  # 2xx or 503 within WITHIN
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.sent += other.sent
        self.answered_in_time += other.answered_in_time
        self.statuses.update(other.statuses)
        self.latencies.extend(other.latencies)


def p99_ms(latencies: list[float]) -> float | None:
    if len(latencies) < 2:
        return round(latencies[0] * 1000, 1) if latencies else None
    return round(statistics.quantiles(latencies, n=100)[98] * 1000, 1)


# --- the hub ----------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(url: str, orders: int) -> str:
    """The sandbox catalog and ``orders`` orders in the database; returns a new API token."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    catalog = default_catalog(orders=orders * 4)
    build_catalog(factory, catalog)
    generator = OrderGenerator(2026, catalog)
    for start in range(0, orders, 2000):
        ingest_batch(factory, list(generator.orders(min(2000, orders - start))), actor="bench")
    with transaction(factory) as s:
        token = create_token(s, "bench-load", scope=Scope.WRITE).token
    engine.dispose()
    return token


@contextlib.contextmanager
def hub(url: str, data_dir: Path) -> Iterator[tuple[str, psutil.Process]]:
    """``orderly start`` on ``url``; yields its base URL and process once ``/health`` answers."""
    port = _free_port()
    env = {
        **os.environ,
        "ORDERLY_DATABASE_URL": url,
        "ORDERLY_DATA_DIR": str(data_dir),
        "ORDERLY_SECRET_KEY": Fernet.generate_key().decode(),
        "ORDERLY_ENV_FILE": str(data_dir / "none.env"),  # no .env of the machine's
    }
    command = [sys.executable, "-c", "from orderly.cli import app; app()", "start", "--no-migrate"]
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(data_dir / "hub.log", "w"),  # noqa: SIM115 - kept open for the hub's life
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the hub did not start: see {data_dir / 'hub.log'}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.2)
        yield base, psutil.Process(process.pid)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- clients ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    base: str
    token: str
    order_ids: list[int]
    clients: int
    mix: dict[str, int]
    seconds: float
    honour_retry_after: bool
    first_number: int  # of the orders this process ingests, so processes do not collide


class Connection:
    """One keep-alive HTTP/1.1 connection of one client. httpx's pool, at hundreds of connections in one
    process, spends more CPU than the hub under test; this reads what the hub sends and no more."""

    def __init__(self, base: str, token: str) -> None:
        address = base.removeprefix("http://")
        self.host, self.port = address.rsplit(":", 1)
        self.head = f"Host: {address}\r\nAuthorization: Bearer {token}\r\n"
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, dict[str, str]]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, int(self.port))
        reader, writer = self._streams
        extra = f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n" if body else ""
        try:
            writer.write(f"{method} {path} HTTP/1.1\r\n{self.head}{extra}\r\n".encode() + body)
            await writer.drain()
            status = int((await reader.readline()).split()[1])
            headers = {}
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            await reader.readexactly(int(headers.get("content-length", "0")))
        except BaseException:
            self.close()  # mid-answer: the connection cannot be used again
            raise
        if headers.get("connection") == "close":
            self.close()
        return status, headers

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


def _request(kind: str, load: Load, batches: Iterator[bytes], rng: random.Random) -> tuple[str, str, bytes]:
    if kind == "list":
        return "GET", "/api/v1/orders?limit=50", b""
    if kind == "detail":
        return "GET", f"/api/v1/orders/{rng.choice(load.order_ids)}", b""
    if kind == "ingest":
        return "POST", "/api/v1/orders/ingest", next(batches)
    return "GET", "/api/v1/health", b""


async def _client(load: Load, tallies: dict[str, Tally], batches: Iterator[bytes], n: int) -> None:
    rng = random.Random(n)
    kinds, weights = list(load.mix), list(load.mix.values())
    connection = Connection(load.base, load.token)
    try:
        while True:
            kind = rng.choices(kinds, weights)[0]
            method, path, body = _request(kind, load, batches, rng)
            tally = tallies[kind]
            started = time.perf_counter()
            try:
                status, headers = await connection.request(method, path, body)
            except asyncio.CancelledError:  # the load ended while this one waited
                if time.perf_counter() - started > WITHIN:
                    tally.sent += 1
                    tally.statuses["unanswered"] += 1
                raise
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError) as exc:
                tally.sent += 1
                tally.statuses[type(exc).__name__] += 1
                continue
            elapsed = time.perf_counter() - started
            tally.sent += 1
            tally.statuses[str(status)] += 1
            tally.latencies.append(elapsed)
            if elapsed <= WITHIN and (200 <= status < 300 or status == 503):
                tally.answered_in_time += 1
            if status == 503 and load.honour_retry_after:
                await asyncio.sleep(float(headers.get("retry-after", "1")))
    finally:
        connection.close()


def _batches(first_number: int) -> Iterator[bytes]:
    generator = OrderGenerator(first_number, default_catalog(), first_number=first_number)
    made = [json.dumps({"orders": list(generator.orders(BATCH))}).encode() for _ in range(400)]
    while True:  # later rounds send the same orders again: the hub answers them as known
        yield from made


async def _run(load: Load, batches: Iterator[bytes], start_at: float) -> dict[str, Tally]:
    tallies = {kind: Tally() for kind in load.mix}
    await asyncio.sleep(max(0.0, start_at - time.time()))
    tasks = [asyncio.create_task(_client(load, tallies, batches, n)) for n in range(load.clients)]
    await asyncio.wait(tasks, timeout=max(0.0, start_at + load.seconds - time.time()))
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return tallies


def _process(load: Load, ready: Any, start: Any, results: Any) -> None:
    batches = _batches(load.first_number) if "ingest" in load.mix else iter(())
    next(batches, None)  # the orders are made before the clock starts
    ready.put(True)
    results.put(asyncio.run(_run(load, batches, start.get())))


def run_load(
    base: str,
    token: str,
    order_ids: list[int],
    *,
    clients: int,
    seconds: float,
    mix: dict[str, int],
    processes: int,
    honour_retry_after: bool = True,
) -> tuple[dict[str, Tally], float]:
    """``clients`` clients over ``processes`` processes for ``seconds``; returns the tallies and the
    time.time() the load stopped."""
    context = multiprocessing.get_context("spawn")
    ready, start, results = context.Queue(), context.Queue(), context.Queue()
    shares = [clients // processes + (1 if k < clients % processes else 0) for k in range(processes)]
    loads = [
        Load(base, token, order_ids, share, mix, seconds, honour_retry_after, 10_000_000 * (k + 1))
        for k, share in enumerate(shares)
        if share
    ]
    workers = [
        context.Process(target=_process, args=(load, ready, start, results), daemon=True) for load in loads
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get()
    start_at = time.time() + 1  # every process is ready: this is for the start to reach them
    for _ in workers:
        start.put(start_at)
    totals = {kind: Tally() for kind in mix}
    for _ in workers:
        for kind, tally in results.get().items():
            totals[kind].add(tally)
    for worker in workers:
        worker.join()
    return totals, start_at + seconds


class HealthProbe:
    """Asks ``/health`` every 50 ms from a thread of its own while the load runs."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.latencies: list[float] = []
        self.failures: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._probe, daemon=True)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _probe(self) -> None:
        with httpx.Client(base_url=self.base, timeout=10) as http:
            while not self._stop.wait(0.05):
                started = time.perf_counter()
                try:
                    status = http.get("/api/v1/health").status_code
                except httpx.HTTPError as exc:
                    self.failures[type(exc).__name__] += 1
                    continue
                self.latencies.append(time.perf_counter() - started)
                if status != 200:
                    self.failures[str(status)] += 1


def recovery(base: str, token: str, stopped_at: float) -> float:
    """Seconds from ``stopped_at`` until the order list answers 200 within 0.5 s."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10) as http:
        while True:
            started = time.perf_counter()
            with contextlib.suppress(httpx.HTTPError):
                response = http.get("/api/v1/orders", params={"limit": 50})
                if response.status_code == 200 and time.perf_counter() - started <= 0.5:
                    return round(max(0.0, time.time() - stopped_at), 2)
            if time.time() - stopped_at > 300:
                return float("inf")
            time.sleep(0.1)


def _peak_rss(server: psutil.Process) -> int:
    """The most the process has had resident (Linux's VmHWM), in bytes."""
    status = Path(f"/proc/{server.pid}/status").read_text()
    return next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmHWM:"))


def rss_growth_mb(base: str, server: psutil.Process) -> tuple[float, float]:
    """The hub's RSS after a 100 MB body without a token less before (warmed up first), and the
    growth of its peak RSS."""
    with httpx.Client(base_url=base, timeout=60) as http:
        for _ in range(3):
            http.get("/api/v1/health")
        time.sleep(1)
        before, peak_before = server.memory_info().rss, _peak_rss(server)
        filler = b"x" * (100 * 1024 * 1024)
        body = b'{"orders": [{"shop": "a", "external_id": "' + filler + b'"}]}'
        try:
            status = str(http.post("/api/v1/orders/ingest", content=body).status_code)
        except httpx.HTTPError as exc:  # refused before it was all sent
            status = type(exc).__name__
        del body, filler
        time.sleep(2)
        after, peak = server.memory_info().rss, _peak_rss(server)
    console.print(
        f"100 MB without a token: {status}; RSS {before / 2**20:.0f} MB -> {after / 2**20:.0f} MB, "
        f"peak {peak_before / 2**20:.0f} MB -> {peak / 2**20:.0f} MB"
    )
    return round((after - before) / 2**20, 1), round((peak - peak_before) / 2**20, 1)


# --- one database -----------------------------------------------------------------------------------


def measure(name: str, url: str, args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    console.rule(name)
    token = seed(url, args.orders)
    figures: dict[str, Any] = {}
    with hub(url, data_dir) as (base, server):
        headers = {"Authorization": f"Bearer {token}"}
        listed = httpx.get(f"{base}/api/v1/orders", params={"limit": 500}, headers=headers, timeout=30)
        order_ids = [item["id"] for item in listed.json()["items"]]
        if name == "sqlite":
            growth, peak = rss_growth_mb(base, server)
            figures["unauth_100mb_rss_growth_mb"] = growth
            figures["unauth_100mb_peak_rss_growth_mb"] = peak

        seconds = max(5.0, args.seconds / 3)
        tallies, _ = run_load(
            base, token, order_ids, clients=50, seconds=seconds, mix={"list": 1}, processes=1
        )
        listing = tallies["list"]
        ok = listing.statuses["200"]
        figures[f"{name}_list_at_50_per_s"] = round(ok / seconds, 1)
        figures[f"{name}_list_at_50_p99_ms"] = p99_ms(listing.latencies)
        figures[f"{name}_list_at_50_ok_share"] = round(ok / listing.sent, 4) if listing.sent else None
        console.print(f"order list at 50 clients: {ok / seconds:,.0f}/s, {dict(listing.statuses)}")

        with HealthProbe(base) as probe:
            tallies, stopped_at = run_load(
                base,
                token,
                order_ids,
                clients=args.clients,
                seconds=args.seconds,
                mix=MIX,
                processes=args.client_processes,
                honour_retry_after=not args.ignore_retry_after,
            )
        figures[f"{name}_recovery_s"] = recovery(base, token, stopped_at)
    total = Tally()
    for kind, tally in tallies.items():
        total.add(tally)
        console.print(
            f"{kind:>7}: {tally.sent:,} sent, p99 {p99_ms(tally.latencies)} ms, {dict(tally.statuses)}"
        )
    console.print(f" health probe: {len(probe.latencies):,} answers, failures {dict(probe.failures)}")
    figures[f"{name}_answered_within_2s"] = (
        round(total.answered_in_time / total.sent, 4) if total.sent else None
    )
    figures[f"{name}_health_p99_ms"] = p99_ms(probe.latencies)
    figures[f"{name}_health_failures"] = sum(probe.failures.values())
    figures[f"{name}_requests_per_s"] = round(total.sent / args.seconds, 1)
    figures[f"{name}_share_503"] = round(total.statuses["503"] / total.sent, 4) if total.sent else None
    figures[f"{name}_p99_ms"] = p99_ms(total.latencies)
    console.print(figures)
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the overload (default 30)")
    parser.add_argument("--clients", type=int, default=500, help="concurrent clients (default 500)")
    parser.add_argument("--orders", type=int, default=5000, help="orders in the database (default 5000)")
    parser.add_argument("--client-processes", type=int, default=2, help="processes the clients run in")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--ignore-retry-after", action="store_true", help="clients resend at once after a 503"
    )
    args = parser.parse_args(argv)
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]

    figures: dict[str, Any] = {"seconds": args.seconds, "clients": args.clients, "orders": args.orders}
    figures["retry_after_honoured"] = not args.ignore_retry_after
    figures["load_average_at_start"] = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory(prefix="orderly-bench-load-") as tmp:
        if "sqlite" in databases:
            url = f"sqlite:///{Path(tmp) / 'orderly.db'}"
            upgrade(url)
            figures.update(measure("sqlite", url, args, Path(tmp)))
        if "postgresql" in databases:
            (Path(tmp) / "pg").mkdir()
            figures.update(measure("postgres", postgres_url(BENCH_DATABASE), args, Path(tmp) / "pg"))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
