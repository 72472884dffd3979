"""``orderly start`` as a real server process: a large body without a token leaves its memory as it was,
and clients slow to send their request heads are closed."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from orderly.auth.gate import FAILURES
from orderly.cli.server import HeadTimedH11, head_timed

MB = 1 << 20
HEAD_TIMEOUT_S = 1.0


@dataclass
class Hub:
    port: int
    process: subprocess.Popen[bytes]

    def rss_mb(self) -> float:
        rss: int = psutil.Process(self.process.pid).memory_info().rss
        return rss / MB

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """The hub on the embedded database of a fresh data folder, without job workers."""
    port = _free_port()
    src = str(Path(__file__).parents[2] / "src")
    env = os.environ | {
        "ORDERLY_DATA_DIR": str(tmp_path_factory.mktemp("served")),
        "ORDERLY_DATABASE_URL": "",
        "ORDERLY_WORKERS": "0",
        "ORDERLY_HEADER_TIMEOUT_S": str(HEAD_TIMEOUT_S),
        "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]),
    }
    command = [sys.executable, "-c", "from orderly.cli import app; app()", "start", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "the hub exited"
            assert time.monotonic() < deadline, "the hub did not answer within 2 minutes"
            time.sleep(0.2)
        yield Hub(port, process)
    finally:
        process.terminate()
        process.wait(30)


def test_start_serves_with_a_deadline_for_request_heads() -> None:
    protocol = head_timed(2.5)

    assert issubclass(protocol, HeadTimedH11)
    assert protocol.head_timeout_s == 2.5


def test_a_100_mb_body_without_a_token_is_401_and_the_hub_does_not_grow(hub: Hub) -> None:
    for _ in range(3):  # warm up: the first requests import and cache what every request uses
        httpx.post(f"http://127.0.0.1:{hub.port}/api/v1/orders/ingest", json={"orders": [{}]})
    before = hub.rss_mb()
    sock = hub.connect()
    head = (
        "POST /api/v1/orders/ingest HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
        f"Content-Length: {100 * MB}\r\n\r\n"
    )
    sock.sendall(head.encode())

    answer = sock.recv(4096).decode()  # before any of the body is sent: the hub does not wait for it

    assert answer.startswith("HTTP/1.1 401 "), answer
    assert "connection: close" in answer.lower()
    sent = 0
    block = b'[{"a": "' + b"x" * (MB - 10) + b'"},'
    try:
        for _ in range(100):
            sock.sendall(block)
            sent += len(block)
    except OSError:
        pass  # the hub closed the connection: the body is refused, not read
    finally:
        sock.close()
    time.sleep(0.5)
    growth = hub.rss_mb() - before
    print(
        f"\nunauthenticated 100 MB body: {sent / MB:.0f} MB accepted by the socket, RSS {before:.0f} MB "
        f"+ {growth:.1f} MB"
    )
    assert sent < 100 * MB
    assert growth < 20


def test_clients_trickling_their_request_heads_are_closed(hub: Hub) -> None:
    clients = [hub.connect() for _ in range(200)]
    for sock in clients:
        sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: hub\r\n")
    opened = time.monotonic()
    open_ = set(clients)
    while open_ and time.monotonic() - opened < HEAD_TIMEOUT_S + 10:
        for sock in list(open_):
            try:
                sock.sendall(b"X-Slow: 1\r\n")  # a header now and then, never the blank line
            except OSError:
                open_.discard(sock)
        readable, _, _ = select.select(list(open_), [], [], 0.3)
        for sock in readable:
            try:
                if sock.recv(4096) == b"":
                    open_.discard(sock)
            except OSError:
                open_.discard(sock)
    closed_after = time.monotonic() - opened
    for sock in clients:
        sock.close()

    assert not open_, f"{len(open_)} of 200 slow clients still connected after {closed_after:.1f} s"
    assert closed_after < HEAD_TIMEOUT_S + 5
    assert httpx.get(f"http://127.0.0.1:{hub.port}/api/v1/health", timeout=5).status_code == 200


def test_a_kept_alive_connection_gets_the_same_deadline_for_its_next_head(hub: Hub) -> None:
    sock = hub.connect()
    sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: hub\r\n\r\n")
    assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
    started = time.monotonic()

    closed = False
    while time.monotonic() - started < HEAD_TIMEOUT_S + 10 and not closed:
        try:
            sock.sendall(b"G")  # the next request, a byte at a time
            readable, _, _ = select.select([sock], [], [], 0.3)
            closed = bool(readable) and sock.recv(4096) == b""
        except OSError:
            closed = True
    sock.close()

    assert closed
    assert time.monotonic() - started < HEAD_TIMEOUT_S + 5


def test_a_client_cannot_dodge_the_failure_throttle_by_naming_other_addresses(hub: Hub) -> None:
    statuses = [
        httpx.get(
            f"http://127.0.0.1:{hub.port}/api/v1/shops",
            headers={"Authorization": "Bearer oly_guess", "X-Forwarded-For": f"10.1.{n // 250}.{n % 250}"},
        ).status_code
        for n in range(FAILURES + 1)
    ]

    assert statuses.count(401) <= FAILURES
    assert statuses[-1] == 429
