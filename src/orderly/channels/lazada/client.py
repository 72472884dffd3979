"""HTTP to the Lazada Open Platform (LazOP) for one seller: the signature every call carries, the
seller's access token (refreshed before it expires and when Lazada calls it invalid), and Lazada's
envelope turned into the connector interface's exceptions.

A call is ``{host}{api_path}`` with the system parameters ``app_key``, ``timestamp`` (milliseconds),
``sign_method=sha256``, ``access_token`` and ``sign``; GET calls carry every parameter in the query,
POST calls as form fields. Lazada answers errors on HTTP 200 with a string ``code`` other than ``"0"``
(``{"code": "MISSING_PARAMETER", "type": "ISV", "message": ..., "request_id": ...}``), so the body
decides, not the status.

Tokens: the seller's ``access_token`` and ``refresh_token`` live in the shop's credentials with
``access_expires_at`` (Unix seconds). A token within ``RENEW_BEFORE`` of expiry is refreshed before the
call; an ``IllegalAccessToken`` answer gets one refresh and one more try. The first tokens come from
the authorization code Lazada's page gave the seller: pasted into ``orderly shop authorize``
(:meth:`Lazop.exchange`), or given as the credential ``code`` and exchanged on first use. New tokens go to the
engine's ``keep_credentials``, which seals them into the shop.
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
    require_credentials,
    retrying,
)
from orderly.core import jsontext
from orderly.core.redact import remember

#: API hosts by site (CONTRACT section 1).
HOSTS = {
    "SG": "https://api.lazada.sg/rest",
    "TH": "https://api.lazada.co.th/rest",
    "MY": "https://api.lazada.com.my/rest",
    "VN": "https://api.lazada.vn/rest",
    "PH": "https://api.lazada.com.ph/rest",
    "ID": "https://api.lazada.co.id/rest",
}
#: The token calls' host. UNCONFIRMED beyond the contract's mention of it.
AUTH_URL = "https://auth.lazada.com/rest"
#: An access token this close to its expiry is refreshed before use.
RENEW_BEFORE = 3600.0
#: Answers that mean the access token is no good (expired, revoked): refresh once and try again.
TOKEN_ERRORS = frozenset({"IllegalAccessToken", "InvalidAccessToken", "AccessTokenExpired"})
#: Lazada's throttles: ``E901`` (price_quantity/update, CONTRACT section 3); the general ``ApiCallLimit``
#: and its wording are UNCONFIRMED, as is any Retry-After.
THROTTLES = frozenset({"E901", "ApiCallLimit", "ApiCallLimitExceeded"})
#: Credentials refused: a person must connect the shop again.
REFUSED = frozenset(
    {
        "InvalidAppKey",
        "IncompleteSignature",
        "IllegalRefreshToken",
        "InvalidCode",
        "AppCallLimit",  # UNCONFIRMED: an app suspended
        "InsufficientPermission",  # UNCONFIRMED: the seller withdrew the authorization
    }
)
#: When a throttle says nothing of when to come back (Lazada documents no figure: UNCONFIRMED).
DEFAULT_RETRY_AFTER = 1.0
_BODY_CHARS = 2000


def sign(secret: str, api_path: str, params: Mapping[str, str]) -> str:
    """Lazada's signature: HMAC-SHA256 keyed with the app secret over the API path followed by each
    parameter but ``sign`` as name and value, sorted by name in ASCII order, no separators and no
    URL-encoding; uppercase hex."""
    text = api_path + "".join(f"{name}{params[name]}" for name in sorted(params) if name != "sign")
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest().upper()


def error_text(body: Mapping[str, Any]) -> str:
    return f"{body.get('code')} ({body.get('type', '?')}): {body.get('message', '')}".strip()


class Lazop:
    """Calls the LazOP gateway as one seller. ``pace`` is called before every request (see
    :data:`~orderly.channels.connector.Pacer`), token calls included; ``keep`` receives new tokens."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        base_url: str,
        auth_url: str,
        credentials: Mapping[str, str],
        pace: Pacer,
        keep: CredentialKeeper,
        clock: Callable[[], float] = time.time,
    ) -> None:
        require_credentials(credentials, ("app_key", "app_secret"), "Lazada")
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.auth_url = auth_url.rstrip("/")
        self.app_key, self.secret = credentials["app_key"], credentials["app_secret"]
        self.tokens = {
            k: credentials[k] for k in ("access_token", "refresh_token", "code") if credentials.get(k)
        }
        self.expires_at = _seconds(credentials.get("access_expires_at"))
        self.pace = pace
        self.keep = keep
        self.clock = clock

    # --- the gateway ------------------------------------------------------------------------------

    def call(
        self,
        operation: str,
        method: str,
        api_path: str,
        params: Mapping[str, str] | None = None,
        *,
        replayable: bool = True,
    ) -> dict[str, Any]:
        """The answer's body once its ``code`` is "0"; retried in place after a 5xx, a dropped
        connection or a short throttle (a call Lazada must not act on twice, ``replayable=False``, only
        when it surely did not)."""
        return retrying(lambda: self._call(operation, method, api_path, params or {}), replayable=replayable)

    def _call(self, operation: str, method: str, api_path: str, params: Mapping[str, str]) -> dict[str, Any]:
        token = self._token(operation)
        body = self._send(operation, method, self.base_url, api_path, {**params, "access_token": token})
        if body.get("code") in TOKEN_ERRORS:
            # Expired or revoked before the time we knew of: one refresh, one more try.
            token = self._refresh(operation)
            body = self._send(operation, method, self.base_url, api_path, {**params, "access_token": token})
        return self._result(operation, api_path, body)

    def _send(
        self, operation: str, method: str, base: str, api_path: str, params: Mapping[str, str]
    ) -> dict[str, Any]:
        signed = {
            **{k: str(v) for k, v in params.items()},
            "app_key": self.app_key,
            "timestamp": str(int(self.clock() * 1000)),
            "sign_method": "sha256",
        }
        signed["sign"] = sign(self.secret, api_path, signed)
        what = f"Lazada {method} {api_path}"
        self.pace(operation)
        try:
            if method == "GET":
                response = self.client.get(base + api_path, params=signed)
            else:
                response = self.client.post(base + api_path, data=signed)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise Unreached(f"{what}: no connection: {exc!r}") from exc
        except httpx.TimeoutException as exc:
            raise ChannelError(f"{what}: timed out") from exc
        except httpx.HTTPError as exc:
            raise ChannelError(f"{what}: {type(exc).__name__}: {exc}") from exc
        status, text = response.status_code, response.text[:_BODY_CHARS]
        if status == 429:  # not documented for Lazada (UNCONFIRMED); taken as a throttle all the same
            raise RateLimited(
                f"{what}: HTTP 429", retry_after=_retry_after(response), operation=operation, body=text
            )
        if status >= 500:
            raise ChannelError(f"{what}: HTTP {status}", status=status, body=text)
        try:
            body = jsontext.loads(response.content)
        except ValueError as exc:
            raise ChannelError(f"{what}: HTTP {status}, not JSON", status=status, body=text) from exc
        if not isinstance(body, dict) or not isinstance(body.get("code"), str):
            raise ChannelError(f"{what}: HTTP {status}, no Lazada envelope", status=status, body=text)
        return body

    def _result(self, operation: str, api_path: str, body: dict[str, Any]) -> dict[str, Any]:
        if body["code"] == "0":
            return body
        raise self._failure(operation, api_path, body)

    def _failure(self, operation: str, api_path: str, body: Mapping[str, Any]) -> ChannelError:
        """The exception for an answer whose ``code`` is not "0"."""
        code = body.get("code")
        what = f"Lazada {api_path}: {error_text(body)}"
        text = jsontext.dumps(dict(body)).decode()[:_BODY_CHARS]
        if code in THROTTLES:
            return RateLimited(
                what, retry_after=DEFAULT_RETRY_AFTER, operation=operation, status=200, body=text
            )
        if code in TOKEN_ERRORS or code in REFUSED:
            return AuthFailed(what, status=200, body=text)
        if body.get("type") == "ISV":
            # The request or its data: the same request fails the same way.
            return Rejected(what, status=200, body=text)
        # SYSTEM and ISP errors are the platform's side, and unknown codes are taken the same way:
        # retried, never given up on at once (UNCONFIRMED which of them last).
        return ChannelError(what, status=200, body=text)

    # --- tokens -----------------------------------------------------------------------------------

    def _token(self, operation: str) -> str:
        token = self.tokens.get("access_token")
        if token is None:
            if "code" not in self.tokens:
                raise AuthFailed(
                    "the Lazada shop has no access token yet: `orderly shop authorize` with the code "
                    "Lazada's authorization page gave the seller (or the code credential)"
                )
            return self._exchange(operation)
        if self.expires_at is not None and self.expires_at - RENEW_BEFORE <= self.clock():
            return self._refresh(operation)
        return token

    def _exchange(self, operation: str) -> str:
        """The code credential for the first tokens; the spent code is cleared."""
        return self.exchange(self.tokens["code"], operation, forget=("code",))["access_token"]

    def exchange(self, code: str, operation: str = "auth", forget: tuple[str, ...] = ()) -> dict[str, str]:
        """The seller's tokens for the authorization code Lazada's page gave (``/auth/token/create``,
        signed like any call, without an access token)."""
        body = self._send(operation, "POST", self.auth_url, "/auth/token/create", {"code": code})
        return self._take(operation, "/auth/token/create", body, forget=forget)

    def _refresh(self, operation: str) -> str:
        refresh = self.tokens.get("refresh_token")
        if not refresh:
            raise AuthFailed(
                "Lazada refused the access token and the shop has no refresh_token: connect it again"
            )
        body = self._send(operation, "POST", self.auth_url, "/auth/token/refresh", {"refresh_token": refresh})
        return self._take(operation, "/auth/token/refresh", body)["access_token"]

    def _take(
        self, operation: str, api_path: str, body: dict[str, Any], forget: tuple[str, ...] = ()
    ) -> dict[str, str]:
        """The new tokens of a token call's answer, in use from now on and handed to ``keep``."""
        code = body.get("code")
        if code != "0":
            failure = self._failure(operation, api_path, body)
            if isinstance(failure, RateLimited) or (failure.retryable and code not in REFUSED):
                raise failure  # the platform's side: the token call is tried again later
            raise AuthFailed(f"Lazada {api_path}: {error_text(body)}: connect the shop again", status=200)
        access, refresh = body.get("access_token"), body.get("refresh_token")
        try:
            lifetime = float(body["expires_in"])
        except (KeyError, TypeError, ValueError):
            lifetime = math.nan
        if not isinstance(access, str) or not access or not math.isfinite(lifetime):
            raise ChannelError(f"Lazada {api_path}: no access token in the answer", status=200)
        remember(access)
        new = {"access_token": access, "access_expires_at": str(int(self.clock() + lifetime))}
        if isinstance(refresh, str) and refresh:
            remember(refresh)
            new["refresh_token"] = refresh
        self.tokens = {k: v for k, v in self.tokens.items() if k not in forget} | {
            k: new[k] for k in ("access_token", "refresh_token") if k in new
        }
        self.expires_at = float(new["access_expires_at"])
        # An exchanged code is spent: kept empty so it is never sent again.
        new |= dict.fromkeys(forget, "")
        self.keep(new)
        return new


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _retry_after(response: httpx.Response) -> float:
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return DEFAULT_RETRY_AFTER
    return seconds if math.isfinite(seconds) and seconds >= 0 else DEFAULT_RETRY_AFTER
