"""A phrase's English is what the console's ``say`` makes of the stored phrase with no catalogue."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from orderly.core.phrases import Phrase, listed, say

_plain = st.one_of(st.text(max_size=12), st.integers(), st.floats(allow_nan=False))
_phrases = st.recursive(
    st.builds(lambda text: Phrase(text.replace("%", "%%")), st.text(max_size=12)),
    lambda inner: st.one_of(
        st.builds(lambda a, b: Phrase("%(a)s and %(b)s", a=a, b=b), inner | _plain, inner | _plain),
        st.lists(inner, min_size=1, max_size=5).map(listed),
    ),
    max_leaves=12,
)


@given(_phrases)
def test_english_is_the_stored_phrase_said_in_english(phrase: Phrase) -> None:
    assert phrase.english() == say(phrase.as_json(), str) == str(phrase)


def test_english_fills_nested_places() -> None:
    short = listed(
        [Phrase("%(sku)s needs %(n)s", sku="MUG", n=2), Phrase("%(sku)s needs %(n)s", sku="CAP", n=1)]
    )
    assert (
        Phrase("out of stock: %(short)s", short=short).english() == "out of stock: MUG needs 2; CAP needs 1"
    )
    assert Phrase("100% sure").english() == "100% sure"  # a pattern with no places is not formatted
