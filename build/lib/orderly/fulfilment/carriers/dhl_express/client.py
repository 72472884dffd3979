"""HTTP to DHL Express's MyDHL API (``docs/carriers/dhl-express.md``): Basic auth with the API key and
secret (§1), the interface version and a message reference on every call, pacing, in-place retries,
and DHL's problem bodies (§8) raised as the carrier error kinds."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from email.utils import formatdate
from typing import Any

import httpx

from orderly.channels.connector import retrying
from orderly.fulfilment.carriers.connector import AuthFailed, CarrierError, Pacer
from orderly.fulfilment.carriers.http import refusal, sent

X_VERSION = "3.3.1"  # the interface version this plugin was written against (§1)

#: Query parameters as pairs: tracking repeats ``shipmentTrackingNumber``.
Params = Sequence[tuple[str, str]]


class MyDhlApi:
    def __init__(
        self, client: httpx.Client, *, username: str | None, password: str | None, pace: Pacer
    ) -> None:
        if not username or not password:
            raise AuthFailed("the DHL Express account needs username and password (the API key and secret)")
        self.client = client
        self.auth = httpx.BasicAuth(username, password)
        self.pace = pace

    def send(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Params | None = None,
        replayable: bool = True,
        expect: tuple[int, ...] = (200, 201),
    ) -> httpx.Response:
        return retrying(
            lambda: self._request(operation, method, path, json, params, expect), replayable=replayable
        )

    def _request(
        self,
        operation: str,
        method: str,
        path: str,
        json: Any,
        params: Params | None,
        expect: tuple[int, ...],
    ) -> httpx.Response:
        what = f"DHL Express {method} {path}"
        self.pace(operation)
        headers = {
            "x-version": X_VERSION,
            "Message-Reference": str(uuid.uuid4()),
            "Message-Reference-Date": formatdate(usegmt=True),
            "Accept": "application/json",
        }
        response = sent(
            what,
            lambda: self.client.request(
                method,
                path.lstrip("/"),
                json=json,
                params=tuple(params or ()),
                auth=self.auth,
                headers=headers,
            ),
        )
        if response.status_code in expect:
            return response
        invocation = response.headers.get("Invocation-Id", "")
        message = f"{what}: HTTP {response.status_code} {problem_text(response)}" + (
            f" (invocation {invocation})" if invocation else ""
        )
        raise refusal(response, message, operation)


def body(response: httpx.Response) -> dict[str, Any]:
    try:
        found = response.json()
    except ValueError as exc:
        raise CarrierError(f"DHL Express: malformed JSON (HTTP {response.status_code})") from exc
    if not isinstance(found, dict):
        raise CarrierError("DHL Express: the answer is not a JSON object")
    return found


def problem_text(response: httpx.Response) -> str:
    """``title: detail (additional details)`` from a problem body (§8)."""
    try:
        found = response.json()
    except ValueError:
        return response.text[:200]
    if not isinstance(found, dict):
        return response.text[:200]
    text = ": ".join(str(found[k]) for k in ("title", "detail") if found.get(k))
    more = found.get("additionalDetails")
    if isinstance(more, list) and more:
        text += f" ({'; '.join(str(m) for m in more)})"
    return text
