"""HTTP to one WooCommerce store's REST API (``/wp-json/wc/v3``): authentication with the REST API key
(consumer key and secret), pacing, in-place retries, and WooCommerce's answers turned into the
connector interface's exceptions.

Authentication (CONTRACT section 1; WooCommerce's ``class-wc-rest-authentication.php``):

- over HTTPS, HTTP Basic with ``consumer_key:consumer_secret``; or, for a server that drops the
  Authorization header, the two as the query parameters ``consumer_key`` and ``consumer_secret``;
- over plain HTTP, OAuth 1.0a "one-legged": ``oauth_consumer_key``, ``oauth_timestamp``,
  ``oauth_nonce``, ``oauth_signature_method`` (HMAC-SHA1 or HMAC-SHA256) and ``oauth_signature`` in
  the query string. The signature is the base64 HMAC, keyed with the consumer secret and ``&`` (there
  is no token secret), of ``METHOD&enc(url)&enc(params)``: ``url`` without its query, ``params`` every
  query parameter but the signature, each name and value percent-encoded (RFC 3986), sorted by name,
  joined as ``name=value`` with ``&``. The JSON body is not signed. WooCommerce refuses a timestamp
  more than 15 minutes off and a nonce it has seen.

Errors are ``{"code", "message", "data": {"status"}}``. WooCommerce documents no rate limit; hosts and
firewalls answer 429 or 503, with or without ``Retry-After`` (UNCONFIRMED: what any host sends).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from orderly.channels.connector import (
    AuthFailed,
    ChannelError,
    Pacer,
    RateLimited,
    Rejected,
    Unreached,
    require_credentials,
    retrying,
)
from orderly.core import jsontext

API_PREFIX = "/wp-json/wc/v3"
#: The Shipment Tracking extension's own namespace (its "canonical" one for new integrations).
TRACKING_PREFIX = "/wp-json/wc-shipment-tracking/v3"
#: The ways a store takes the key: ``basic`` (HTTPS), ``query`` (HTTPS, Authorization header dropped by
#: the server) and ``oauth`` (plain HTTP).
AUTH_MODES = ("basic", "query", "oauth")
SIGNATURE_METHODS = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}
#: How long a 429 or a 503 that names no Retry-After is waited out: conservative, as nothing says
#: what a host's throttle means (UNCONFIRMED).
DEFAULT_RETRY_AFTER = 30.0
_BODY_CHARS = 2000


def percent(text: str) -> str:
    """RFC 3986 percent-encoding, as OAuth 1.0a and PHP's ``rawurlencode`` do it."""
    return quote(text, safe="-._~")


def base_string(method: str, url: str, params: Mapping[str, str]) -> str:
    """The OAuth 1.0a signature base string of a request (``url`` without its query)."""
    pairs = sorted((percent(name), percent(value)) for name, value in params.items())
    normalized = "&".join(f"{name}={value}" for name, value in pairs)
    return f"{method.upper()}&{percent(url)}&{percent(normalized)}"


def signing_key(consumer_secret: str) -> str:
    """WooCommerce's key: the consumer secret and ``&``, no token secret after it."""
    return f"{consumer_secret}&"


def digest(base: str, key: str, method: str = "HMAC-SHA1") -> str:
    return base64.b64encode(
        hmac.new(key.encode(), base.encode(), SIGNATURE_METHODS[method]).digest()
    ).decode()


def oauth_params(
    method: str,
    url: str,
    query: Mapping[str, str],
    consumer_key: str,
    consumer_secret: str,
    *,
    timestamp: int,
    nonce: str,
    signature_method: str = "HMAC-SHA1",
) -> dict[str, str]:
    """The ``oauth_*`` parameters that sign a request with ``query`` to ``url``."""
    signed = {
        "oauth_consumer_key": consumer_key,
        "oauth_nonce": nonce,
        "oauth_signature_method": signature_method,
        "oauth_timestamp": str(timestamp),
    }
    base = base_string(method, url, {**query, **signed})
    return {**signed, "oauth_signature": digest(base, signing_key(consumer_secret), signature_method)}


def default_mode(base_url: str) -> str:
    """Basic over HTTPS, OAuth over plain HTTP (a key sent in the clear could be read on the way)."""
    return "basic" if httpx.URL(base_url).scheme == "https" else "oauth"


