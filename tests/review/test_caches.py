"""What a process remembers between reviews never hides what another process saved. On both databases."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import make_engine, make_session_factory, transaction
from orderly.review import service
from orderly.review.caches import CACHES


def test_the_live_rule_set_is_compiled_once_and_a_rule_saved_elsewhere_is_seen_at_once(
    factory: sessionmaker[Session],
) -> None:
    with transaction(factory) as s:
        first, _ = service.live(s)
    with transaction(factory) as s:
        assert service.live(s)[0] is first  # nothing changed: not compiled again

    # Another process (its own engine and connections) saves a rule; this one's cache still holds the
    # rule set compiled before, but the saved rows it is keyed by are read for every review.
    other = make_engine(str(factory.kw["bind"].url.render_as_string(hide_password=False)))
    with transaction(make_session_factory(other)) as s:
        service.save_rule(
            s, {"key": "vip", "scope": {"tags": ["vip"]}, "then": [{"approve": True}]}, actor="t"
        )
    other.dispose()
    with transaction(factory) as s:
        ruleset, _ = service.live(s)
    assert ruleset is not first and "vip" in {rule.key for rule in ruleset.rules}


def test_forgetting_drops_every_cache_at_once(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        first, _ = service.live(s)
    CACHES.clear()
    with transaction(factory) as s:
        assert service.live(s)[0] is not first
