"""Shops, their sync, and the platforms' webhooks over HTTP."""

from __future__ import annotations

from typing import Annotated, Literal

import httpx
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from orderly.channels import backfills, inbox, service, tasks
from orderly.channels.connector import AuthFailed
from orderly.channels.schemas import BackfillIn, BackfillOut, InboxPage, ShopIn, ShopOut, ShopUpdate
from orderly.core.db import transaction
from orderly.core.pagination import MAX_ID, decode_cursor, paginate
from orderly.core.text import StorableStr
from orderly.core.web import (
    Cursor,
    DbSession,
    Factory,
    Limit,
    RawBody,
    ReadSession,
    StatusOut,
    StrictJSONRoute,
    api_router,
    id_path,
    require,
)

router = api_router("channels", area="shops")
# Webhooks carry the platform's signature instead of our token, so they have a router of their own.
webhooks = APIRouter(tags=["webhooks"], route_class=StrictJSONRoute)

ShopCode = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
# Reading a delivery makes no platform call; the connector still wants a client to hold.
_NO_CALLS = httpx.Client(base_url="http://127.0.0.1:9")


@router.get("/shops", response_model=list[ShopOut])
def list_shops(session: ReadSession) -> list[ShopOut]:
    return service.list_shops(session)


# Shops hold credentials and say where they are sent: setting them up is an admin's (shops:admin).
@router.post(
    "/shops",
    response_model=ShopOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require("shops:admin"))],
)
def create_shop(session: DbSession, body: ShopIn) -> ShopOut:
    return service.create_shop(session, body)


@router.patch("/shops/{code}", response_model=ShopOut, dependencies=[Depends(require("shops:admin"))])
def update_shop(session: DbSession, code: ShopCode, body: ShopUpdate) -> ShopOut:
    """Change the address, credentials (write-only), sync settings, or switch sync on and off."""
    return service.update_shop(session, code, body)


@router.post("/shops/{code}/sync", response_model=StatusOut, status_code=status.HTTP_202_ACCEPTED)
def sync_now(session: DbSession, code: ShopCode) -> StatusOut:
    """Poll the shop's orders now and push every listing's stock again (409 for a shop that cannot
    sync: no connector for its channel, or sync switched off)."""
    tasks.request_sync(session, code)
    return StatusOut(status="queued")


@router.post("/shops/{code}/backfills", response_model=BackfillOut, status_code=status.HTTP_202_ACCEPTED)
def start_backfill(session: DbSession, code: ShopCode, body: BackfillIn) -> BackfillOut:
    """Import the shop's orders updated since a date, older than its first poll reached: done by the
    workers, slice by slice; read its progress at ``GET /shops/{code}/backfills/{id}``."""
    return backfills.start_backfill(session, code, body)


@router.get("/shops/{code}/backfills", response_model=list[BackfillOut])
def list_backfills(session: ReadSession, code: ShopCode) -> list[BackfillOut]:
    """The shop's backfills, newest first, with their progress."""
    return backfills.backfills(session, code)


@router.get("/shops/{code}/backfills/{backfill_id}", response_model=BackfillOut)
def get_backfill(
    session: ReadSession, code: ShopCode, backfill_id: Annotated[int, id_path("backfill")]
) -> BackfillOut:
    """How far a backfill got: the point every order updated before is in, orders fetched, its job."""
    (found,) = backfills.backfills(session, code, backfill_id)
    return found


@router.get("/inbox", response_model=InboxPage)
def list_inbox(
    session: ReadSession,
    shop: Annotated[StorableStr | None, Query(max_length=64, description="only this shop's (code)")] = None,
    failed: Annotated[bool, Query(description="only entries that could not be mapped")] = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> InboxPage:
    """What the platforms sent, oldest first, each with its state and the error that stopped it;
    `POST /inbox/replay` processes entries again."""
    rows = inbox.list_inbox(
        session, shop=shop, failed=failed, after_id=decode_cursor(cursor) if cursor else 0, limit=limit + 1
    )
    items, next_cursor = paginate(rows, limit, lambda entry: entry.id)
    return InboxPage(items=items, next_cursor=next_cursor)


class InboxReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entry_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(
        default=None, description="entries to process again; none: every entry that gave up"
    )


@router.post("/inbox/replay", response_model=StatusOut, status_code=status.HTTP_202_ACCEPTED)
def replay(session: DbSession, body: InboxReplayIn) -> StatusOut:
    """Process stored deliveries again (after a mapping was fixed, say); the workers take them up."""
    inbox.replay(session, body.entry_ids)
    return StatusOut(status="queued")


#: The largest delivery read (413 beyond, before the signature can be checked, so it bounds what any
#: outsider can make the hub buffer): a platform's order event with hundreds of lines is well under
#: 1 MB. Pass a route's cap as ``max_body_size``; the request gate (``core.web.StrictJSONRoute``)
#: enforces it.
WEBHOOK_BODY_MAX = 5 << 20


class DeliveryOut(BaseModel):
    status: Literal["accepted", "kept", "ping"] = Field(
        description="accepted: an order event, processed by the workers; kept: stored with the reason "
        "the hub cannot use it (acknowledged, so the platform does not resend it); ping: the platform's "
        "check that the URL answers, stored nowhere"
    )
    reason: str | None = None


@webhooks.post(
    "/webhooks/{code}",
    response_model=DeliveryOut,
    status_code=status.HTTP_200_OK,
    max_body_size=WEBHOOK_BODY_MAX,
)
def receive_webhook(request: Request, factory: Factory, code: ShopCode, body: RawBody) -> DeliveryOut:
    """A platform's delivery: verified by its signature, stored raw, answered at once; processed from
    the inbox by the workers. (A plain function: FastAPI runs it off the event loop, so database work
    here never holds up other requests.)"""
    with transaction(factory) as session:
        shop = service.get_shop(session, code)
        klass = service.webhook_class(shop)
        if klass.ping(request.headers, body):
            return DeliveryOut(status="ping")
        secret = service.webhook_secret(shop, klass)
        url, settings = str(request.url), shop.settings or {}
        if not klass.verify_delivery(secret, request.headers, body, url=url, settings=settings):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "the webhook signature does not match")
        reader = service.delivery_reader(shop, klass, _NO_CALLS)
        reason = inbox.store_webhook(session, shop, reader, request.headers, body)
        if reason is None and klass.webhook_polls:
            tasks.poll_soon(session, shop.id)
    return DeliveryOut(status="accepted") if reason is None else DeliveryOut(status="kept", reason=reason)


class ChallengeOut(BaseModel):
    challengeResponse: str = Field(description="the answer the platform expects (eBay: SHA-256 hex)")  # noqa: N815 - eBay's name


@webhooks.get("/webhooks/{code}", response_model=ChallengeOut)
def answer_challenge(
    request: Request,
    session: ReadSession,
    code: ShopCode,
    challenge_code: Annotated[str, Query(min_length=1, max_length=500)],
) -> ChallengeOut:
    """A platform's check, before it sends deliveries, that the endpoint is the shop's (eBay's
    notification endpoint validation): answered from the shop's verification token; 404 for a
    platform that makes none, 409 while the shop lacks what the answer needs."""
    shop = service.get_shop(session, code)
    klass = service.webhook_class(shop)
    secret = service.webhook_secret(shop, klass)
    try:
        answer = klass.answer_challenge(
            secret, challenge_code, url=str(request.url), settings=shop.settings or {}
        )
    except NotImplementedError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except AuthFailed as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return ChallengeOut(challengeResponse=answer["challengeResponse"])
