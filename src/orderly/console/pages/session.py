"""Signing in and out, and the viewer's language and time zone."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from orderly.auth import service as users
from orderly.auth.web import set_session_cookie, sign_in_request, sign_out_request
from orderly.console.formatting import LOCALES, supported_locale
from orderly.console.pages.common import read_form, render
from orderly.console.viewer import LOCALE_COOKIE, ZONE_COOKIE, SignedIn
from orderly.core.clock import zone
from orderly.core.db import transaction
from orderly.core.errors import DomainError

router = APIRouter(include_in_schema=False)

YEAR = 365 * 24 * 3600


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request) -> HTMLResponse:
    return render(request, "sign_in.html", None)


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    """The sign-in form: the session cookie, then the home page; a refusal is said on the page."""
    form = await read_form(request)
    try:
        cookie, _ = await sign_in_request(
            request, request.app.state.factory, form.get("username", ""), form.get("password", "")
        )
    except DomainError as refused:  # wrong name or password, or locked
        return _refused(request, refused.message, refused.http_status, {})
    except HTTPException as refused:  # too many failures from this address
        return _refused(request, str(refused.detail), refused.status_code, refused.headers or {})
    answer = RedirectResponse("/", status.HTTP_303_SEE_OTHER)
    set_session_cookie(request, answer, cookie)
    return answer


def _refused(request: Request, message: str, code: int, headers: Mapping[str, str]) -> HTMLResponse:
    page = render(request, "sign_in.html", None, problem=message)
    page.status_code = code
    page.headers.update(headers)
    return page


@router.post("/sign-out")
async def sign_out(request: Request, _: SignedIn) -> Response:
    # htmx would follow a 303 itself and swap the sign-in page in: it is told where to go instead.
    answer: Response = (
        Response(status_code=status.HTTP_204_NO_CONTENT, headers={"HX-Redirect": "/sign-in"})
        if request.headers.get("hx-request")
        else RedirectResponse("/sign-in", status.HTTP_303_SEE_OTHER)
    )
    await sign_out_request(request, answer, request.app.state.factory)
    return answer


@router.post("/preferences")
async def preferences(request: Request, viewer: SignedIn) -> Response:
    """The viewer's language and time zone, remembered in this browser; the page then reloads."""
    form = await read_form(request)
    answer = Response(status_code=status.HTTP_204_NO_CONTENT, headers={"HX-Refresh": "true"})
    locale = timezone = None
    if "locale" in form:
        locale = supported_locale(form["locale"])
        if locale is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"locale: one of {', '.join(LOCALES)}")
    if "timezone" in form:
        try:
            zone(form["timezone"])
        except ValueError as problem:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"timezone: {problem}") from None
        timezone = form["timezone"]
    if viewer.user_id is not None:  # a person: kept in their profile, whichever browser they use next
        with transaction(request.app.state.factory) as session:
            users.update_user(session, viewer.user_id, locale=locale, timezone=timezone)
        request.app.state.tokens.forget(user_id=viewer.user_id)
        return answer
    if locale is not None:
        answer.set_cookie(LOCALE_COOKIE, locale, max_age=YEAR, httponly=True, samesite="lax")
    if timezone is not None:
        answer.set_cookie(ZONE_COOKIE, timezone, max_age=YEAR, httponly=True, samesite="lax")
    return answer
