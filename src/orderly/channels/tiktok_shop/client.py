"""HTTP to the TikTok Shop Partner API (version 202309) for one shop: signing, the access-token header,
token refresh, pacing, in-place retries, and TikTok's envelope turned into the connector interface's
exceptions.

Signing (CONTRACT.md section 2, partially confirmed): every query parameter but ``sign`` and
``access_token``, sorted by key and written ``keyvalue`` without separators, after the request path and
before the body exactly as sent (JSON, never multipart here), the whole wrapped in the app secret; the
``sign`` is the lowercase hex HMAC-SHA256 of that, keyed with the app secret. ``timestamp`` is Unix
seconds; shop-scoped calls carry the shop's ``shop_cipher``; the token travels in ``x-tts-access-token``.

Every answer is ``{"code", "message", "request_id", "data"}``: code 0 is success, whatever the HTTP
status says. Codes the contract gives: 106001 (invalid sign: our app secret is wrong, a person must fix
it). UNCONFIRMED, from third-party code: 105001 (access token invalid) and 105002 (expired), on which
the token is refreshed once and the call sent again; 36009003 (internal error) is retried like a 5xx.
Any other non-zero code is taken conservatively: a 4xx as a refusal of the request, anything else as a
failure the job retries, never as success.

Tokens (UNCONFIRMED endpoints, CONTRACT.md section 7: the shape third-party clients use): GET
``/api/v2/token/refresh?app_key&app_secret&refresh_token&grant_type=refresh_token`` on the auth host
answers ``data{access_token, access_token_expire_in, refresh_token, refresh_token_expire_in}``, the
expiries as Unix seconds. The access token is refreshed ``REFRESH_AHEAD`` before it expires and on an
expired-token answer; the new tokens go to the engine (``keep``) to be sealed with the shop's other
secrets, and are shared by every connector of the shop in this process, so two jobs never spend one
refresh token twice here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import time
from collections.abc import Callable, Mapping
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

#: The contract's live code for a wrong ``sign``.
INVALID_SIGN = 106001
#: UNCONFIRMED (third-party code): the access token is invalid / has expired.
TOKEN_REFUSED = frozenset({105001, 105002})
#: UNCONFIRMED: TikTok's internal error, retried like a 5xx.
INTERNAL_ERRORS = frozenset({36009003})
#: UNCONFIRMED: throttling said by code (TikTok publishes neither codes nor headers; a 429 always is).
RATE_LIMIT_CODES = frozenset({36009005})
#: When a throttled answer gives no Retry-After.
DEFAULT_RETRY_AFTER = 1.0
#: A token this close to its expiry is refreshed before it is used.
REFRESH_AHEAD = 3600
_BODY_CHARS = 2000

#: The newest tokens this process holds, by app key and refresh token lineage (see ``_key``).
_SHELF = TokenShelf()


def sign(secret: str, path: str, params: Mapping[str, str], body: bytes = b"") -> str:
    """The ``sign`` query parameter of a request (see the module's docstring)."""
    pairs = "".join(f"{key}{params[key]}" for key in sorted(params) if key not in ("sign", "access_token"))
    message = secret.encode() + path.encode() + pairs.encode() + body + secret.encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class _TokenRefused(ChannelError):
    """The access token was refused: refreshed once, then an AuthFailed."""


class PartnerApi:
    """Calls the Partner API as one shop. ``pace`` is called before every request (see
    :data:`~orderly.channels.connector.Pacer`); ``keep`` receives new tokens to store."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        auth_url: str,
        credentials: Mapping[str, str],
        shop_cipher: str | None,
        pace: Pacer,
        keep: CredentialKeeper,
        clock: Callable[[], float] = time.time,
    ) -> None:
        require_credentials(credentials, ("app_key", "app_secret"), "TikTok Shop")
        self.client = client
        self.auth_url = auth_url.rstrip("/")
        self.app_key, self.app_secret = credentials["app_key"], credentials["app_secret"]
        self.shop_cipher = shop_cipher
        self.pace = pace
        self.keep = keep
        self.clock = clock
        self._key = f"{self.app_key}:{shop_cipher or ''}"
        tokens = {k: credentials[k] for k in TOKEN_FIELDS if credentials.get(k)}
        # Another connector of this shop may hold newer tokens than those it was built with.
        self.tokens = _SHELF.newest(self._key, tokens, _expiry)

    # --- tokens ---------------------------------------------------------------------------------------

    def _access_token(self) -> str:
        token = self.tokens.get("access_token")
        expiry = _expiry(self.tokens)
        # A token whose expiry was never recorded is used until TikTok says it expired.
        if not token or (expiry and expiry - self.clock() < REFRESH_AHEAD):
            return self._refresh(token)
        return token

    def _refresh(self, stale: str | None) -> str:
        """A new access token, unless another connector of the shop got one since ``stale`` was read."""
        with _SHELF.refreshing(self._key):
            held = _SHELF.held(self._key)
            if held is not None and held.get("access_token") not in (None, stale):
                if _expiry(held) - self.clock() >= REFRESH_AHEAD:
                    self.tokens = dict(held)
                    return held["access_token"]
                self.tokens = dict(held)
            refresh_token = self.tokens.get("refresh_token")
            if not refresh_token:
                raise AuthFailed("the shop's access token needs refreshing and it has no refresh_token")
            data = self._token_call(
                "refresh",
                {
                    "app_key": self.app_key,
                    "app_secret": self.app_secret,
                    "refresh_token": refresh_token,
                    "grant_type": "refresh_token",
                },
            )
            fresh = tokens_of(data)
            self.tokens = fresh
            _SHELF.hold(self._key, fresh)
            self.keep(fresh)
            return fresh["access_token"]

    def _token_call(self, kind: str, params: Mapping[str, str]) -> Any:
        what = f"TikTok Shop token {kind}"
        try:
            response = self.client.get(f"{self.auth_url}/api/v2/token/{kind}", params=params)
        except httpx.HTTPError as exc:
            raise ChannelError(f"{what}: {type(exc).__name__}") from exc
        text = response.text[:_BODY_CHARS]
        try:
            body = response.json()
        except ValueError as exc:
            raise ChannelError(f"{what}: HTTP {response.status_code}, not JSON", body=text) from exc
        code = body.get("code") if isinstance(body, dict) else None
        if response.status_code == 429:
            raise RateLimited(f"{what}: throttled", retry_after=_retry_after(response), body=text)
        if response.status_code >= 500:
            raise ChannelError(f"{what}: HTTP {response.status_code}", status=response.status_code, body=text)
        if code != 0:
            message = body.get("message") if isinstance(body, dict) else None
            said = f"{what} refused ({code}: {message})"
            if kind == "refresh":
                # Another process may have spent the refresh token first and stored its successor: the
                # job's next try reads the shop's credentials again. Past its tries it is dead, for a
                # person to authorise the shop again.
                raise ChannelError(
                    f"{said}: tried again with the stored tokens; if it keeps failing the shop must be "
                    "authorised again",
                    status=response.status_code,
                    body=text,
                )
            raise AuthFailed(f"{said}: authorise the shop again", status=response.status_code, body=text)
        return body.get("data")

    def exchange_code(self, auth_code: str) -> dict[str, str]:
        """The tokens a seller's authorisation code gives (``/api/v2/token/get``); this process's
        connectors of the shop use them from now on (the caller stores them)."""
        data = self._token_call(
            "get",
            {
                "app_key": self.app_key,
                "app_secret": self.app_secret,
                "auth_code": auth_code,
                "grant_type": "authorized_code",
            },
        )
        fresh = tokens_of(data)
        self.tokens = fresh
        _SHELF.hold(self._key, fresh)
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
        shop: bool = True,
        replayable: bool = True,
    ) -> Any:
        """The ``data`` of one Partner API call, counted against ``operation``'s rate limit and retried
        in place after a 5xx, a dropped connection or a short throttle (a call TikTok must not act on
        twice, ``replayable=False``, only when it surely did not). A refused token is refreshed once."""
        content = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()

        def send() -> Any:
            token = self._access_token()
            try:
                return self._request(operation, method, path, params, content, token, shop)
            except _TokenRefused:
                token = self._refresh(token)
                try:
                    return self._request(operation, method, path, params, content, token, shop)
                except _TokenRefused as exc:
                    raise AuthFailed(str(exc), status=exc.status, body=exc.body) from exc

        return retrying(send, replayable=replayable)

    def _request(
        self,
        operation: str,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        content: bytes,
        token: str,
        shop: bool,
    ) -> Any:
        what = f"TikTok Shop {method} {path}"
        query = {key: str(value) for key, value in (params or {}).items() if value is not None}
        query |= {"app_key": self.app_key, "timestamp": str(int(self.clock()))}
        if shop:
            if not self.shop_cipher:
                raise AuthFailed("the shop's settings have no shop_cipher")
            query["shop_cipher"] = self.shop_cipher
        query["sign"] = sign(self.app_secret, path, query, content)
        headers = {"x-tts-access-token": token, "content-type": "application/json"}
        self.pace(operation)
        try:
            # Encoded here, every reserved character escaped: a page token's "+" left bare would reach
            # TikTok as a space and the sign would not match.
            url = f"{path}?{urlencode(query, quote_via=quote, safe='')}"
            response = self.client.request(method, url, content=content or None, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise Unreached(f"{what}: no connection: {exc!r}") from exc
        except httpx.TimeoutException as exc:
            raise ChannelError(f"{what}: timed out") from exc
        except httpx.HTTPError as exc:
            raise ChannelError(f"{what}: {type(exc).__name__}: {exc}") from exc
        return _result(what, operation, response)


TOKEN_FIELDS = ("access_token", "access_token_expire_in", "refresh_token", "refresh_token_expire_in")


def tokens_of(data: Any) -> dict[str, str]:
    """The credentials a token answer gives, as text (the shop's credentials are text)."""
    if not isinstance(data, dict) or not data.get("access_token") or not data.get("refresh_token"):
        raise ChannelError("TikTok Shop's token answer has no access_token and refresh_token")
    tokens = {name: str(data[name]) for name in TOKEN_FIELDS if data.get(name) is not None}
    remember(tokens["access_token"], tokens["refresh_token"])
    for name in ("access_token_expire_in", "refresh_token_expire_in"):
        # UNCONFIRMED: third-party clients read these as Unix times, one as seconds to go; a figure
        # too small to be a Unix time is taken as seconds from now.
        value = tokens.get(name, "")
        if value.isdigit() and int(value) < _UNIX_TIME_FROM:
            tokens[name] = str(int(time.time()) + int(value))
    return tokens


#: 2001-09-09 in Unix seconds: any expiry below it is a duration, not a moment.
_UNIX_TIME_FROM = 10**9


def _expiry(tokens: Mapping[str, str]) -> float:
    """When the access token expires (Unix seconds); 0 when unknown, so a token whose expiry was
    never recorded gives way to one that has it."""
    try:
        value = float(tokens.get("access_token_expire_in") or 0)
    except ValueError:
        return 0.0
    return value if math.isfinite(value) else 0.0


def _result(what: str, operation: str, response: httpx.Response) -> Any:
    status = response.status_code
    text = response.text[:_BODY_CHARS]
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("code"), int):
        if status == 429:
            raise RateLimited(f"{what}: HTTP 429", retry_after=_retry_after(response), operation=operation)
        if status in (401, 403):
            raise AuthFailed(f"{what}: HTTP {status}", status=status, body=text)
        if 400 <= status < 500:
            raise Rejected(f"{what}: HTTP {status} {text[:200]}".rstrip(), status=status, body=text)
        raise ChannelError(f"{what}: HTTP {status}, no TikTok answer in the body", status=status, body=text)
    code, message = body["code"], str(body.get("message") or "")
    if code == 0 and 200 <= status < 300:
        return body.get("data")
    said = f"{what}: HTTP {status}, code {code}: {message[:300]} (request {body.get('request_id')})"
    if status == 429 or code in RATE_LIMIT_CODES:
        raise RateLimited(
            said, retry_after=_retry_after(response), operation=operation, status=status, body=text
        )
    if code in TOKEN_REFUSED:
        raise _TokenRefused(said, status=status, body=text)
    if code == INVALID_SIGN or status in (401, 403):
        raise AuthFailed(said, status=status, body=text)
    if status >= 500 or code in INTERNAL_ERRORS:
        raise ChannelError(said, status=status, body=text)
    if 400 <= status < 500:
        raise Rejected(said, status=status, body=text)
    # A success status with an error code TikTok did not document: never taken as done; retried.
    raise ChannelError(said + " (unknown code: retried)", status=status, body=text)


def _retry_after(response: httpx.Response) -> float:
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return DEFAULT_RETRY_AFTER
    return seconds if math.isfinite(seconds) and seconds >= 0 else DEFAULT_RETRY_AFTER
