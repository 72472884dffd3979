"""Nothing the hub serves answers without signing in, but sign-in, health and the signed webhooks;
every other route declares exactly one permission from the table."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from orderly.auth.domain import PERMISSIONS, Role
from orderly.core.web import declared_permission

PUBLIC = {
    ("POST", "/api/v1/auth/sign-in"),
    ("GET", "/sign-in"),  # the console's sign-in page
    ("GET", "/static/any-file.js"),  # what it is drawn with (vendored scripts, styles)
    ("GET", "/api/v1/health"),
    ("POST", "/api/v1/webhooks/{code}"),
    ("GET", "/api/v1/webhooks/{code}"),  # a platform's endpoint challenge, answered from the shop's token
    ("POST", "/api/v1/webhooks/carriers/{code}"),
}


def api_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """(full path, route) of every FastAPI route, those of included routers too."""
    for route in routes:
        if (included := getattr(route, "original_router", None)) is not None:  # include_router's
            yield from api_routes(included.routes, prefix + route.include_context.prefix)
        elif isinstance(route, APIRoute):
            yield prefix + route.path, route


def _all_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of everything served: API routes, pages, and a file under each mount."""
    for route in routes:
        if (included := getattr(route, "original_router", None)) is not None:
            yield from _all_routes(included.routes, prefix + route.include_context.prefix)
        elif isinstance(route, Mount):
            yield "GET", f"{prefix}{route.path}/any-file.js"
        elif isinstance(route, APIRoute | Route):
            for method in sorted(route.methods or {"GET"}):
                yield method, prefix + route.path


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_api_route_declares_exactly_one_known_permission_or_is_public(app: FastAPI) -> None:
    undeclared, unknown = [], []
    for path, route in api_routes(app.routes):
        if not path.startswith("/api/"):
            continue  # the console's pages and the docs: below
        permission = declared_permission(route)  # raises for a route declaring several
        for method in route.methods:
            if (method, path) in PUBLIC:
                assert permission is None, path
            elif permission is None:
                undeclared.append((method, path))
            elif permission is not None and permission not in PERMISSIONS:
                unknown.append((method, path, permission))
    assert (undeclared, unknown) == ([], [])


def test_nothing_answers_without_signing_in_but_the_public_routes(
    app: FastAPI, anonymous: TestClient
) -> None:
    served = set(_all_routes(app.routes))
    assert {("GET", "/docs"), ("GET", "/redoc"), ("GET", "/openapi.json")} <= served
    assert len(served) > 100
    open_ = []
    for method, path in sorted(served - PUBLIC):
        if method == "HEAD":
            continue
        response = anonymous.request(method, _concrete(path), follow_redirects=False)
        to_sign_in = response.is_redirect and "sign-in" in response.headers["location"]  # pages may
        if response.status_code != 401 and not to_sign_in:
            open_.append((method, path, response.status_code))
    assert open_ == []


def test_the_public_routes_need_no_sign_in(anonymous: TestClient) -> None:
    assert anonymous.get("/api/v1/health").status_code == 200
    assert anonymous.post("/api/v1/auth/sign-in", json={"username": "x", "password": "y"}).status_code == 401
    # A webhook is refused for its missing signature (or unknown shop), not for want of a session.
    assert anonymous.post("/api/v1/webhooks/web", content=b"{}").status_code in {400, 401, 404}
    assert anonymous.post("/api/v1/webhooks/carriers/web", content=b"{}").status_code in {400, 401, 404}


def test_the_docs_are_there_once_signed_in(
    anonymous: TestClient, token_of: Callable[[Role], dict[str, str]]
) -> None:
    headers = token_of(Role.READER)
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert anonymous.get(path, headers=headers).status_code == 200, path
