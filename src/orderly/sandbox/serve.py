"""Serve an ASGI app (a platform sandbox, or the hub) over real HTTP: on a free loopback port for the
length of a block (tests, the demo), or as a sandbox's own process (``python -m orderly.sandbox.<name>``)."""

from __future__ import annotations

import argparse
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import uvicorn


@contextmanager
def serving(app: Any, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run ``app`` in a background thread for the duration of the block; yields its base URL."""
    # IPPROTO_TCP named explicitly: asyncio sets TCP_NODELAY only on sockets that say so, and without it
    # every kept-alive response waits ~40 ms for the peer's delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def sandbox_parser(module: str, doc: str | None, *, port: int) -> argparse.ArgumentParser:
    """The command line of ``python -m <module>`` with the options every sandbox has (it adds its own)."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=doc)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    return parser


def serve_sandbox(app: Any, args: argparse.Namespace, shown: Mapping[str, object]) -> None:
    """Print ``shown`` on one line as ``key=value`` pairs (what a connector to the sandbox needs, for the
    person starting it), then serve ``app`` on ``--host``/``--port`` until interrupted."""
    print(*(f"{key}={value}" for key, value in shown.items()), flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
