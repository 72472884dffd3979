"""Auto-review: rules that approve normal orders and hold the rest with a reason, and warehouse routing.

Before any stock is planned, every new order (and every held order the platform updates) is reviewed
by the live rule set, once per ingest batch (``batch.py``). Rules are data: stored with every version
kept (``service.py``), exported and imported as one YAML document (``document.py``), compiled once per
change; a condition is a tree of known facts (``facts.py``) and operators, never code. Built-in checks
(``checks.py``, ``address.py``) are rules with tunable params, each declaring how far back it looks and
whether its hold is the stock hold. The engine and what a rule sees are pure (``domain/``). The decision
(which rules fired and why, the risk score) is stored on the order (``orders.review``).
A dry run (``dry_run.py``) compares a candidate rule set with the live one and writes nothing; what a
process keeps between reviews is in ``caches.py``.

Routing rules are a second kind in the same storage (``routing.py``): their pure engine
(``domain/routing.py``) reuses the review's scope and conditions; regions and size classes are in
``domain/shipping.py``.
"""
