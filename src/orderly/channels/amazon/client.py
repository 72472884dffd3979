"""HTTP to the Selling Partner API for one seller: Login with Amazon tokens, the access-token header,
and SP-API outcomes turned into the connector interface's exceptions.

Access tokens (``Atza|...``, an hour) are shared by every connector in the process that uses the same
app credentials and refresh token, and renewed shortly before they expire. A 403 on a cached token
gets one new token and one more try: Amazon answers an expired or revoked token with a 403 whose
wording is not documented, so the retry does not depend on it.

Calls that return buyer data (getOrders, getOrder) carry a Restricted Data Token instead of the access
token: without one Amazon withholds the buyer's name and email and the address's name, street and
phone. One RDT names every restricted resource the connector reads, by generic path, so it serves every
batch of orders until it expires; it is cached like the access token and renewed the same way.
"""

from __future__ import annotations

import hashlib
import json as jsonlib
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from orderly.channels.connector import (
    AuthFailed,
    ChannelError,
    Pacer,
    RateLimit,
    RateLimited,
    Rejected,
    Unreached,
    require_credentials,
    retrying,
)
from orderly.core.clock import utcnow
from orderly.core.redact import remember

USER_AGENT = "Orderly/0.1 (Language=Python)"

#: Credentials key (and, for an RDT, the restricted resources it names) -> (token, monotonic renew time).
_tokens: dict[str, tuple[str, float]] = {}
_tokens_lock = threading.Lock()
RDT_PATH = "/tokens/2021-03-01/restrictedDataToken"


