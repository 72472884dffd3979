"""Webhook deliveries, sent one after another by a background thread as Shopify sends them: a POST of
the order JSON, signed, retried (with the same webhook id) while the target does not answer 2xx."""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Delivery:
    url: str
    webhook_id: str
    topic: str
    order_id: int
    body: bytes
    headers: dict[str, str]
    duplicate: bool = False  # a second sending of a delivery already queued


class WebhookSender:
    def __init__(self, *, attempts: int, retry_delay: float, timeout: float) -> None:
        self.attempts = attempts
        self.retry_delay = retry_delay
        self.timeout = timeout
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._done = threading.Condition()
        self._pending = 0
        self._log: list[dict[str, Any]] = []
        self._thread: threading.Thread | None = None

    def submit(self, delivery: Delivery) -> None:
        with self._done:
            self._pending += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="shopify-webhooks", daemon=True)
                self._thread.start()
        self._queue.put(delivery)

    def record_dropped(self, delivery: Delivery) -> None:
        with self._done:
            self._log.append(_entry(delivery, "dropped", attempts=0))

    def log(self) -> list[dict[str, Any]]:
        with self._done:
            return [dict(entry) for entry in self._log]

    def wait(self, timeout: float) -> bool:
        """Whether every submitted delivery was sent (or given up) within ``timeout`` seconds."""
        with self._done:
            return self._done.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        with self._done:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=self.timeout * self.attempts + 5)

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout) as client:
            while (delivery := self._queue.get()) is not None:
                entry = self._send(client, delivery)
                with self._done:
                    self._log.append(entry)
                    self._pending -= 1
                    self._done.notify_all()

    def _send(self, client: httpx.Client, delivery: Delivery) -> dict[str, Any]:
        status: int | None = None
        error: str | None = None
        for attempt in range(1, self.attempts + 1):
            if attempt > 1:
                time.sleep(self.retry_delay * (attempt - 1))
            try:
                status = client.post(
                    delivery.url, content=delivery.body, headers=delivery.headers
                ).status_code
                error = None
            except httpx.HTTPError as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"
            if status is not None and 200 <= status < 300:
                return _entry(delivery, "delivered", attempts=attempt, status=status)
        return _entry(delivery, "failed", attempts=self.attempts, status=status, error=error)


def _entry(
    delivery: Delivery, outcome: str, *, attempts: int, status: int | None = None, error: str | None = None
) -> dict[str, Any]:
    return {
        "webhook_id": delivery.webhook_id,
        "topic": delivery.topic,
        "order_id": delivery.order_id,
        "duplicate": delivery.duplicate,
        "outcome": outcome,
        "attempts": attempts,
        "status": status,
        "error": error,
    }