class RestApi:
    """Calls one store's REST API with its key. ``pace`` is called before every request (see
    :data:`~orderly.channels.connector.Pacer`)."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        credentials: Mapping[str, str],
        mode: str,
        pace: Pacer,
        signature_method: str = "HMAC-SHA1",
        clock: Callable[[], float] = time.time,
    ) -> None:
        require_credentials(credentials, ("consumer_key", "consumer_secret"), "WooCommerce")
        if mode not in AUTH_MODES:
            raise AuthFailed(f"unknown WooCommerce auth {mode!r}: {', '.join(AUTH_MODES)}")
        if mode != "oauth" and client.base_url.scheme != "https":
            # The key would cross the network in the clear.
            raise AuthFailed(f"WooCommerce auth {mode!r} needs an https base_url; over http use oauth")
        self.client = client
        self.key, self.secret = credentials["consumer_key"], credentials["consumer_secret"]
        self.mode = mode
        self.signature_method = signature_method
        self.pace = pace
        self.clock = clock

    def send(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        replayable: bool = True,
    ) -> httpx.Response:
        """One call to ``path`` (under the site, e.g. ``/wp-json/wc/v3/orders``), counted against
        ``operation``'s budget and retried in place after a 5xx, a dropped connection or a short
        throttle (a call WooCommerce must not act on twice, ``replayable=False``, only when it surely
        did not); a fresh nonce and timestamp each try."""
        query = {name: str(value) for name, value in (params or {}).items()}
        return retrying(lambda: self._request(operation, method, path, query, json), replayable=replayable)

    def get_if_exists(self, operation: str, path: str) -> httpx.Response | None:
        """A GET, or None where WooCommerce answers 404 (no such resource, or no such route)."""
        try:
            return self.send(operation, "GET", path)
        except Rejected as exc:
            if exc.status == 404:
                return None
            raise

    def _request(
        self, operation: str, method: str, path: str, query: dict[str, str], json: Any
    ) -> httpx.Response:
        what = f"WooCommerce {method} {path.removeprefix(API_PREFIX)}"
        # httpx keeps a client's base_url ending in "/": the path joins under it (a store in a folder).
        target = self.client.base_url.join(path.lstrip("/"))
        auth: httpx.BasicAuth | None = None
        if self.mode == "basic":
            auth = httpx.BasicAuth(self.key, self.secret)
        elif self.mode == "query":
            query = {"consumer_key": self.key, "consumer_secret": self.secret, **query}
        else:
            signed_url = str(target.copy_with(query=None))
            query = {
                **query,
                **oauth_params(
                    method,
                    signed_url,
                    query,
                    self.key,
                    self.secret,
                    timestamp=int(self.clock()),
                    nonce=secrets.token_hex(16),
                    signature_method=self.signature_method,
                ),
            }
        content = None if json is None else jsontext.dumps(json)
        headers = {"Accept": "application/json"}
        if content is not None:
            headers["Content-Type"] = "application/json"
        self.pace(operation)
        try:
            response = self.client.request(
                method, target, params=query, content=content, headers=headers, auth=auth
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
        message = f"{what}: HTTP {status} {_error_text(response)}".rstrip()
        retry_after = _retry_after(response)
        if status == 429 or (status == 503 and retry_after is not None):
            # WooCommerce names no limit: a host's throttle holds back every operation of the shop.
            wait = DEFAULT_RETRY_AFTER if retry_after is None else retry_after
            raise RateLimited(message, retry_after=wait, status=status, body=body)
        if status in (401, 403):
            raise AuthFailed(message, status=status, body=body)
        if 400 <= status < 500:
            raise Rejected(message, status=status, body=body)
        raise ChannelError(message, status=status, body=body)


def payload(response: httpx.Response, kind: type) -> Any:
    """The JSON answer, of the expected kind; anything else is a bad answer."""
    what = f"WooCommerce {response.request.method} {response.request.url.path}"
    try:
        value = jsontext.loads(response.content)
    except ValueError as exc:
        raise ChannelError(
            f"{what}: malformed JSON", status=response.status_code, body=response.text[:_BODY_CHARS]
        ) from exc
    if not isinstance(value, kind):
        raise ChannelError(f"{what}: the answer is not a JSON {kind.__name__}", status=response.status_code)
    return value


def error_code(exc: ChannelError) -> str | None:
    """The ``code`` of a WooCommerce error body (``rest_no_route``, ``woocommerce_rest_term_invalid``)."""
    try:
        body = jsontext.loads(exc.body or "")
    except ValueError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


def total_pages(response: httpx.Response) -> int | None:
    """``X-WP-TotalPages``, when the answer has a readable one."""
    try:
        return int(response.headers.get("X-WP-TotalPages", ""))
    except ValueError:
        return None


def total(response: httpx.Response) -> int | None:
    """``X-WP-Total``, when the answer has a readable one."""
    try:
        return int(response.headers.get("X-WP-Total", ""))
    except ValueError:
        return None


def _error_text(response: httpx.Response) -> str:
    try:
        body = jsontext.loads(response.content)
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and "code" in body:
        return f"{body.get('code')}: {body.get('message', '')}"[:300]
    return response.text[:200]


def _retry_after(response: httpx.Response) -> float | None:
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