def _error_text(response: httpx.Response) -> str:
    """The message of an SP-API ``{"errors": [...]}`` or LWA ``{"error", ...}`` body."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(data, dict) and isinstance(data.get("errors"), list):
        parts = []
        for error in data["errors"]:
            if isinstance(error, dict):
                text = f"{error.get('code', '')}: {error.get('message', '')}"
                parts.append(f"{text} ({error['details']})" if error.get("details") else text)
        return "; ".join(parts) or response.reason_phrase
    if isinstance(data, dict) and data.get("error"):
        return f"{data['error']}: {data.get('error_description', '')}"
    return response.reason_phrase


class SpApi:
    """Calls one SP-API endpoint as one seller. ``rate_limits`` (by our operation names) give the
    wait after a 429 that says nothing about the rate; ``pace`` is called before every SP-API request
    (see :data:`~orderly.channels.connector.Pacer`)."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        base_url: str,
        token_url: str,
        credentials: Mapping[str, str],
        rate_limits: Mapping[str, RateLimit],
        pace: Pacer,
    ) -> None:
        require_credentials(credentials, ("client_id", "client_secret", "refresh_token"), "Amazon")
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.token_url = token_url
        self.rate_limits = rate_limits
        self.pace = pace
        self._form = {
            "grant_type": "refresh_token",
            "refresh_token": credentials["refresh_token"],
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
        }
        # The cache key never holds the secrets themselves.
        self._key = hashlib.sha256(
            "\0".join((token_url, credentials["client_id"], credentials["refresh_token"])).encode()
        ).hexdigest()

    # --- Login with Amazon -------------------------------------------------------------------------

    def _cached(self, key: str) -> str | None:
        with _tokens_lock:
            entry = _tokens.get(key)
        return entry[0] if entry and entry[1] > time.monotonic() else None

    def _keep(self, key: str, token: str, lifetime: float) -> None:
        # Renew a little early so a token never expires between our check and Amazon's.
        renew_at = time.monotonic() + lifetime - min(60.0, lifetime / 10)
        remember(token)  # never shown in errors or logs, like the credentials it was made from
        with _tokens_lock:
            _tokens[key] = (token, renew_at)

    def _forget(self, key: str, token: str) -> None:
        with _tokens_lock:
            if _tokens.get(key, ("",))[0] == token:  # another thread may have renewed it already
                del _tokens[key]

    def _new_token(self) -> str:
        try:
            response = self.client.post(
                self.token_url, data=self._form, headers={"Accept": "application/json"}
            )
        except httpx.HTTPError as exc:
            raise ChannelError(f"LWA token request failed: {exc!r}") from exc
        text = response.text[:2000]
        if response.status_code == 429:
            raise RateLimited("LWA throttled the token request", retry_after=1.0, body=text)
        if 400 <= response.status_code < 500:
            raise AuthFailed(
                f"LWA refused the credentials: {_error_text(response)}",
                status=response.status_code,
                body=text,
            )
        if response.status_code != 200:
            raise ChannelError(
                f"LWA token request failed: HTTP {response.status_code}", status=response.status_code
            )
        try:
            data = response.json()
            token, lifetime = data["access_token"], float(data["expires_in"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ChannelError("LWA sent a malformed token response", status=200, body=text) from exc
        if not isinstance(token, str) or not token:
            raise ChannelError("LWA sent no access token", status=200, body=text)
        self._keep(self._key, token, lifetime)
        return token

    def _new_restricted_token(self, key: str, resources: Sequence[Mapping[str, Any]]) -> str:
        """Tokens API createRestrictedDataToken for ``resources``, called with the access token."""
        body = self._call("rdt", "POST", RDT_PATH, None, {"restrictedResources": list(resources)}, None)
        try:
            token, lifetime = body["restrictedDataToken"], float(body["expiresIn"])
        except (KeyError, TypeError, ValueError) as exc:
            text = str(body)[:2000]
            raise ChannelError("createRestrictedDataToken: malformed response", body=text) from exc
        if not isinstance(token, str) or not token:
            raise ChannelError("createRestrictedDataToken sent no token", body=str(body)[:2000])
        self._keep(key, token, lifetime)
        return token

    # --- SP-API ------------------------------------------------------------------------------------

    def call(
        self,
        op: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        restricted: Sequence[Mapping[str, Any]] | None = None,
    ) -> Any:
        """The response's JSON (None for an empty 2xx). A 500, a dropped connection or a short
        throttle is retried here (every SP-API call we make may be sent twice: reads, absolute
        quantities, shipments keyed by package). ``restricted``: the restricted resources (Tokens API
        shape) whose RDT the call must carry to see buyer data."""
        return retrying(lambda: self._call(op, method, path, params, json, restricted))

    def _call(
        self,
        op: str,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any,
        restricted: Sequence[Mapping[str, Any]] | None,
    ) -> Any:
        if restricted is None:
            key = self._key
            token = self._cached(key)
            fresh = token is None
            token = token or self._new_token()
        else:
            key = self._key + ":" + jsonlib.dumps(restricted, sort_keys=True)
            token = self._cached(key)
            fresh = token is None
            token = token or self._new_restricted_token(key, restricted)
        self.pace(op)
        response = self._send(method, path, token, params, json)
        if response.status_code == 403 and not fresh:
            # An expired or revoked token: one new one, one more try.
            self._forget(key, token)
            token = self._new_token() if restricted is None else self._new_restricted_token(key, restricted)
            self.pace(op)  # the second try is a request of its own
            response = self._send(method, path, token, params, json)
        return self._result(op, response)

    def _send(
        self, method: str, path: str, token: str, params: Mapping[str, Any] | None, json: Any
    ) -> httpx.Response:
        headers = {
            "x-amz-access-token": token,
            "x-amz-date": f"{utcnow():%Y%m%dT%H%M%SZ}",
            "user-agent": USER_AGENT,
            "accept": "application/json",
        }
        try:
            return self.client.request(
                method, self.base_url + path, params=params, json=json, headers=headers
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise Unreached(f"{method} {path}: no connection: {exc!r}") from exc
        except httpx.TimeoutException as exc:
            raise ChannelError(f"{method} {path} timed out") from exc
        except httpx.HTTPError as exc:
            raise ChannelError(f"{method} {path} failed: {exc!r}") from exc

    def _result(self, op: str, response: httpx.Response) -> Any:
        status, text = response.status_code, response.text[:2000]
        if status == 429:
            # Named by our operation, so the engine holds back only that operation's bucket.
            raise RateLimited(
                f"{op}: {_error_text(response)}",
                operation=op,
                retry_after=self._retry_after(op, response),
                body=text,
            )
        if status == 403:
            raise AuthFailed(f"{op}: {_error_text(response)}", status=status, body=text)
        if 400 <= status < 500:
            raise Rejected(f"{op}: {_error_text(response)}", status=status, body=text)
        if not 200 <= status < 300:
            raise ChannelError(f"{op}: HTTP {status} {_error_text(response)}", status=status, body=text)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise ChannelError(f"{op}: malformed JSON in the response", status=status, body=text) from exc

    def _retry_after(self, op: str, response: httpx.Response) -> float:
        """Retry-After when sent (Amazon does not document it), else one token's worth of the rate
        the response states, else of the rate Amazon publishes for the operation."""
        for header, to_seconds in (
            ("Retry-After", float),
            ("x-amzn-RateLimit-Limit", lambda v: 1 / float(v)),
        ):
            value = response.headers.get(header)
            if value:
                try:
                    seconds = to_seconds(value)
                except (ValueError, ZeroDivisionError):
                    continue
                if seconds >= 0:
                    return seconds
        return 1 / self.rate_limits[op].per_second
