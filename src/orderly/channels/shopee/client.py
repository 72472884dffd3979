"""HTTP to Shopee Open Platform v2 for one shop: the common parameters and their signature, the access
token kept fresh, pacing, in-place retries, and Shopee's error envelope turned into the connector
interface's exceptions.

Signing (contract §2): ``sign`` is the lowercase hex HMAC-SHA256, keyed with the partner key, of
``partner_id + api_path + timestamp + access_token + shop_id`` for shop calls and of
``partner_id + api_path + timestamp`` for the public (auth) calls; the body is not signed. Every call
sends ``partner_id``, ``timestamp`` (Unix seconds, good for 5 minutes) and ``sign`` in the query string,
shop calls ``access_token`` and ``shop_id`` too.

Tokens: an access token lasts 4 hours (contract §1). It is renewed with the refresh token through
``/api/v2/auth/access_token/get`` when it has less than :data:`RENEW_BEFORE` left, and once when Shopee
refuses it; each renewal gives a new refresh token too, kept through the connector's credentials
hook (sealed with the shop's other secrets). The renewal's request and answer (``refresh_token``,
``partner_id``, ``shop_id`` in; ``access_token``, ``refresh_token``, ``expire_in`` out) are UNCONFIRMED
by the contract (its payloads were not saved) and follow public client code.

Errors (contract §3): an empty ``error`` is success; the HTTP statuses Shopee uses are UNCONFIRMED, so
the ``error`` code decides, the status only where no envelope came back.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from orderly.channels.connector import (
    AuthFailed,
    ChannelError,
    CredentialKeeper,
    Pacer,
    RateLimited,
    Rejected,
    Unreached,
    retrying,
)

API = "/api/v2/"
REFRESH_PATH = "/api/v2/auth/access_token/get"
TOKEN_PATH = "/api/v2/auth/token/get"  # noqa: S105 - a path, not a secret
AUTH_PARTNER_PATH = "/api/v2/shop/auth_partner"
#: Renew an access token that has less than this left (seconds), so none expires between our check
#: and Shopee's.
RENEW_BEFORE = 300
#: When a throttled answer names no wait. UNCONFIRMED: Shopee publishes no limit nor Retry-After.
DEFAULT_RETRY_AFTER = 2.0
_BODY_CHARS = 2000

#: Codes meaning the access token is refused (expired or revoked): renew once, then give up.
#: ``invalid_acceess_token`` (sic) is how public client code reports Shopee's expiry answer (UNCONFIRMED).
TOKEN_REFUSED = frozenset({"error_auth", "invalid_access_token", "invalid_acceess_token"})
#: Credentials or permissions wrong: a person must fix them.
AUTH_ERRORS = frozenset({"error_sign", "error_permission", "error_shop", "error_partner"})
#: Throttled. UNCONFIRMED codes: the contract found none published.
THROTTLE_ERRORS = frozenset({"error_too_many_request", "error_rate_limit"})
#: The request itself is wrong (top-level codes; module codes such as ``order.order_list_invalid_time``
#: or ``logistics.invalid_error`` are the request's fault too).
REQUEST_ERRORS = frozenset({"error_param", "error_not_found", "error_data", "error_invalid_language"})


def base_string(
    partner_id: int, path: str, timestamp: int, access_token: str = "", shop_id: int | None = None
) -> str:
    """What is signed: the public variant without ``access_token`` and ``shop_id``."""
    return f"{partner_id}{path}{timestamp}{access_token}{'' if shop_id is None else shop_id}"


def sign(partner_key: str, base: str) -> str:
    return hmac.new(partner_key.encode(), base.encode(), hashlib.sha256).hexdigest()


def authorization_url(base_url: str, partner_id: int, partner_key: str, redirect: str, now: int) -> str:
    """The link a seller opens to authorize the app for their shop (a public call's signature);
    Shopee then sends their browser to ``redirect`` with ``?code=…&shop_id=…``."""
    query = {"partner_id": partner_id, "timestamp": now, "redirect": redirect}
    query["sign"] = sign(partner_key, base_string(partner_id, AUTH_PARTNER_PATH, now))
    return str(httpx.URL(base_url.rstrip("/") + AUTH_PARTNER_PATH, params=query))


class ShopeeApi:
    """Calls Shopee for one shop. ``pace`` is called before every request; ``keep`` stores renewed
    tokens (see :data:`~orderly.channels.connector.CredentialKeeper`)."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        credentials: Mapping[str, str],
        shop_id: int,
        pace: Pacer,
        keep: CredentialKeeper,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.credentials = dict(credentials)
        self.shop_id = shop_id
        self.pace = pace
        self.keep = keep
        self.clock = clock
        lacking = [name for name in ("partner_id", "partner_key") if not credentials.get(name)]
        if lacking or not str(credentials.get("partner_id", "")).isdigit():
            raise AuthFailed(f"the shop's credentials need {' and '.join(lacking) or 'a numeric partner_id'}")
        self.partner_id = int(credentials["partner_id"])
        self.partner_key = credentials["partner_key"]

    # --- calls ---------------------------------------------------------------------------------

    def call(
        self,
        operation: str,
        method: str,
        api: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        replayable: bool = True,
    ) -> dict[str, Any]:
        """One shop call (``api``: ``order/get_order_list``), counted against ``operation``'s rate
        limit and retried in place as ``retrying`` allows; returns the envelope's ``response`` ({} when
        it has none). An access token that is about to expire, or that Shopee refuses, is renewed once."""
        if self._expiring():
            self._refresh()
        send = lambda: self._shop_request(operation, method, API + api, params, json)  # noqa: E731
        try:
            answer = retrying(send, replayable=replayable)
        except _TokenRefused:
            self._refresh()
            try:
                answer = retrying(send, replayable=replayable)
            except _TokenRefused as exc:
                raise AuthFailed(str(exc), status=exc.status, body=exc.body) from None
        response = _envelope(answer).get("response")
        return response if isinstance(response, dict) else {}

    def download(self, operation: str, api: str, *, json: Any) -> bytes:
        """A shop call answering a file (the shipping document): its bytes."""
        if self._expiring():
            self._refresh()
        answer = retrying(lambda: self._shop_request(operation, "POST", API + api, None, json))
        if answer.headers.get("content-type", "").startswith("application/json"):
            _envelope(answer)  # an error envelope raises; a JSON answer without one is no file
            raise ChannelError(f"Shopee {api}: no file in the answer", status=answer.status_code)
        return answer.content

    def _expiring(self) -> bool:
        expire_at = self.credentials.get("expire_at", "")
        return expire_at.isdigit() and int(expire_at) - self.clock() < RENEW_BEFORE

    def _refresh(self) -> None:
        refresh = self.credentials.get("refresh_token")
        if not refresh:
            raise AuthFailed("the shop's access token expired and its credentials have no refresh_token")
        body = {"refresh_token": refresh, "partner_id": self.partner_id, "shop_id": self.shop_id}
        # Sent once: a refresh token is good once, and an answer lost would leave us without one. Not
        # paced: the auth endpoint is no call against the shop's budget.
        try:
            answer = retrying(
                lambda: self._request(None, "POST", REFRESH_PATH, self._common(REFRESH_PATH), body),
                replayable=False,
            )
        except _TokenRefused as exc:
            # Another worker may have spent this refresh token a moment ago (it is good once): the
            # job's next try reads the tokens it stored. Revoked for good, the tries run out visibly.
            raise ChannelError(
                f"{exc}; the refresh token was refused: renewed elsewhere meanwhile, or revoked (then the "
                "shop must be authorized again)",
                status=exc.status,
                body=exc.body,
            ) from None
        self.credentials |= tokens(_envelope(answer), self.clock())
        self.keep(self.credentials)

    def exchange_code(self, code: str) -> dict[str, str]:
        """The first tokens for a shop, from the code Shopee gave the seller's browser."""
        body = {"code": code, "partner_id": self.partner_id, "shop_id": self.shop_id}
        answer = retrying(
            lambda: self._request(None, "POST", TOKEN_PATH, self._common(TOKEN_PATH), body),
            replayable=False,
        )
        return tokens(_envelope(answer), self.clock())

    def _common(self, path: str, access_token: str = "", shop: bool = False) -> dict[str, Any]:
        now = int(self.clock())
        params: dict[str, Any] = {"partner_id": self.partner_id, "timestamp": now}
        if shop:
            params |= {"access_token": access_token, "shop_id": self.shop_id}
        params["sign"] = sign(
            self.partner_key,
            base_string(self.partner_id, path, now, access_token, self.shop_id if shop else None),
        )
        return params

    def _shop_request(
        self, operation: str, method: str, path: str, params: Mapping[str, Any] | None, json: Any
    ) -> httpx.Response:
        token = self.credentials.get("access_token")
        if not token:
            raise AuthFailed("the shop's credentials have no access_token: authorize the shop first")
        # Signed at each try: a timestamp is good for 5 minutes only.
        return self._request(
            operation, method, path, {**(params or {}), **self._common(path, token, shop=True)}, json
        )

    def _request(
        self, operation: str | None, method: str, path: str, params: Mapping[str, Any], json: Any
    ) -> httpx.Response:
        """One request; ``operation`` None: the token endpoint, outside the shop's budget."""
        what = f"Shopee {path.removeprefix(API)}"
        if operation is not None:
            self.pace(operation)
        try:
            response = self.client.request(method, path, params=params, json=json)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise Unreached(f"{what}: no connection: {exc!r}") from exc
        except httpx.TimeoutException as exc:
            raise ChannelError(f"{what}: timed out") from exc
        except httpx.HTTPError as exc:
            raise ChannelError(f"{what}: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status == 429:
            raise RateLimited(
                f"{what}: HTTP 429 {response.text[:200]}",
                retry_after=_retry_after(response),
                operation=operation,
                body=response.text[:_BODY_CHARS],
            )
        if status >= 500:
            raise ChannelError(
                f"{what}: HTTP {status} {response.text[:200]}",
                status=status,
                body=response.text[:_BODY_CHARS],
            )
        if response.headers.get("content-type", "").startswith("application/json"):
            _check(what, operation, response)
        elif status >= 400:
            raise Rejected(
                f"{what}: HTTP {status} {response.text[:200]}",
                status=status,
                body=response.text[:_BODY_CHARS],
            )
        return response


class _TokenRefused(AuthFailed):
    """Shopee refused the access token: renewed once before it counts as :class:`AuthFailed`."""


def _check(what: str, operation: str | None, response: httpx.Response) -> None:
    """Shopee's error envelope as the interface's exceptions; unknown codes are taken as temporary
    (UNCONFIRMED which are): the job tries again, spending its attempts, rather than dropping work on
    a code the hub cannot read."""
    try:
        payload = response.json()
    except ValueError:
        return  # left to the caller's reading of the answer
    error = payload.get("error") if isinstance(payload, dict) else None
    if not error or not isinstance(error, str):
        return
    message = f"{what}: {error}: {payload.get('message') or ''} (request {payload.get('request_id')})"
    status, body = response.status_code, response.text[:_BODY_CHARS]
    if error in TOKEN_REFUSED:
        raise _TokenRefused(message, status=status, body=body)
    if error in AUTH_ERRORS:
        raise AuthFailed(message, status=status, body=body)
    if error in THROTTLE_ERRORS:
        raise RateLimited(
            message, retry_after=_retry_after(response), operation=operation, status=status, body=body
        )
    if error in REQUEST_ERRORS or "." in error:
        raise Rejected(message, status=status, body=body)
    raise ChannelError(
        f"{message}; an error code the hub does not know, taken as temporary", status=status, body=body
    )


def _envelope(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object (its error already checked); anything else is a bad answer."""
    try:
        payload = response.json()
    except ValueError as exc:
        raise ChannelError(
            f"Shopee {response.request.url.path}: malformed JSON",
            status=response.status_code,
            body=response.text[:_BODY_CHARS],
        ) from exc
    if not isinstance(payload, dict):
        raise ChannelError(f"Shopee {response.request.url.path}: the answer is not an object")
    return payload


def tokens(payload: Mapping[str, Any], now: float) -> dict[str, str]:
    """The credentials a token answer gives: both tokens and when the access token expires."""
    access, refresh, lifetime = (
        payload.get("access_token"),
        payload.get("refresh_token"),
        payload.get("expire_in"),
    )
    if not isinstance(access, str) or not access or not isinstance(refresh, str) or not refresh:
        raise ChannelError("Shopee's token answer has no access_token and refresh_token")
    if isinstance(lifetime, bool) or not isinstance(lifetime, int) or lifetime <= 0:
        raise ChannelError(f"Shopee's token answer has no usable expire_in: {lifetime!r}")
    return {"access_token": access, "refresh_token": refresh, "expire_at": str(int(now) + lifetime)}


def _retry_after(response: httpx.Response) -> float:
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return DEFAULT_RETRY_AFTER
    return seconds if math.isfinite(seconds) and seconds >= 0 else DEFAULT_RETRY_AFTER
