"""The one redaction: remembered values in any form, secret-named fields, truncated echoes, log records."""

from __future__ import annotations

import logging

import pytest

from orderly.channels.connector import ChannelError, PushResult
from orderly.core.redact import redact, remember

TOKEN = "shpat_unit0123456789abcdef"
REFRESH = "Atzr|IwEBunit+refresh/token=="


@pytest.fixture(autouse=True)
def known() -> None:
    remember(TOKEN, REFRESH)


@pytest.mark.parametrize(
    "text",
    [
        f"echo {TOKEN} back",
        "grant_type=refresh_token&refresh_token=Atzr%7CIwEBunit%2Brefresh%2Ftoken%3D%3D",
        '{"refresh_token": "Atzr|IwEBunit+refresh\\/token=="}',
        f"HTTP 401 Unauthorized X-Shopify-Access-Token: {TOKEN[:15]}",  # cut off by a truncation
    ],
)
def test_a_remembered_value_is_redacted_in_every_form(text: str) -> None:
    cleaned = redact(text)

    assert "[redacted]" in cleaned
    assert "unit" not in cleaned


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abcdefghijklmnop\nAccept: */*", "Authorization: [redacted]\nAccept: */*"),
        (
            "{'x-amz-access-token': 'Atza|zzzz', 'x-amz-date': '2026'}",
            "{'x-amz-access-token': '[redacted]', 'x-amz-date': '2026'}",
        ),
        ('{"client_secret":"s3cr3t","client_id":"app"}', '{"client_secret":"[redacted]","client_id":"app"}'),
        ("?api_key=k1&page=2", "?api_key=[redacted]&page=2"),
        (
            "signature=abc, x-shopify-hmac-sha256: def",
            "signature=[redacted], x-shopify-hmac-sha256: [redacted]",
        ),
        (
            "Amazon credentials lack client_secret, refresh_token",
            "Amazon credentials lack client_secret, refresh_token",
        ),
    ],
)
def test_the_value_of_an_auth_header_or_secret_field_is_redacted_known_or_not(
    text: str, expected: str
) -> None:
    assert redact(text) == expected


def test_platform_errors_and_refused_pushes_carry_no_secret() -> None:
    error = ChannelError(f"HTTP 403 {TOKEN}", status=403, body=f"x-amz-access-token: {REFRESH}")
    refused = PushResult("L1", ok=False, error=f"INVALID: token {TOKEN} is not allowed")

    assert TOKEN not in str(error) and REFRESH not in (error.body or "")
    assert refused.error == "INVALID: token [redacted] is not allowed"


def test_log_records_carry_no_secret_in_message_arguments_or_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("orderly.test")
    log.warning("call failed: %s (%d tries)", f"echo {TOKEN}", 3)
    log.warning("access_token=%s", "not-remembered-value")  # a field split from its value
    try:
        raise ValueError(f"Illegal header value {TOKEN!r}")
    except ValueError:
        log.exception("request failed")

    assert "call failed: echo [redacted] (3 tries)" in caplog.text
    assert "access_token=[redacted]" in caplog.text
    assert "ValueError: Illegal header value '[redacted]'" in caplog.text
    assert TOKEN[:8] not in caplog.text and "not-remembered" not in caplog.text
