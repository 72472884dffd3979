"""Who may do what: roles, the permissions each holds, and the rules of signing in. Pure.

Every route declares exactly one permission (``core.web``: the router's area, read for GET and HEAD,
write for the rest, unless the route names another with ``require``); a caller holds the
permissions of its role. A permission names an area and an access, ``area:read``, ``area:write`` or
``area:admin``.

What each role may do:

- ``admin``: everything, and alone: users, API tokens, shops' credentials, carrier accounts, the
  audit log, master data (products, bundles, mappings, warehouses).
- ``operations`` runs the order flow: orders (ingest, re-route, rejections, order files imported),
  holds, addresses, cancels, review and routing rules, syncing shops (sync now, backfills, inbox
  replay) and replaying jobs; reads everything but the audit log.
- ``warehouse`` moves goods: parcels, labels, picking and packing, tracking, stock movements, bins,
  transfers and stock files imported (opening balances, counts); reads orders, stock, the catalog and
  carriers.
- ``finance`` reads what money touches (orders, parcels and their postage, stock, catalog, shops,
  carriers), exports and past imports' reports; changes nothing.
- ``customer_service`` answers buyers: reads orders, parcels, stock and the catalog; holds and
  releases with a note, corrects addresses, cancels.
- ``writer`` and ``reader`` are what API tokens made before roles became (their old ``write`` and
  ``read`` scopes, kept exactly): every read and write but the admin's, and every read but the audit
  log. They suit integrations; people get one of the roles above.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    OPERATIONS = "operations"
    WAREHOUSE = "warehouse"
    FINANCE = "finance"
    CUSTOMER_SERVICE = "customer_service"
    WRITER = "writer"
    READER = "reader"


class Scope(StrEnum):
    """What an API token carried before roles; a scope still given becomes its role (:data:`SCOPE_ROLES`)."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


SCOPE_ROLES = {Scope.READ: Role.READER, Scope.WRITE: Role.WRITER, Scope.ADMIN: Role.ADMIN}

#: Every permission a route may declare.
PERMISSIONS: frozenset[str] = frozenset(
    {
        "account:read",  # one's own profile (every role)
        "account:write",  # one's own locale, time zone, password; signing out
        "orders:read",
        "orders:write",  # ingest, re-route, rejections
        "holds:write",  # hold, release with a note
        "addresses:write",
        "cancels:write",
        "rules:read",
        "rules:write",  # review and routing rules and settings
        "fulfilment:read",
        "fulfilment:write",  # parcels, labels, picking, packing, tracking
        "stock:read",
        "stock:write",  # receive, adjust, count, safety, bins, transfers
        "catalog:read",
        "catalog:write",  # products, bundles, mappings, warehouses
        "shops:read",
        "shops:write",  # sync now, backfills, inbox replay
        "shops:admin",  # connecting shops, their credentials and settings
        "carriers:read",
        "carriers:admin",
        "jobs:read",
        "jobs:write",
        "alerts:read",
        "exports:read",
        "imports:read",  # past imports' reports, saved profiles
        "imports:write",  # uploading a file (importing a kind also needs that kind's write), profiles
        "tokens:admin",
        "users:admin",
        "audit:read",
    }
)

_READS = frozenset(p for p in PERMISSIONS if p.endswith(":read")) - {"audit:read"}
_OWN = frozenset({"account:read", "account:write"})

ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.ADMIN: PERMISSIONS,
    Role.OPERATIONS: _READS
    | _OWN
    | {
        "orders:write",
        "holds:write",
        "addresses:write",
        "cancels:write",
        "rules:write",
        "shops:write",
        "jobs:write",
        "imports:write",
    },
    Role.WAREHOUSE: _OWN
    | {
        "orders:read",
        "fulfilment:read",
        "fulfilment:write",
        "stock:read",
        "stock:write",
        "catalog:read",
        "carriers:read",
        "alerts:read",
        "imports:read",
        "imports:write",
    },
    Role.FINANCE: _OWN
    | {
        "orders:read",
        "fulfilment:read",
        "stock:read",
        "catalog:read",
        "shops:read",
        "carriers:read",
        "alerts:read",
        "exports:read",
        "imports:read",
    },
    Role.CUSTOMER_SERVICE: _OWN
    | {
        "orders:read",
        "holds:write",
        "addresses:write",
        "cancels:write",
        "fulfilment:read",
        "stock:read",
        "catalog:read",
        "alerts:read",
    },
    Role.WRITER: frozenset(p for p in PERMISSIONS if not p.endswith(":admin")) - {"audit:read"},
    Role.READER: _READS | _OWN,
}


def permissions_of(role: str) -> frozenset[str]:
    return ROLE_PERMISSIONS[Role(role)]


def expired(expires_at: datetime | None, now: datetime) -> bool:
    """A token stops working at its expiry; one without an expiry works until it is revoked."""
    return expires_at is not None and expires_at <= now


# Users and sign-in.

LOCALES = ("en", "zh_Hans")
USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
PASSWORD_MIN = 10
PASSWORD_MAX = 1024  # argon2 hashes any length; a cap keeps a sign-in from hashing megabytes

#: Failed sign-ins for one username (known or not: the answer must not tell) before it is locked.
LOCK_AFTER = 5
#: How far back failures count, and how long a lock lasts.
LOCK_WINDOW = timedelta(minutes=15)
LOCK_FOR = timedelta(minutes=15)


def username_key(username: str) -> str:
    """Usernames are unique without regard to case: ``Alice`` and ``alice`` are one user."""
    return username.strip().casefold()


def username_problem(username: str) -> str | None:
    if not USERNAME.fullmatch(username_key(username)):
        return "1 to 64 characters: letters, digits and . _ @ -, starting with a letter or digit"
    return None


def password_problem(password: str) -> str | None:
    if len(password) < PASSWORD_MIN:
        return f"at least {PASSWORD_MIN} characters"
    if len(password) > PASSWORD_MAX:
        return f"at most {PASSWORD_MAX} characters"
    return None


def after_failure(
    failures: int, first_failed_at: datetime | None, now: datetime
) -> tuple[int, datetime, datetime | None]:
    """One more failed sign-in: (failures, since when they count, locked until or None). Failures
    older than :data:`LOCK_WINDOW` are forgotten; the :data:`LOCK_AFTER`-th locks for :data:`LOCK_FOR`."""
    if first_failed_at is None or now - first_failed_at >= LOCK_WINDOW:
        failures, first_failed_at = 0, now
    failures += 1
    return failures, first_failed_at, (now + LOCK_FOR if failures >= LOCK_AFTER else None)


def session_live(
    created_at: datetime, last_seen_at: datetime, now: datetime, *, lifetime: timedelta, idle: timedelta
) -> bool:
    """A session ends ``lifetime`` after sign-in, or once unused for ``idle``."""
    return now < created_at + lifetime and now < last_seen_at + idle
