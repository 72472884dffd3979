"""HTTP to EasyPost's API v2 (``docs/carriers/easypost.md``): the API key as the Basic username with an
empty password (§1), pacing, in-place retries, and EasyPost's error bodies (§10) raised as the carrier
error kinds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from orderly.channels.connector import retrying
from orderly.fulfilment.carriers.connector import AuthFailed, CarrierError, Pacer
from orderly.fulfilment.carriers.http import refusal, sent


class EasyPostApi:
    def __init__(self, client: httpx.Client, *, api_key: str | None, pace: Pacer) -> None:
        if not api_key:
            raise AuthFailed("the EasyPost account has no api_key")
        self.client = client
        self.auth = httpx.BasicAuth(api_key, "")
        self.pace = pace

    def send(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        replayable: bool = True,
    ) -> dict[str, Any]:
        """One call (paced against ``operation``), retried in place after a 5xx, a dropped connection
        or a short 429; a call EasyPost must not act on twice only when it surely did not."""
        return retrying(lambda: self._request(operation, method, path, json, params), replayable=replayable)

    def download(self, url: str) -> bytes:
        """A label file: a plain file URL (S3 in the samples, §5), fetched without the API key."""
        try:
            response = self.client.get(url, auth=None)
        except httpx.HTTPError as exc:
            raise CarrierError(f"EasyPost label download: {type(exc).__name__}: {exc}") from exc
        if response.status_code != 200 or not response.content:
            raise CarrierError(
                f"EasyPost label download: HTTP {response.status_code}", status=response.status_code
            )
        return response.content

    def _request(
        self, operation: str, method: str, path: str, json: Any, params: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        what = f"EasyPost {method} {path}"
        self.pace(operation)
        response = sent(
            what,
            lambda: self.client.request(method, path.lstrip("/"), json=json, params=params, auth=self.auth),
        )
        status = response.status_code
        if 200 <= status < 300:
            try:
                body = response.json()
            except ValueError as exc:
                raise CarrierError(f"{what}: malformed JSON", status=status) from exc
            if not isinstance(body, dict):
                raise CarrierError(f"{what}: the answer is not a JSON object", status=status)
            return body
        request_id = response.headers.get("x-ep-request-uuid", "")
        message = f"{what}: HTTP {status} {error_text(response)}" + (
            f" (request {request_id})" if request_id else ""
        )
        raise refusal(response, message, operation)


def error_text(response: httpx.Response) -> str:
    """``code: message (field: message; ...)`` from EasyPost's error body, whichever shape ``errors``
    takes (objects or strings, §10)."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return response.text[:200]
    if not isinstance(error, dict):
        return response.text[:200]
    details = []
    for item in error.get("errors") or []:
        if isinstance(item, dict):
            details.append(f"{item.get('field')}: {item.get('message')}")
        else:
            details.append(str(item))
    text = f"{error.get('code', '')}: {error.get('message', '')}"
    return f"{text} ({'; '.join(details)})" if details else text
