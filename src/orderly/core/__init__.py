"""Cross-cutting pieces every bounded context uses; core imports none of them.

- ``config.py``: settings from the environment (``ORDERLY_*``) or a ``.env`` file.
- ``db.py``: the engine, transactions (``transaction``, ``run_in_transaction``; services never commit),
  the UTC column type, and set-based writes for hot paths (``insert_rows``, ``update_rows``,
  ``select_by_keys``: one statement per table per batch). The high-volume tables (``orders``,
  ``order_lines``, ``order_events``, ``stock_ledger``) have no foreign keys: ingest resolves every id
  it writes in the same transaction.
- ``errors.py``: the domain errors, each a message a person can act on and one HTTP status.
- ``money.py``, ``clock.py``: money as integer minor units with its ISO 4217 code; "now" as aware UTC,
  time zones and date ranges.
- ``web.py``: what every endpoint shares (the request's transaction, the request gate, body caps,
  strict JSON and query parameters); ``admission.py``: overload answers 503, never hangs;
  ``health.py``: the health check, answered within a second however busy the hub is.
- ``jsontext.py`` (integers exact at any size), ``text.py`` (NUL refused, or kept escaped),
  ``redact.py`` (no secret in what is stored or logged), ``pagination.py`` (keyset cursors),
  ``migrate.py`` (Alembic from code).
"""
