"""JSON text with integers exact at any size, as strict as orjson otherwise."""

from __future__ import annotations

import orjson
import pytest

from orderly.core import jsontext


@pytest.mark.parametrize("number", [2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 2**70, -(2**70), 10**40])
def test_integers_of_any_size_are_read_and_written_exactly(number: int) -> None:
    text = f'{{"id": {number}, "ids": [1, {number}], "note": "tracking 94001118992231000000"}}'

    value = jsontext.loads(text.encode())

    assert value == {"id": number, "ids": [1, number], "note": "tracking 94001118992231000000"}
    assert type(value["id"]) is int  # orjson alone gives 1.1805916207174113e+21 for 2**70
    assert jsontext.loads(jsontext.dumps(value)) == value
    assert jsontext.loads(str(number)) == number


@pytest.mark.parametrize(
    "text",
    [b'{"id": 123456789012345678}', b'{"note": "94001118992231000000", "n": 1}', b"[1234567890123456789.5]"],
)
def test_what_holds_no_long_integer_reads_as_orjson_reads_it(text: bytes) -> None:
    assert jsontext.loads(text) == orjson.loads(text)


def test_floats_stay_floats() -> None:
    assert jsontext.loads(b'{"a": 1.5, "b": 1e21, "c": 12345678901234567890.5}') == {
        "a": 1.5,
        "b": 1e21,
        "c": 12345678901234567890.5,
    }


@pytest.mark.parametrize(
    "text",
    [
        b'{"a": NaN}',
        b'{"a": 1e999}',
        b'{"a": "\\ud800"}',
        b"[" * 1100 + b"]" * 1100,
        b'{"a": 1,}',
        b"[" * 1000 + b"12345678901234567890" + b"]" * 1000,  # deeper than the exact reading goes
    ],
)
def test_what_is_not_strict_json_is_refused(text: bytes) -> None:
    with pytest.raises(orjson.JSONDecodeError):
        jsontext.loads(text)


def test_sorted_text_is_the_same_for_the_same_content() -> None:
    assert jsontext.dumps({"b": 2**70, "a": 1}, sort_keys=True) == jsontext.dumps(
        {"a": 1, "b": 2**70}, sort_keys=True
    )
