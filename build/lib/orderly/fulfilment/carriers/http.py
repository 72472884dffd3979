"""What every carrier client does alike with HTTP: a request sent (no connection: never reached, safe
to send again; no answer: the carrier may have acted), and a failed answer raised as its error kind."""

from __future__ import annotations

import math
from collections.abc import Callable

import httpx

from orderly.fulfilment.carriers.connector import AuthFailed, CarrierError, RateLimited, Rejected, Unreached

#: No carrier here publishes a Retry-After for its 429: back off this long when none comes.
DEFAULT_RETRY_AFTER = 1.0
BODY_CHARS = 2000  # of an error body kept on the exception


def sent(what: str, send: Callable[[], httpx.Response]) -> httpx.Response:
    try:
        return send()
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise Unreached(f"{what}: no connection: {exc!r}") from exc
    except httpx.HTTPError as exc:  # sent, answer lost: the carrier may have acted on it
        raise CarrierError(f"{what}: no answer ({type(exc).__name__})") from exc


def refusal(response: httpx.Response, message: str, operation: str) -> CarrierError:
    """The error kind of a failed answer: throttled, credentials refused, request refused (give up), or
    a failure worth another try."""
    status, text = response.status_code, response.text[:BODY_CHARS]
    if status == 429:
        return RateLimited(message, retry_after=retry_after(response), operation=operation, body=text)
    if status in (401, 403):
        return AuthFailed(message, status=status, body=text)
    if 400 <= status < 500 and status != 408:
        return Rejected(message, status=status, body=text)
    return CarrierError(message, status=status, body=text)


def retry_after(response: httpx.Response) -> float:
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return DEFAULT_RETRY_AFTER
    return seconds if math.isfinite(seconds) and seconds >= 0 else DEFAULT_RETRY_AFTER
