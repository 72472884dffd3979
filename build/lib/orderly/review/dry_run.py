"""The dry run: the latest orders reviewed by a candidate rule set and by the live one, compared.
Nothing is written."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from orderly.review import repository as repo
from orderly.review.batch import review_batch
from orderly.review.domain.engine import Decision
from orderly.review.schemas import ReviewSettings
from orderly.review.service import candidate, live, parse_settings
from orderly.review.subjects import subjects_for_orders


def _summary(decision: Decision) -> dict[str, Any]:
    return {
        "outcome": "approved" if decision.approved else "held",
        "reasons": sorted(decision.reasons()),
        "rules": [f.rule for f in decision.fired],
        "messages": [h.message for h in decision.holds],
    }


def compare_with_live(
    session: Session,
    specs: Sequence[Any],
    raw_settings: Mapping[str, Any] | None,
    *,
    last: int,
    examples: int = 100,
) -> dict[str, Any]:
    """Review the last ``last`` orders with a candidate rule set and with the live one, and compare.

    Each order is reviewed as of its own last update, against stock as it stands now and the history
    around it; nothing is written.
    """
    current, current_settings = live(session)
    proposed_settings = (
        parse_settings(raw_settings, ReviewSettings) if raw_settings is not None else current_settings
    )
    proposed = candidate(specs, proposed_settings)
    orders = repo.recent_orders(session, last)
    subjects, available, warehouses, presale = subjects_for_orders(session, orders)
    results: dict[str, dict[Hashable, Decision]] = {}
    for name, ruleset, parsed in (
        ("live", current, current_settings),
        ("candidate", proposed, proposed_settings),
    ):
        results[name] = review_batch(
            session,
            subjects,
            ruleset=ruleset,
            settings=parsed,
            now=None,
            available=available,
            warehouses=warehouses,
            presale=presale,
        )
    report: dict[str, Any] = {"orders": len(subjects)}
    for name, decisions in results.items():
        held = [d for d in decisions.values() if not d.approved]
        report[name] = {
            "approved": len(decisions) - len(held),
            "held": len(held),
            "pass_rate": round((len(decisions) - len(held)) / len(decisions), 4) if decisions else None,
            "held_by_reason": dict(Counter(r for d in held for r in d.reasons()).most_common()),
            "fired_by_rule": dict(Counter(f.rule for d in decisions.values() for f in d.fired).most_common()),
        }
    by_key = {s.key: s for s in subjects}
    changes = []
    for key, live_decision in results["live"].items():
        new = results["candidate"][key]
        before, after = _summary(live_decision), _summary(new)
        if (before["outcome"], before["reasons"]) != (after["outcome"], after["reasons"]):
            subject = by_key[key]
            changes.append(
                {
                    "order_id": subject.order_id,
                    "external_id": subject.order["external_id"],
                    "shop": subject.order["shop"],
                    "live": before,
                    "candidate": after,
                }
            )
    report["changed"] = len(changes)
    report["changes"] = changes[:examples]
    report["would_hold"] = [
        {"order_id": by_key[k].order_id, "external_id": by_key[k].order["external_id"], **_summary(d)}
        for k, d in results["candidate"].items()
        if not d.approved
    ][:examples]
    return report
