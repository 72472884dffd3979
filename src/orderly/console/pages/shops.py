"""Shops and sync health: each shop's lag, failing inbox entries and dead jobs, replaying them and
syncing a shop now; connecting a shop through a form made from what its channel's connector declares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from orderly.channels import inbox
from orderly.channels import service as channels
from orderly.channels.endpoints import ShopCode
from orderly.channels.registry import connector_class, installed_channels
from orderly.channels.schemas import ShopIn, SyncSettings
from orderly.channels.tasks import request_sync
from orderly.console.pages.common import read_form, render
from orderly.console.viewer import SignedIn, Viewer, allowed
from orderly.core.clock import utcnow
from orderly.core.db import transaction
from orderly.core.errors import DomainError
from orderly.core.pagination import MAX_ID
from orderly.core.web import ReadSession
from orderly.jobs import service as jobs
from orderly.orders.validation import validation_errors

router = APIRouter(include_in_schema=False)

#: How many failing inbox entries and dead jobs the shops page lists (the oldest first).
SYNC_ROWS = 50


def _shops_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    *,
    problem: str | None = None,
    done: str | None = None,
    synced: str | None = None,
) -> HTMLResponse:
    shops = channels.list_shops(session)
    now = utcnow()
    # How far behind each shop's orders are: from the last moment they are synced to, until now.
    lag = {shop.code: now - shop.orders_synced_to for shop in shops if shop.orders_synced_to}
    failing = inbox.list_inbox(session, failed=True, limit=SYNC_ROWS)
    codes = {shop.id: shop.code for shop in shops}
    dead = jobs.list_jobs(session, status="dead", limit=SYNC_ROWS) if viewer.may("jobs:read") else []
    return render(
        request,
        "shops.html",
        viewer,
        shops=shops,
        lag=lag,
        failing=failing,
        dead=dead,
        codes=codes,
        problem=problem,
        done=done,
        synced=synced,
        syncable={shop.code for shop in shops if shop.sync_enabled and connector_class(shop.channel)},
        connected=request.query_params.get("connected"),
    )


@router.get("/shops", response_class=HTMLResponse)
def shops_page(request: Request, session: ReadSession, viewer: SignedIn) -> HTMLResponse:
    """Each shop's sync health, the inbox entries that fail and the jobs that died, with their errors."""
    allowed(viewer, "shops:read")
    return _shops_page(request, session, viewer)


def _replayed(
    request: Request, viewer: Viewer, replay: Callable[[Session], object], done: str, *, sync: bool = False
) -> HTMLResponse:
    """Replay (or sync) through the API's use case in one transaction, then the page again, saying how
    it went (to htmx always as 200: it swaps only 2xx answers)."""
    factory = request.app.state.factory
    problem, code = None, status.HTTP_200_OK
    try:
        with transaction(factory) as session:
            replay(session)
    except DomainError as refused:
        problem, code = refused.message, refused.http_status
    said = {"synced" if sync else "done": None if problem else done}
    with transaction(factory) as session:
        page = _shops_page(request, session, viewer, problem=problem, **said)
    if not request.headers.get("hx-request"):
        page.status_code = code
    return page


@router.post("/shops/inbox/{entry_id}/replay", response_class=HTMLResponse)
def replay_inbox_entry(
    request: Request, viewer: SignedIn, entry_id: Annotated[int, Path(ge=1, le=MAX_ID)]
) -> HTMLResponse:
    allowed(viewer, "shops:write")  # as POST /api/v1/inbox/replay
    return _replayed(request, viewer, lambda s: inbox.replay(s, [entry_id]), f"inbox #{entry_id}")


@router.post("/shops/jobs/{job_id}/replay", response_class=HTMLResponse)
def replay_job(
    request: Request, viewer: SignedIn, job_id: Annotated[int, Path(ge=1, le=MAX_ID)]
) -> HTMLResponse:
    allowed(viewer, "jobs:write")  # as POST /api/v1/jobs/{id}/replay
    return _replayed(request, viewer, lambda s: jobs.replay(s, job_id), f"job #{job_id}")


@router.post("/shops/{code}/sync", response_class=HTMLResponse)
def sync_now(request: Request, viewer: SignedIn, code: ShopCode) -> HTMLResponse:
    """Poll the shop's orders now and push every listing's stock again, as the API's sync now."""
    allowed(viewer, "shops:write")  # as POST /api/v1/shops/{code}/sync
    return _replayed(request, viewer, lambda s: request_sync(s, code), code, sync=True)


# --- connecting a shop -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormField:
    """One input of the connect form: a credential or a setting the channel's connector declares."""

    name: str  # the input's name: credentials.<name> or settings.<name>
    label: str
    kind: str  # text, number, bool, secret
    default: Any
    help: str
    needed_to_sync: bool = False


def _kind(annotation: Any) -> str:
    """How a setting is typed in: a box to tick, a number, or text."""
    found = {a for a in get_args(annotation) if a is not type(None)} or {annotation}
    if found == {bool}:
        return "bool"
    if found <= {int, float}:
        return "number"
    return "text"


def _setting_fields(model: type[BaseModel], required: tuple[str, ...], skip: set[str]) -> list[FormField]:
    fields = []
    for name, info in model.model_fields.items():
        if name in skip or get_origin(info.annotation) is dict:  # rate limits: through the API
            continue
        default = None if info.is_required() or info.default_factory else info.default
        fields.append(
            FormField(
                f"settings.{name}",
                name,
                _kind(info.annotation),
                default,
                info.description or "",
                name in required,
            )
        )
    return fields


