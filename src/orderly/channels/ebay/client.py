"""HTTP to eBay's Sell APIs (Fulfillment v1, Inventory v1) for one seller: the OAuth user token and its
refresh, pacing, in-place retries, and eBay's error bodies turned into the connector interface's
exceptions.

Tokens (eBay's OAuth pages, read for this; the contract left them UNCONFIRMED): ``POST
/identity/v1/oauth2/token`` on the API host, form-encoded, with HTTP Basic auth of the app's client id
and secret. ``grant_type=authorization_code`` with the ``code`` the seller's consent gave and
``redirect_uri`` = the app's RuName answers ``{access_token, expires_in, refresh_token,
refresh_token_expires_in, token_type}``; ``grant_type=refresh_token`` (with the scopes) answers a new
``access_token`` and ``expires_in`` (about two hours) and keeps the refresh token (about 18 months), so
a refresh spends nothing another process could need. A refused grant is ``{"error": "invalid_grant",
"error_description"}``. The access token is refreshed ``REFRESH_AHEAD`` before it expires and once on
eBay's invalid-token answer (HTTP 401, errorId 1001, domain OAuth: third-party reports); new tokens go
to the engine (``keep``) to be sealed with the shop's other secrets, and are shared by every connector
of the shop in this process.

Errors are ``{"errors": [{"errorId", "domain", "category", "message", "longMessage", "parameters"}]}``
(the envelope is UNCONFIRMED: no verbatim sample): 401 refreshes or gives up, 403 gives up (scope
missing: the seller must authorise again), 429 is throttling (eBay's daily call limits: no
``Retry-After`` is documented, so one missing waits ``DEFAULT_RETRY_AFTER``), other 4xx refuse the
request, 5xx and anything unknown are retried.
"""

from __future__ import annotations

import base64
import hashlib
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from orderly.channels.connector import (
    AuthFailed,
    ChannelError,
    CredentialKeeper,
    Pacer,
    RateLimited,
    Rejected,
    Unreached,
    require_credentials,
    retrying,
)
from orderly.channels.tokens import TokenShelf
from orderly.core.redact import remember

TOKEN_PATH = "/identity/v1/oauth2/token"  # noqa: S105 - a path, not a secret
#: The OAuth scopes the connector's calls need (the contract's [OAS] ``security``; Inventory's by name).
SCOPES = (
    "https://api.ebay.com/oauth/api_scope/sell.fulfillment",
    "https://api.ebay.com/oauth/api_scope/sell.inventory",
)
#: eBay's invalid / expired access token (third-party reports of live answers).
INVALID_TOKEN = 1001
#: When a throttled answer gives no Retry-After: eBay's limits are per day, so a throttle is not over
#: in a second; a minute keeps the retries few (UNCONFIRMED: eBay documents no header).
DEFAULT_RETRY_AFTER = 60.0
#: A token this close to its expiry is refreshed before it is used (they live two hours).
REFRESH_AHEAD = 300
TOKEN_FIELDS = ("access_token", "access_token_expires_at", "refresh_token", "refresh_token_expires_at")
_BODY_CHARS = 2000

#: The newest tokens this process holds, by app and refresh token (see ``SellApi._key``).
_SHELF = TokenShelf()


@dataclass(frozen=True)
class Answer:
    status: int
    headers: httpx.Headers
    body: Any  # the JSON body; None when there is none


class _TokenRefused(ChannelError):
    """The access token was refused: refreshed once, then an AuthFailed."""


