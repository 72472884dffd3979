"""Who is looking at a console page.

A page opens to whoever is signed in (the session cookie, or an API token: ``core.web.signed_in``),
never to anyone anonymous: they are sent to ``/sign-in``. A person's language and time zone are the
ones their profile keeps (switched from the page header); a token of no user has them from a cookie,
else the browser's language and the hub's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from orderly.console.formatting import from_accept_language, supported_locale
from orderly.core.clock import zone as checked_zone
from orderly.core.web import signed_in

LOCALE_COOKIE = "orderly_locale"
ZONE_COOKIE = "orderly_tz"


@dataclass(frozen=True)
class Viewer:
    user_id: int | None
    name: str
    role: str
    permissions: frozenset[str]
    locale: str
    timezone: str
    csrf_token: str | None  # a session's: htmx sends it with every change

    def may(self, permission: str) -> bool:
        return permission in self.permissions


def locale_of(request: Request) -> str:
    """The viewer's chosen language, else the first their browser asks for that the console speaks."""
    return supported_locale(request.cookies.get(LOCALE_COOKIE)) or from_accept_language(
        request.headers.get("accept-language")
    )


def zone_of(request: Request) -> str:
    chosen = request.cookies.get(ZONE_COOKIE)
    if chosen:
        try:
            checked_zone(chosen)
            return chosen
        except ValueError:
            pass  # a cookie from an older zone database: the hub's zone instead
    return str(request.app.state.settings.timezone)


def sign_in_first(request: Request) -> HTTPException:
    """A redirect to the sign-in page; htmx follows ``HX-Redirect`` rather than swapping the page in."""
    return HTTPException(
        status.HTTP_303_SEE_OTHER,
        "sign in first",
        headers={"Location": "/sign-in", "HX-Redirect": "/sign-in"},
    )


async def viewer(request: Request) -> Viewer:
    try:
        caller = await signed_in(request)
    except HTTPException as refusal:
        if refusal.status_code == status.HTTP_401_UNAUTHORIZED:
            raise sign_in_first(request) from None
        raise
    person = caller.user_id is not None
    return Viewer(
        user_id=caller.user_id,
        name=caller.name,
        role=caller.role,
        permissions=caller.permissions,
        locale=(supported_locale(caller.locale) if person else None) or locale_of(request),
        timezone=caller.timezone if person else zone_of(request),
        csrf_token=caller.csrf_token,
    )


class NotForRole(HTTPException):
    """A page the viewer's role may not open, or a change it may not make: a 403, answered with a page
    saying so in the viewer's language (``pages/common.py: not_for_role``), not the API's JSON."""

    def __init__(self, viewer: Viewer, permission: str) -> None:
        super().__init__(
            status.HTTP_403_FORBIDDEN,
            f"this page needs the permission '{permission}' ({viewer.role} lacks it)",
        )
        self.viewer = viewer
        self.permission = permission


def allowed(viewer: Viewer, permission: str) -> None:
    """A page for those holding ``permission``: 403 for the others."""
    if not viewer.may(permission):
        raise NotForRole(viewer, permission)


SignedIn = Annotated[Viewer, Depends(viewer)]