@dataclass(frozen=True)
class ChannelForm:
    """What a shop on the channel is connected with: its credentials (None: the connector declares
    none, so names and values are typed), its own settings, and the engine's."""

    channel: str
    credentials: list[FormField] | None
    own: list[FormField]
    engine: list[FormField]

    @property
    def settings(self) -> list[FormField]:
        return self.own + self.engine


def _channel_form(channel: str) -> ChannelForm | None:
    klass = connector_class(channel) if channel in installed_channels() else None
    if klass is None:
        return None
    own = (
        _setting_fields(klass.settings_model, klass.required_settings, set()) if klass.settings_model else []
    )
    location = klass.location_setting
    if location and location not in {field.label for field in own}:
        help_text = "where stock goes when a listing's mapping names no location of its own"
        own.append(FormField(f"settings.{location}", location, "text", None, help_text))
    credentials = [
        FormField(f"credentials.{name}", name, "secret", None, help_text)
        for name, help_text in klass.credential_fields.items()
    ]
    return ChannelForm(
        channel, credentials or None, own, _setting_fields(SyncSettings, (), {field.label for field in own})
    )


#: Credentials typed as names and values, for a connector that declares none.
FREE_CREDENTIALS = 4


def _shop_in(form: dict[str, str], chosen: ChannelForm) -> dict[str, Any]:
    """The API's body (``ShopIn``) for the form as filled: empty inputs left out (their defaults), a box
    left as its default left out too."""
    settings: dict[str, Any] = {}
    for field in chosen.settings:
        value = form.get(field.name, "").strip()
        if field.kind == "bool":
            ticked = value == "1"
            if ticked != bool(field.default):
                settings[field.label] = ticked
        elif value:
            settings[field.label] = value
    if chosen.credentials is not None:
        pairs = [(field.label, form.get(field.name, "")) for field in chosen.credentials]
    else:
        pairs = [
            (form.get(f"credential_name.{n}", "").strip(), form.get(f"credential_value.{n}", ""))
            for n in range(FREE_CREDENTIALS)
        ]
    credentials = {name: value for name, value in pairs if name and value}
    return {
        "code": form.get("code", ""),
        "name": form.get("name", ""),
        "channel": chosen.channel,
        "base_url": form.get("base_url", "").strip() or None,
        "credentials": credentials or None,
        "settings": settings,
        "sync_enabled": form.get("sync_enabled") == "1",
    }


def _connect_page(
    request: Request,
    viewer: Viewer,
    form: dict[str, str],
    problems: dict[str, str] | None = None,
    code: int = status.HTTP_200_OK,
) -> HTMLResponse:
    channels_installed = installed_channels()
    channel = form.get("channel") or channels_installed[0]
    # Secrets are never sent back into the page: a refused form asks for them again.
    kept = {
        name: value for name, value in form.items() if not name.startswith(("credentials.", "credential_"))
    }
    page = render(
        request,
        "shop_new.html",
        viewer,
        channels_installed=channels_installed,
        chosen=_channel_form(channel),
        channel=channel,
        form=kept,
        problems=problems or {},
        free_credentials=range(FREE_CREDENTIALS),
    )
    page.status_code = code
    return page


@router.get("/shops/new", response_class=HTMLResponse)
def connect_form(request: Request, viewer: SignedIn) -> HTMLResponse:
    """The form to connect a shop: the channel chosen among the installed connectors, then what that
    connector declares (credentials, settings); htmx changing the channel gets the form again."""
    allowed(viewer, "shops:admin")  # as POST /api/v1/shops
    return _connect_page(request, viewer, dict(request.query_params))


@router.post("/shops/new", response_model=None)
async def connect_shop(request: Request, viewer: SignedIn) -> Response:
    """Create the shop through the API's body and use case (credentials sealed as the API seals them),
    then the shops page; refusals said beside their fields."""
    allowed(viewer, "shops:admin")
    form = await read_form(request)
    chosen = _channel_form(form.get("channel", ""))
    problems: dict[str, str] = {}
    status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
    if chosen is None:
        problems["channel"] = f"one of {', '.join(installed_channels())}"
    else:
        try:
            asked = ShopIn.model_validate(_shop_in(form, chosen))
            with transaction(request.app.state.factory) as session:
                created = channels.create_shop(session, asked)
        except ValidationError as invalid:
            problems = {e["field"]: e["message"] for e in validation_errors(invalid)}
        except DomainError as refused:
            said = refused.errors or [{"field": refused.field or "form", "message": refused.message}]
            problems = {e["field"]: e["message"].removeprefix(f"{e['field']}: ") for e in said}
            status_code = refused.http_status
    if problems:
        answer = _connect_page(request, viewer, form, problems, status_code)
        if request.headers.get("hx-request"):
            answer.status_code = status.HTTP_200_OK  # htmx swaps only 2xx answers
        return answer
    where = f"/shops?{urlencode({'connected': created.code})}"
    if request.headers.get("hx-request"):
        return Response(status_code=status.HTTP_204_NO_CONTENT, headers={"HX-Redirect": where})
    return RedirectResponse(where, status.HTTP_303_SEE_OTHER)
