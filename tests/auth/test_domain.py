"""The permission table and the rules of signing in (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orderly.auth.domain import (
    LOCK_AFTER,
    LOCK_FOR,
    LOCK_WINDOW,
    PERMISSIONS,
    ROLE_PERMISSIONS,
    SCOPE_ROLES,
    Role,
    Scope,
    after_failure,
    password_problem,
    username_key,
    username_problem,
)

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)


def test_every_role_has_permissions_and_only_known_ones() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    for role, permissions in ROLE_PERMISSIONS.items():
        assert permissions <= PERMISSIONS, role
        assert {"account:read", "account:write"} <= permissions, role


def test_every_permission_names_an_area_and_an_access() -> None:
    for permission in PERMISSIONS:
        area, _, access = permission.partition(":")
        assert area and access in {"read", "write", "admin"}, permission


def test_only_the_admin_manages_users_tokens_shops_and_reads_the_audit_log() -> None:
    assert ROLE_PERMISSIONS[Role.ADMIN] == PERMISSIONS
    admin_only = {p for p in PERMISSIONS if p.endswith(":admin")} | {"audit:read"}
    for role in set(Role) - {Role.ADMIN}:
        assert not ROLE_PERMISSIONS[role] & admin_only, role


def test_roles_hold_their_part() -> None:
    warehouse, finance, service, operations = (
        ROLE_PERMISSIONS[r] for r in (Role.WAREHOUSE, Role.FINANCE, Role.CUSTOMER_SERVICE, Role.OPERATIONS)
    )
    assert {"fulfilment:write", "stock:write"} <= warehouse
    assert not warehouse & {"holds:write", "rules:write", "cancels:write"}
    assert not {p for p in finance if not p.endswith(":read")} - {"account:write"}
    assert "exports:read" in finance
    assert {"holds:write", "addresses:write", "cancels:write", "orders:read"} <= service
    assert not service & {"orders:write", "stock:write", "fulfilment:write", "rules:write"}
    assert {"orders:write", "holds:write", "rules:write", "shops:read"} <= operations
    assert not operations & {"stock:write", "fulfilment:write", "shops:admin"}
    # Files are imported by those who may change what they hold (the upload checks that kind's write).
    assert "imports:write" in operations and "imports:write" in warehouse
    assert "imports:read" in finance and not service & {"imports:read", "imports:write"}


def test_the_old_scopes_keep_exactly_their_rights_as_roles() -> None:
    assert SCOPE_ROLES == {Scope.READ: Role.READER, Scope.WRITE: Role.WRITER, Scope.ADMIN: Role.ADMIN}
    reader, writer = ROLE_PERMISSIONS[Role.READER], ROLE_PERMISSIONS[Role.WRITER]
    assert {p for p in PERMISSIONS if p.endswith(":read")} - reader == {"audit:read"}
    assert {p for p in PERMISSIONS if p.endswith(":write")} <= writer
    assert not {p for p in writer if p.endswith(":admin")}


def test_usernames_are_one_without_regard_to_case() -> None:
    assert username_key(" Alice ") == username_key("ALICE") == "alice"
    assert username_problem("ops.lead@acme") is None
    assert username_problem("") and username_problem("-x") and username_problem("a b")


def test_passwords_have_a_length_range() -> None:
    assert password_problem("short")
    assert password_problem("x" * 2000)
    assert password_problem("long enough!") is None


def test_the_fifth_failure_within_the_window_locks() -> None:
    failures, since, locked = 0, None, None
    for minute in range(LOCK_AFTER):
        failures, since, locked = after_failure(failures, since, NOW + timedelta(minutes=minute))
    assert failures == LOCK_AFTER
    assert locked == NOW + timedelta(minutes=LOCK_AFTER - 1) + LOCK_FOR


def test_failures_older_than_the_window_are_forgotten() -> None:
    failures, since, locked = after_failure(LOCK_AFTER - 1, NOW, NOW + LOCK_WINDOW)
    assert (failures, since, locked) == (1, NOW + LOCK_WINDOW, None)
