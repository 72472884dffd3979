"""The admin's pages: users (create, change role, disable and enable, reset a password, each refusal
beside its field) and the audit log filtered by who, what and when in the viewer's zone, paged; for
admins alone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.auth.domain import Role
from orderly.auth.models import AuditEvent, User
from orderly.auth.service import create_token, create_user, password_matches
from orderly.console.pages import admin
from orderly.core.db import transaction


def _user(factory: sessionmaker[Session], name: str) -> User:
    with transaction(factory) as s:
        found = s.scalars(select(User).where(User.username == name)).one()
        s.expunge(found)
        return found


def test_an_admin_creates_a_user_and_each_refusal_is_said_by_its_field(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    page = client.get("/users")
    assert page.status_code == 200 and 'action="/users"' not in page.text and 'hx-post="/users"' in page.text
    made = client.post(
        "/users",
        data={
            "username": "Wei",
            "display_name": "Wei Chen",
            "role": "warehouse",
            "password": "long enough pw",
        },
    )
    assert made.status_code == 200 and "created wei" in made.text
    assert 'data-user="wei"' in made.text
    wei = _user(factory, "wei")
    assert (wei.role, wei.active, wei.display_name) == ("warehouse", True, "Wei Chen")
    assert password_matches(wei.password_hash, "long enough pw")

    bad = client.post(
        "/users",
        data={"username": "-no", "role": "writer", "password": "short", "timezone": "Mars/Base"},
        headers={"HX-Request": "true"},
    )
    assert bad.status_code == 200  # said on the page for htmx
    spans = bad.text.split('<span class="field-problem">')[1:]
    said = [span.split("</span>")[0] for span in spans]
    assert len(said) == 4
    assert said[0].startswith("1 to 64 characters") and said[1].startswith("one of admin")
    assert said[2] == "at least 10 characters" and "Mars/Base" in said[3]
    assert "short" not in bad.text.split('class="filters new-user"')[1]  # the password is never sent back
    again = client.post("/users", data={"username": "WEI", "role": "finance", "password": "long enough pw"})
    assert again.status_code == 409 and "exists already" in again.text
    with transaction(factory) as s:
        assert s.scalar(select(User.id).where(User.username == "-no")) is None


def test_role_status_and_password_change_through_the_page(
    client: TestClient, anonymous: TestClient, factory: sessionmaker[Session]
) -> None:
    with transaction(factory) as s:
        wei = create_user(s, "wei", "first password", role=Role.WAREHOUSE, timezone="UTC")
        token = create_token(s, "wei's", user_id=wei.id).token
    headers = {"Authorization": f"Bearer {token}"}
    assert anonymous.get("/stock", headers=headers).status_code == 200
    role = client.post(f"/users/{wei.id}", data={"action": "role", "role": "finance"})
    assert role.status_code == 200 and "wei: role finance" in role.text
    assert _user(factory, "wei").role == "finance"
    disabled = client.post(f"/users/{wei.id}", data={"action": "disable"})
    assert "Disabled" in disabled.text.split('data-user="wei"')[1].split("</tr>")[0]
    assert not _user(factory, "wei").active
    assert anonymous.get("/stock", headers=headers).status_code in {303, 401}  # refused at once
    client.post(f"/users/{wei.id}", data={"action": "enable"})
    assert _user(factory, "wei").active
    short = client.post(f"/users/{wei.id}", data={"action": "password", "password": "tiny"})
    assert short.status_code == 400 and "at least 10 characters" in short.text
    reset = client.post(f"/users/{wei.id}", data={"action": "password", "password": "a new password"})
    assert reset.status_code == 200 and password_matches(
        _user(factory, "wei").password_hash, "a new password"
    )
    (me,) = [u for u in client.get("/api/v1/users").json() if u["role"] == "admin"] or [None]
    if me is not None:  # the last active admin stays one
        last = client.post(f"/users/{me['id']}", data={"action": "disable"})
        assert last.status_code == 409 and "last active admin" in last.text


def test_only_admins_open_users_and_audit(anonymous: TestClient, factory: sessionmaker[Session]) -> None:
    for role in (Role.OPERATIONS, Role.WAREHOUSE, Role.FINANCE, Role.CUSTOMER_SERVICE):
        with transaction(factory) as s:
            headers = {"Authorization": f"Bearer {create_token(s, f'a {role}', role=role).token}"}
        assert anonymous.get("/users", headers=headers).status_code == 403
        assert anonymous.get("/audit", headers=headers).status_code == 403
        made = {"username": "sneaky", "role": "admin", "password": "long enough pw"}
        assert anonymous.post("/users", data=made, headers=headers).status_code == 403
        nav = anonymous.get("/stock", headers=headers).text
        assert 'href="/users"' not in nav and 'href="/audit"' not in nav
    with transaction(factory) as s:
        assert s.scalar(select(User.id).where(User.username == "sneaky")) is None


def _event(s: Session, actor: str, kind: str, at: datetime) -> None:
    s.add(
        AuditEvent(
            at=at,
            actor=actor,
            role="operations",
            action=f"POST /{kind}s/{{id}}/x",
            subject_kind=kind,
            subject_id="7",
            params={},
            status=200,
            client="10.0.0.1",
            summary=f"POST /{kind}s/{{id}}/x (id=7): 200 by {actor}",
        )
    )


def test_the_audit_log_filters_by_who_what_and_when_in_the_viewers_zone(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    with transaction(factory) as s:
        _event(s, "ann", "order", datetime(2026, 11, 10, 15, tzinfo=UTC))  # 23:00 on the 10th in Shanghai
        _event(s, "ann", "shop", datetime(2026, 11, 10, 20, tzinfo=UTC))  # already the 11th there
        _event(s, "bob", "order", datetime(2026, 11, 11, 3, tzinfo=UTC))

    def shown(zone: str = "UTC", **params: str) -> list[str]:
        page = client.get("/audit", params=params, headers={"Cookie": f"orderly_tz={zone}"})
        assert page.status_code == 200
        rows = page.text.split('class="event"')[1:]
        actors = [row.split('class="actor">')[1].split("<")[0] for row in rows]
        kinds = [row.split("<td>")[3].split(" ")[0] for row in rows]
        return [f"{actor}:{kind}" for actor, kind in zip(actors, kinds, strict=True)]

    assert shown(actor="ann") == ["ann:shop", "ann:order"]
    assert shown(subject_kind="order") == ["bob:order", "ann:order"]
    assert shown(since="2026-11-10T16:00", until="2026-11-11T00:00") == ["ann:shop"]
    assert shown(since="2026-11-11", until="2026-11-11") == ["bob:order"]  # the 11th in UTC
    assert shown("Asia/Shanghai", since="2026-11-11", until="2026-11-11") == ["bob:order", "ann:shop"]
    assert shown("Asia/Shanghai", until="2026-11-11T04:01") == ["ann:shop", "ann:order"]  # 20:01 UTC
    shanghai = client.get("/audit", headers={"Cookie": "orderly_tz=Asia/Shanghai"}).text
    assert "Times in Asia/Shanghai" in shanghai
    offered = shanghai.split('name="subject_kind"')[1].split("</select>")[0]
    assert ">order</option>" in offered and ">shop</option>" in offered and "stock" not in offered
    bad = client.get("/audit", params={"since": "yesterday"})
    assert bad.status_code == 200 and 'role="alert"' in bad.text and 'class="event"' not in bad.text


def test_the_audit_log_pages_back(
    client: TestClient, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin, "AUDIT_PAGE", 2)
    with transaction(factory) as s:
        for hour in range(5):
            _event(s, f"p{hour}", "order", datetime(2026, 11, 10, hour, tzinfo=UTC))
    first = client.get("/audit", params={"subject_kind": "order"}).text
    assert first.count('class="event"') == 2 and "p4" in first and "p3" in first
    more = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    assert "subject_kind=order" in more
    second = client.get(more).text
    assert second.count('class="event"') == 2 and "p2" in second and "p1" in second
