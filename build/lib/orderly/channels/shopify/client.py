"""HTTP to Shopify's Admin REST API for one shop: the access-token header, pacing, in-place retries,
page links, and Shopify's answers turned into the connector interface's exceptions."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import httpx

from orderly.channels.connector import (
    AuthFailed,
    ChannelError,
    Pacer,
    RateLimited,
    Rejected,
    Unreached,
    retrying,
)

API_VERSION = "2024-01"
#: When a 429 carries no usable Retry-After: what Shopify usually sends.
DEFAULT_RETRY_AFTER = 2.0
_BODY_CHARS = 2000  # of an error body kept on the exception
_NEXT_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?next"?')


class AdminApi:
    """Calls the Admin API of one shop. ``pace`` is called before every request (see
    :data:`~orderly.channels.connector.Pacer`)."""

    def __init__(
        self, client: httpx.Client, *, credentials: Mapping[str, str], api_version: str, pace: Pacer
    ) -> None:
        self.client = client
        self.token = credentials.get("access_token")
        self.api_version = api_version
        self.pace = pace

    def send(
        self,
        operation: str,
        method: str,
        resource: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        replayable: bool = True,
    ) -> httpx.Response:
        """One Admin API call, counted against ``operation``'s rate limit and retried in place after a
        500, a dropped connection or a short 429 (a call Shopify must not act on twice, with
        ``replayable=False``, only when it surely did not); HTTP failures become the connector
        exceptions."""
        token = self.token
        if not token:
            raise AuthFailed("the shop's credentials have no access_token")
        path = f"/admin/api/{self.api_version}/{resource}"
        return retrying(
            lambda: self._request(operation, method, path, token, params, json), replayable=replayable
        )

    def get_if_exists(self, operation: str, resource: str) -> httpx.Response | None:
        """A GET, or None where Shopify answers 404."""
        try:
            return self.send(operation, "GET", resource)
        except Rejected as exc:
            if exc.status == 404:
                return None
            raise

    def _request(
        self,
        operation: str,
        method: str,
        path: str,
        token: str,
        params: Mapping[str, Any] | None,
        json: Any,
    ) -> httpx.Response:
        what = f"Shopify {method} {path.split('/', 4)[-1]}"
        self.pace(operation)
        try:
            response = self.client.request(
                method,
                path,
                params=params,
                json=json,
                headers={"X-Shopify-Access-Token": token, "Accept": "application/json"},
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise Unreached(f"{what}: no connection: {exc!r}") from exc
        except httpx.TimeoutException as exc:
            raise ChannelError(f"{what}: timed out") from exc
        except httpx.HTTPError as exc:
            raise ChannelError(f"{what}: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if 200 <= status < 300:
            return response
        body = response.text[:_BODY_CHARS]
        message = f"{what}: HTTP {status} {body[:200]}".rstrip()
        if status == 429:
            raise RateLimited(message, retry_after=_retry_after(response), body=body)
        if status in (401, 403):
            raise AuthFailed(message, status=status, body=body)
        if 400 <= status < 500:
            raise Rejected(message, status=status, body=body)
        raise ChannelError(message, status=status, body=body)


def resource(response: httpx.Response, key: str, kind: type) -> Any:
    """``body[key]`` of a JSON answer, of the expected kind; anything else is a bad answer."""
    what = f"Shopify {response.request.method} {response.request.url.path}"
    try:
        payload = response.json()
    except ValueError as exc:
        raise ChannelError(
            f"{what}: malformed JSON", status=response.status_code, body=response.text[:_BODY_CHARS]
        ) from exc
    value = payload.get(key) if isinstance(payload, dict) else None
    if not isinstance(value, kind):
        raise ChannelError(f"{what}: the answer has no {key!r}", status=response.status_code)
    return value


def next_page_info(link: str | None) -> str | None:
    """The ``page_info`` of the ``rel=next`` link, passed back untouched; None on the last page."""
    found = _NEXT_LINK.search(link or "")
    return httpx.URL(found.group(1)).params.get("page_info") if found else None


def _retry_after(response: httpx.Response) -> float:
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return DEFAULT_RETRY_AFTER
    return seconds if math.isfinite(seconds) and seconds >= 0 else DEFAULT_RETRY_AFTER
