"""The pure part of auto-review: what a rule sees of an order (``view``), who placed it
(``identities``), conditions, rules and the engine that runs them. No I/O, no framework imports."""
