"""Secrets never reach what the hub stores or logs: the one redaction of error text and log records.

Two kinds of text are taken out. Values this process was told are secret (:func:`remember`: every
shop credential it decrypts, every platform token it obtains), wherever they appear and however they
are escaped; and whatever follows the name of an auth header or secret field (``Authorization: Bearer
...``, ``"x-amz-access-token": "..."``, ``client_secret=...``), known or not.

Platform error bodies may echo the request (headers, form) they answer, so the text built from them
(``ChannelError``, ``PushResult.error`` in ``channels/connector.py``) is redacted when it is made,
before it becomes a shop's health, an alert, a job's or an inbox entry's error, or an API answer. Log
records are redacted as they are made, by a record factory installed when this module is imported:
no logger or handler can miss it, and no value can be remembered before it is in place.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, quote_plus

MARK = "[redacted]"
#: Shorter values are not redacted where they appear: they are too likely to be ordinary words (and
#: too short to be real secrets).
SHORTEST = 8
#: A value cut off at the end of a text (error bodies are truncated) is redacted from this many of its
#: first characters on.
PREFIX = 4
#: The most recently remembered values kept (platform tokens renew hourly: old ones age out).
KEPT = 1024

# A name that says the value after it is a secret (auth headers, signatures, tokens, keys, passwords;
# "-" and "_" alike, any case, whatever precedes it: client_secret, x-amz-access-token), quoted or
# not, then ":" or "=". Only the value is replaced, so the name need not be matched from its start.
_KEYWORDS = (
    r"authorization|cookie|secret|secret[-_]?key|password|passwd|token|signature|hmac|hmac[-_]sha\d+"
    r"|api[-_]?key|private[-_]?key"
)
#: Words one of which a text must hold for the patterns below to apply: most hold none, and looking
#: for these is much cheaper than for the patterns.
_HINTS = (
    "authorization",
    "cookie",
    "secret",
    "passw",
    "token",
    "signature",
    "hmac",
    "key",
    "bearer",
    "basic",
)
_FIELD = re.compile(
    rf"""(?P<name>(?:{_KEYWORDS})["']?\s*[:=]\s*)(?!{re.escape(MARK)})"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?"""  # quoted, maybe cut off at the end
    r"""|(?:(?:bearer|basic|token|aws4-hmac-sha256)\s+)?[^\s"',;&)}\]]+)""",
    re.IGNORECASE,
)
_SCHEME = re.compile(r"\b(?P<name>bearer|basic)\s+[\w.~+/=-]{8,}", re.IGNORECASE)


class _Known:
    """The remembered values, the most recently remembered last, and what :func:`redact` looks for:
    the values by their first ``PREFIX`` characters (longest first) and a pattern finding those. Both
    are replaced together, whole, so they are read without the lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.forms: dict[str, None] = {}
        self.index: tuple[dict[str, tuple[str, ...]], re.Pattern[str] | None] = ({}, None)

    def add(self, values: tuple[str, ...]) -> None:
        with self.lock:
            added = False
            for value in values:
                for form in _forms(value):
                    added |= form not in self.forms
                    self.forms.pop(form, None)
                    self.forms[form] = None
            while len(self.forms) > KEPT:
                del self.forms[next(iter(self.forms))]
                added = True
            if added:
                by_head: dict[str, list[str]] = {}
                for form in sorted(self.forms, key=len, reverse=True):
                    by_head.setdefault(form[:PREFIX], []).append(form)
                heads = re.compile(_any_of(list(by_head))) if by_head else None
                self.index = ({head: tuple(forms) for head, forms in by_head.items()}, heads)


def _any_of(words: list[str]) -> str:
    """A pattern matching any of ``words`` (all of one length) as a tree: one branch per distinct
    character at each step, not one per word, so a search costs little however many there are."""
    following: dict[str, list[str]] = {}
    for word in words:
        following.setdefault(word[0], []).append(word[1:])
    branches = [re.escape(c) + (_any_of(rest) if rest[0] else "") for c, rest in following.items()]
    return branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"


_known = _Known()


def remember(*values: str) -> None:
    """Redact these values from now on, in every form a text may carry them (as sent, JSON-escaped,
    repr-escaped, URL-encoded)."""
    _known.add(values)


def _forms(value: str) -> set[str]:
    forms = {value, value.strip(), json.dumps(value)[1:-1], repr(value)[1:-1]}
    forms |= {quote(value, safe=""), quote_plus(value)}
    return {form for form in forms if len(form) >= SHORTEST}


def redact(text: str) -> str:
    """``text`` without any remembered value (nor the start of one it ends with: a truncated echo) or
    the value of any secret-named field."""
    text = _without_known(text)
    lowered = text.lower()
    if any(hint in lowered for hint in _HINTS):
        text = _FIELD.sub(_field_marked, text)
        text = _SCHEME.sub(lambda m: f"{m['name']} {MARK}", text)
    return text


def _without_known(text: str) -> str:
    """One pass over ``text``, whatever the number of values: only where the start of one is found
    are the values that start so compared."""
    by_head, heads = _known.index
    if heads is None:
        return text
    parts: list[str] = []
    start = at = 0
    while (found := heads.search(text, at)) is not None:
        at = found.start()
        for value in by_head[found.group()]:
            if text.startswith(value, at) or value.startswith(text[at:]):  # whole, or cut off at the end
                parts += (text[start:at], MARK)
                at = start = min(len(text), at + len(value))
                break
        else:
            at += 1
    return "".join(parts) + text[start:] if parts else text


def _field_marked(match: re.Match[str]) -> str:
    value = match["value"]
    quote_char = value[0] if value[0] in "\"'" else ""
    return f"{match['name']}{quote_char}{MARK}{quote_char}"


# --- log records -----------------------------------------------------------------------------------

_formatter = logging.Formatter()


def _arg(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, int | float):
        return value  # kept as is for %d and %f
    text = str(value)
    cleaned = redact(text)
    return value if cleaned == text else cleaned


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
        if redact(message) != message:
            # Arguments redacted one by one keep the record's shape (uvicorn's access log formats
            # them itself); a secret split between the format and its arguments takes the whole text.
            if isinstance(record.args, Mapping):
                record.args = {key: _arg(value) for key, value in record.args.items()}
            elif isinstance(record.args, tuple):
                record.args = tuple(_arg(value) for value in record.args)
            message = record.getMessage()
            cleaned = redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
    except Exception:  # noqa: S110 - a record that cannot be formatted is logging's to report
        pass
    if record.exc_info and not record.exc_text:
        # The traceback names exceptions whose messages may hold secrets (an HTTP library's own).
        record.exc_text = redact(_formatter.formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def _install() -> None:
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _redact_record(record)
        return record

    logging.setLogRecordFactory(factory)


_install()