class SellApi:
    """Calls eBay as one seller. ``pace`` is called before every request (see
    :data:`~orderly.channels.connector.Pacer`); ``keep`` receives new tokens to store."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        credentials: Mapping[str, str],
        pace: Pacer,
        keep: CredentialKeeper,
        clock: Callable[[], float] = time.time,
    ) -> None:
        require_credentials(credentials, ("client_id", "client_secret"), "eBay")
        self.client = client
        self.client_id, self.client_secret = credentials["client_id"], credentials["client_secret"]
        self.ru_name = credentials.get("ru_name")
        self.pace = pace
        self.keep = keep
        self.clock = clock
        tokens = {k: credentials[k] for k in TOKEN_FIELDS if credentials.get(k)}
        # eBay keeps the refresh token through refreshes: it names the seller's grant.
        lineage = hashlib.sha256(tokens.get("refresh_token", "").encode()).hexdigest()[:16]
        self._key = f"{self.client_id}:{lineage}"
        # Another connector of this shop may hold newer tokens than those it was built with.
        self.tokens = _SHELF.newest(self._key, tokens, _expiry)

    # --- tokens ---------------------------------------------------------------------------------------

    def _access_token(self) -> str:
        token = self.tokens.get("access_token")
        expiry = _expiry(self.tokens)
        if not token or (expiry and expiry - self.clock() < REFRESH_AHEAD):
            return self._refresh(token)
        return token

    def _refresh(self, stale: str | None) -> str:
        """A new access token, unless another connector of the shop got one since ``stale`` was read."""
        with _SHELF.refreshing(self._key):
            held = _SHELF.held(self._key)
            fresh_enough = held is not None and _expiry(held) - self.clock() >= REFRESH_AHEAD
            if held is not None and fresh_enough and held.get("access_token") not in (None, stale):
                self.tokens = dict(held)
                return held["access_token"]
            refresh_token = self.tokens.get("refresh_token")
            if not refresh_token:
                raise AuthFailed(
                    "the shop's eBay access token needs refreshing and it has no refresh_token: "
                    "authorise it (orderly shop authorize)"
                )
            form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "scope": " ".join(SCOPES)}
            fresh = {**self._token_call("refresh", form), "refresh_token": refresh_token}
            if self.tokens.get("refresh_token_expires_at"):
                fresh["refresh_token_expires_at"] = self.tokens["refresh_token_expires_at"]
            self._hold(fresh)
            self.keep(fresh)
            return fresh["access_token"]

    def _hold(self, fresh: dict[str, str]) -> None:
        self.tokens = fresh
        _SHELF.hold(self._key, fresh)

    def _token_call(self, kind: str, form: Mapping[str, str]) -> dict[str, str]:
        what = f"eBay token {kind}"
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        headers = {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"}
        self.pace("token")
        try:
            response = self.client.post(TOKEN_PATH, data=dict(form), headers=headers)
        except httpx.HTTPError as exc:
            raise ChannelError(f"{what}: {type(exc).__name__}") from exc
        text = response.text[:_BODY_CHARS]
        try:
            body = response.json()
        except ValueError:
            body = None
        status = response.status_code
        if status == 429:
            raise RateLimited(f"{what}: throttled", retry_after=_retry_after(response), body=text)
        if status >= 500 or not isinstance(body, dict):
            raise ChannelError(f"{what}: HTTP {status}", status=status, body=text)
        if status != 200 or not body.get("access_token"):
            said = f"{what} refused ({body.get('error')}: {body.get('error_description')})"
            raise AuthFailed(f"{said}: authorise the shop again", status=status, body=text)
        return tokens_of(body, self.clock())

    def exchange_code(self, code: str) -> dict[str, str]:
        """The tokens the seller's authorisation code gives; this process's connectors of the shop use
        them from now on (the caller stores them)."""
        if not self.ru_name:
            raise AuthFailed("the shop's eBay credentials lack ru_name (the app's redirect URL name)")
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.ru_name}
        fresh = self._token_call("code", form)
        if not fresh.get("refresh_token"):
            raise ChannelError("eBay's answer to the authorisation code has no refresh_token")
        lineage = hashlib.sha256(fresh["refresh_token"].encode()).hexdigest()[:16]
        self._key = f"{self.client_id}:{lineage}"
        self._hold(fresh)
        return fresh

    # --- calls ----------------------------------------------------------------------------------------

    def call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        replayable: bool = True,
        ok: Sequence[int] = (200,),
    ) -> Answer:
        """One call, counted against ``operation``'s rate limit and retried in place after a 5xx, a
        dropped connection or a short throttle (a call eBay must not act on twice,
        ``replayable=False``, only when it surely did not). A refused token is refreshed once. ``ok``:
        the statuses that are success (201 for a created fulfillment, 207 for a bulk update)."""

        def send() -> Answer:
            token = self._access_token()
            try:
                return self._request(operation, method, path, params, body, token, ok)
            except _TokenRefused:
                token = self._refresh(token)
                try:
                    return self._request(operation, method, path, params, body, token, ok)
                except _TokenRefused as exc:
                    raise AuthFailed(str(exc), status=exc.status, body=exc.body) from exc

        return retrying(send, replayable=replayable)

    def _request(
        self,
        operation: str,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Any,
        token: str,
        ok: Sequence[int],
    ) -> Answer:
        what = f"eBay {method} {path}"
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        # Encoded here, every reserved character escaped: eBay wants a filter's [ ] { | } encoded.
        url = f"{path}?{urlencode(query, quote_via=quote, safe='')}" if query else path
        self.pace(operation)
        try:
            response = self.client.request(method, url, json=body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise Unreached(f"{what}: no connection: {exc!r}") from exc
        except httpx.TimeoutException as exc:
            raise ChannelError(f"{what}: timed out") from exc
        except httpx.HTTPError as exc:
            raise ChannelError(f"{what}: {type(exc).__name__}: {exc}") from exc
        return _result(what, operation, response, ok)


def tokens_of(body: Mapping[str, Any], now: float) -> dict[str, str]:
    """The credentials a token answer gives, as text, the lifetimes made moments (Unix seconds)."""
    tokens = {"access_token": str(body["access_token"])}
    remember(tokens["access_token"])
    if body.get("refresh_token"):
        tokens["refresh_token"] = str(body["refresh_token"])
        remember(tokens["refresh_token"])
    for lifetime, moment in (
        ("expires_in", "access_token_expires_at"),
        ("refresh_token_expires_in", "refresh_token_expires_at"),
    ):
        seconds = body.get(lifetime)
        if isinstance(seconds, int) and not isinstance(seconds, bool) and seconds > 0:
            tokens[moment] = str(int(now) + seconds)
    return tokens


def _expiry(tokens: Mapping[str, str]) -> float:
    """When the access token expires (Unix seconds); 0 when unknown, so a token whose expiry was
    never recorded gives way to one that has it (and is used until eBay refuses it)."""
    try:
        value = float(tokens.get("access_token_expires_at") or 0)
    except ValueError:
        return 0.0
    return value if math.isfinite(value) else 0.0


def errors_of(body: Any) -> list[dict[str, Any]]:
    errors = body.get("errors") if isinstance(body, dict) else None
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def describe(errors: Sequence[Mapping[str, Any]]) -> str:
    return "; ".join(
        f"{e.get('errorId')} {e.get('message') or ''}".strip()
        + (
            f" ({e['longMessage']})"
            if e.get("longMessage") and e.get("longMessage") != e.get("message")
            else ""
        )
        for e in errors
    )[:500]


def _result(what: str, operation: str, response: httpx.Response, ok: Sequence[int]) -> Answer:
    status = response.status_code
    text = response.text[:_BODY_CHARS]
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    if status in ok:
        return Answer(status, response.headers, body)
    errors = errors_of(body)
    said = f"{what}: HTTP {status}" + (f": {describe(errors)}" if errors else "")
    if status == 429:
        raise RateLimited(said, retry_after=_retry_after(response), operation=operation, body=text)
    if status == 401:
        if any(e.get("errorId") == INVALID_TOKEN for e in errors) or not errors:
            raise _TokenRefused(said, status=status, body=text)
        raise AuthFailed(said, status=status, body=text)
    if status == 403:
        raise AuthFailed(said + " (is the scope granted? authorise the shop again)", status=status, body=text)
    if 400 <= status < 500 and status not in (408, 409):
        raise Rejected(said, status=status, body=text)
    # A 5xx, a timeout or conflict answer, or a success status the call does not expect: never taken
    # as done; retried.
    raise ChannelError(said, status=status, body=text)


def _retry_after(response: httpx.Response) -> float:
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return DEFAULT_RETRY_AFTER
    return seconds if math.isfinite(seconds) and seconds >= 0 else DEFAULT_RETRY_AFTER
