"""Signing in: the session cookie, CSRF, throttling and lock-out, no user enumeration; passwords."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.auth.domain import LOCK_AFTER, LOCK_WINDOW, Role
from orderly.auth.gate import FAILURES
from orderly.auth.models import AuditEvent, SignInFailure, User, UserSession
from orderly.auth.service import SESSION_IDLE, digest, hash_password, password_matches, set_password
from orderly.core.clock import utcnow
from orderly.core.db import transaction
from orderly.core.web import CSRF_HEADER, SESSION_COOKIE
from orderly.jobs.registry import load
from tests.auth.conftest import PASSWORD

ME = "/api/v1/auth/me"


def _sign_in(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, object]:
    response = client.post("/api/v1/auth/sign-in", json={"username": username, "password": password})
    return {"status": response.status_code, "body": response.json(), "headers": response.headers}


def test_passwords_are_hashed_with_argon2id() -> None:
    stored = hash_password(PASSWORD)
    assert stored.startswith("$argon2id$")
    assert password_matches(stored, PASSWORD)
    assert not password_matches(stored, PASSWORD + "!")
    assert not password_matches("not a hash", PASSWORD)


def test_sign_in_sets_an_http_only_lax_cookie_stored_hashed(
    anonymous: TestClient, make_user: Callable[..., int], factory: sessionmaker[Session]
) -> None:
    make_user("Alice", Role.WAREHOUSE)

    response = anonymous.post("/api/v1/auth/sign-in", json={"username": "ALICE", "password": PASSWORD})

    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP, and ORDERLY_SECURE_COOKIES unset
    body = response.json()
    assert (body["name"], body["role"], body["locale"], body["timezone"]) == (
        "alice",
        "warehouse",
        "en",
        "UTC",
    )
    assert "stock:write" in body["permissions"] and "holds:write" not in body["permissions"]
    value = anonymous.cookies[SESSION_COOKIE]
    with transaction(factory) as s:
        kept = s.scalars(select(UserSession)).one()
    assert kept.token_hash == digest(value) != value
    assert anonymous.get(ME).json()["csrf_token"] == body["csrf_token"] == kept.csrf_token


def test_the_cookie_is_secure_when_the_setting_says_so(
    anonymous: TestClient, app: FastAPI, make_user: Callable[..., int]
) -> None:
    make_user("alice")
    app.state.settings = app.state.settings.model_copy(update={"secure_cookies": True})

    response = anonymous.post("/api/v1/auth/sign-in", json={"username": "alice", "password": PASSWORD})

    assert "Secure" in response.headers["set-cookie"]


def test_a_change_with_the_cookie_needs_the_csrf_token(signed_in: Callable[..., TestClient]) -> None:
    client = signed_in("alice", Role.ADMIN)
    csrf = client.get(ME).json()["csrf_token"]
    change = {"locale": "zh_Hans"}

    missing = client.patch(ME, json=change)
    wrong = client.patch(ME, json=change, headers={CSRF_HEADER: "x" + csrf})
    right = client.patch(ME, json=change, headers={CSRF_HEADER: csrf})

    assert (missing.status_code, wrong.status_code, right.status_code) == (403, 403, 200)
    assert CSRF_HEADER in missing.json()["error"]["message"]
    assert right.json()["locale"] == "zh_Hans"
    assert client.get(ME).json()["locale"] == "zh_Hans"  # a read needs none


def test_a_bearer_token_needs_no_csrf_token(
    anonymous: TestClient, token_of: Callable[[Role], dict[str, str]]
) -> None:
    response = anonymous.patch(ME, json={"timezone": "Asia/Shanghai"}, headers=token_of(Role.FINANCE))

    assert response.status_code == 200
    assert (response.json()["timezone"], response.json()["csrf_token"]) == ("Asia/Shanghai", None)


def test_sign_out_ends_the_session_at_once(signed_in: Callable[..., TestClient]) -> None:
    client = signed_in("alice", Role.OPERATIONS)
    csrf = client.get(ME).json()["csrf_token"]
    value = client.cookies[SESSION_COOKIE]

    assert client.post("/api/v1/auth/sign-out").status_code == 403  # CSRF: no one signs you out
    assert client.post("/api/v1/auth/sign-out", headers={CSRF_HEADER: csrf}).status_code == 204

    assert client.cookies.get(SESSION_COOKIE) is None
    client.cookies.set(SESSION_COOKIE, value)
    assert client.get(ME).status_code == 401


def test_a_cookie_is_no_bearer_token_nor_the_other_way(
    anonymous: TestClient, signed_in: Callable[..., TestClient]
) -> None:
    value = signed_in("alice").cookies[SESSION_COOKIE]

    assert anonymous.get(ME, headers={"Authorization": f"Bearer {value}"}).status_code == 401


def test_an_unknown_user_and_a_wrong_password_get_one_answer(
    anonymous: TestClient, make_user: Callable[..., int]
) -> None:
    make_user("alice")

    wrong = _sign_in(anonymous, "alice", "not the password")
    unknown = _sign_in(anonymous, "mallory", PASSWORD)

    assert wrong["status"] == unknown["status"] == 401
    assert (
        wrong["body"]
        == unknown["body"]
        == {"error": {"message": "the username or password is wrong", "field": None}}
    )
    assert SESSION_COOKIE not in anonymous.cookies


def test_a_username_holding_a_nul_is_refused_as_any_wrong_one(
    anonymous: TestClient, make_user: Callable[..., int], factory: sessionmaker[Session]
) -> None:
    make_user("alice")

    refused = _sign_in(anonymous, "ali\x00ce", PASSWORD)
    page = anonymous.post("/sign-in", data={"username": "ali\x00ce", "password": PASSWORD})

    assert refused["status"] == page.status_code == 401
    assert refused["body"] == {"error": {"message": "the username or password is wrong", "field": None}}
    with transaction(factory) as s:
        actors = list(s.scalars(select(AuditEvent.actor).order_by(AuditEvent.id)))
    assert actors == ["ali\\0ce", "ali\\0ce"]


def test_failures_lock_a_username_known_or_not_and_success_resets(
    anonymous: TestClient, make_user: Callable[..., int], factory: sessionmaker[Session]
) -> None:
    make_user("alice")
    for _ in range(LOCK_AFTER - 1):
        assert _sign_in(anonymous, "alice", "nope")["status"] == 401
    assert _sign_in(anonymous, "alice")["status"] == 200  # success forgets the failures
    for _ in range(LOCK_AFTER - 1):
        assert _sign_in(anonymous, "alice", "nope")["status"] == 401

    assert _sign_in(anonymous, "alice", "nope")["status"] == 401  # the last before the lock
    for _ in range(LOCK_AFTER):  # an unknown username locks the same way: nothing to learn
        assert _sign_in(anonymous, "mallory", "nope")["status"] == 401
    alice, mallory = _sign_in(anonymous, "alice"), _sign_in(anonymous, "mallory")

    assert alice["status"] == mallory["status"] == 429
    messages = [str(r["body"]["error"]["message"]).rsplit(" in ", 1)[0] for r in (alice, mallory)]  # type: ignore[index]
    assert messages == ["too many failed sign-ins for this username: try again"] * 2
    assert 0 < int(str(alice["headers"]["Retry-After"])) <= 15 * 60  # type: ignore[index]
    with transaction(factory) as s:  # an admin's reset lifts the lock
        set_password(s, s.scalars(select(User.id).where(User.username == "alice")).one(), PASSWORD)
    assert _sign_in(anonymous, "alice")["status"] == 200


def test_failures_from_one_address_are_throttled(
    anonymous: TestClient, make_user: Callable[..., int]
) -> None:
    make_user("alice")
    for n in range(FAILURES):
        assert _sign_in(anonymous, f"guess{n}", "nope")["status"] == 401

    refused = _sign_in(anonymous, "alice")

    assert refused["status"] == 429
    assert "address" in refused["body"]["error"]["message"]  # type: ignore[index]


def test_a_deactivated_users_session_ends(
    signed_in: Callable[..., TestClient], anonymous: TestClient
) -> None:
    admin = signed_in("root", Role.ADMIN)
    csrf = {CSRF_HEADER: admin.get(ME).json()["csrf_token"]}
    worker = signed_in("bob", Role.WAREHOUSE)
    bob = worker.get(ME).json()["user_id"]

    assert admin.patch(f"/api/v1/users/{bob}", json={"active": False}, headers=csrf).status_code == 200

    assert worker.get(ME).status_code == 401
    assert _sign_in(anonymous, "bob")["status"] == 401


def test_changing_ones_password_needs_the_old_one_and_ends_sessions(
    signed_in: Callable[..., TestClient], anonymous: TestClient
) -> None:
    client = signed_in("alice", Role.FINANCE)
    csrf = {CSRF_HEADER: client.get(ME).json()["csrf_token"]}
    new = "another long password"

    wrong = client.patch(ME, json={"old_password": "nope", "new_password": new}, headers=csrf)
    short = client.patch(ME, json={"old_password": PASSWORD, "new_password": "short"}, headers=csrf)
    done = client.patch(ME, json={"old_password": PASSWORD, "new_password": new}, headers=csrf)

    assert (wrong.status_code, wrong.json()["error"]["field"]) == (400, "old_password")
    assert (short.status_code, short.json()["error"]["field"]) == (400, "password")
    assert done.status_code == 200
    assert client.get(ME).status_code == 401
    assert _sign_in(anonymous, "alice", new)["status"] == 200


def test_a_form_posted_with_the_cookie_may_carry_the_csrf_token_as_a_field(
    signed_in: Callable[..., TestClient],
) -> None:
    client = signed_in("alice", Role.CUSTOMER_SERVICE)
    csrf = client.get(ME).json()["csrf_token"]
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    missing = client.post("/preferences", content="locale=zh_Hans", headers=form)
    wrong = client.post("/preferences", content="locale=zh_Hans&csrf_token=nope", headers=form)
    right = client.post("/preferences", content=f"locale=zh_Hans&csrf_token={csrf}", headers=form)

    assert (missing.status_code, wrong.status_code, right.status_code) == (403, 403, 204)
    assert client.get(ME).json()["locale"] == "zh_Hans"  # the page read the same form (into the profile)


def test_the_sweep_deletes_only_ended_sessions_and_spent_counters(
    signed_in: Callable[..., TestClient], factory: sessionmaker[Session]
) -> None:
    for name in ("live", "old", "idle", "recent"):
        signed_in(name, Role.WAREHOUSE)
    now = utcnow()
    with transaction(factory) as s:
        kept = {u.username: u.id for u in s.scalars(select(User))}
        rows = {r.user_id: r for r in s.scalars(select(UserSession))}
        rows[kept["old"]].expires_at = now - timedelta(seconds=1)  # past its lifetime
        rows[kept["idle"]].last_seen_at = now - SESSION_IDLE - timedelta(minutes=3)
        # unused for longer than idle by the record, which is written up to a minute late: kept
        rows[kept["recent"]].last_seen_at = now - SESSION_IDLE - timedelta(seconds=30)
        s.add_all(
            [
                SignInFailure(
                    username="spent", failures=3, first_failed_at=now - LOCK_WINDOW, locked_until=None
                ),
                SignInFailure(username="counting", failures=2, first_failed_at=now, locked_until=None),
                SignInFailure(
                    username="locked",
                    failures=5,
                    first_failed_at=now - LOCK_WINDOW - timedelta(minutes=1),
                    locked_until=now + timedelta(minutes=1),
                ),
            ]
        )
    (sweep,) = [job for job in load().schedules if job.name == "sweep_sessions"]
    with transaction(factory) as s:
        assert sweep.run(s) == 2
    with transaction(factory) as s:
        left = {r.user_id for r in s.scalars(select(UserSession))}
        counters = set(s.scalars(select(SignInFailure.username)))
    assert left == {kept["live"], kept["recent"]}
    assert counters == {"counting", "locked"}


def test_every_sign_in_attempt_is_audited_without_the_password(
    anonymous: TestClient, make_user: Callable[..., int], factory: sessionmaker[Session]
) -> None:
    make_user("mia", Role.FINANCE)
    assert _sign_in(anonymous, "mia", "wrong password!")["status"] == 401
    for _ in range(LOCK_AFTER):
        _sign_in(anonymous, "nobody", "guess guess guess")
    assert _sign_in(anonymous, "nobody", "guess guess guess")["status"] == 429  # locked by then
    assert _sign_in(anonymous, "Mia")["status"] == 200
    page = anonymous.post("/sign-in", data={"username": "mia", "password": "nope nope nope"})
    assert page.status_code == 401
    with transaction(factory) as s:
        events = list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    said = [(e.actor, e.status, e.action, e.summary.split(": ", 1)[1]) for e in events]
    assert said[0] == ("mia", 401, "POST /auth/sign-in", "refused: the username or password is wrong")
    assert not said[LOCK_AFTER - 1][3].endswith("min")
    assert said[LOCK_AFTER][3].endswith("the username is locked for 15 min")
    assert said[LOCK_AFTER + 1][:2] == ("nobody", 429) and said[LOCK_AFTER + 1][3].startswith("locked out")
    assert said[-2] == ("mia", 200, "POST /auth/sign-in", "signed in")  # as the user is named
    assert events[-2].user_id is not None and events[-2].role == "finance"
    assert said[-1][:3] == ("mia", 401, "POST /sign-in")  # the console's form too
    assert all(e.client == "testclient" and e.subject_kind == "user" for e in events)
    assert not any("wrong password!" in str(vars(e)) or PASSWORD in str(vars(e)) for e in events)
