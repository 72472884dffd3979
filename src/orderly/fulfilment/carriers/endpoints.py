"""Carrier accounts over HTTP (an admin's: they hold credentials and say where they are sent), and a
parcel's quote."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Path, Request, status
from pydantic import BaseModel, Field

from orderly.core.web import (
    Authenticated,
    DbSession,
    Factory,
    RawBody,
    ReadFactory,
    ReadSession,
    api_router,
    error_responses,
    id_path,
    require,
)
from orderly.fulfilment import service as fulfilment
from orderly.fulfilment.carriers import labels, service, tracking
from orderly.fulfilment.carriers.schemas import (
    CarrierAccountIn,
    CarrierAccountOut,
    CarrierAccountUpdate,
    LabelIn,
    LabelOutcomeIn,
    RatesIn,
    RatesOut,
)
from orderly.fulfilment.schemas import ShipmentOut

router = api_router("carriers")
# A carrier's push carries its signature instead of our token.
webhooks = api_router("webhooks", public=True)

AccountCode = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
ShipmentId = Annotated[int, id_path("shipment")]
_ADMIN = [Depends(require("carriers:admin"))]


@router.get("/carrier-accounts", response_model=list[CarrierAccountOut])
def list_accounts(session: ReadSession) -> list[CarrierAccountOut]:
    return service.list_accounts(session)


@router.post(
    "/carrier-accounts",
    response_model=CarrierAccountOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=_ADMIN,
)
def create_account(session: DbSession, body: CarrierAccountIn) -> CarrierAccountOut:
    """An account with a carrier plugin (manual, easypost, dhl_express); credentials are write-only."""
    return service.create_account(session, body)


@router.get("/carrier-accounts/{code}", response_model=CarrierAccountOut)
def get_account(session: ReadSession, code: AccountCode) -> CarrierAccountOut:
    return service.get_account(session, code)


@router.patch("/carrier-accounts/{code}", response_model=CarrierAccountOut, dependencies=_ADMIN)
def update_account(session: DbSession, code: AccountCode, body: CarrierAccountUpdate) -> CarrierAccountOut:
    """Rename, switch on or off, change settings or credentials; a new address needs the credentials
    again (409 otherwise)."""
    return service.update_account(session, code, body)


@router.post(
    "/shipments/{shipment_id}/rates",
    response_model=RatesOut,
    responses=error_responses(502),
    dependencies=[Depends(require("fulfilment:write"))],
)
def quote(factory: Factory, read_factory: ReadFactory, shipment_id: ShipmentId, body: RatesIn) -> RatesOut:
    """The carrier account's offers for a parcel not yet handed over, and the one rate shopping picks:
    the cheapest that arrives by ``deliver_by`` within the preference. 409 when the parcel lacks what
    the carrier needs (ship_from, weight, box) or the carrier refuses; 502 when the carrier fails."""
    return service.quote(factory, read_factory, shipment_id, body)


@router.post(
    "/shipments/{shipment_id}/label",
    response_model=ShipmentOut,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Depends(require("fulfilment:write"))],
)
def buy_label(
    session: DbSession, caller: Authenticated, shipment_id: ShipmentId, body: LabelIn
) -> ShipmentOut:
    """Buy the parcel's label from a carrier account: a service, or ``cheapest`` (the cheapest offer
    arriving by ``deliver_by`` within the preference). A job buys it; ``carrier_label.state`` says where
    it stands (``buying``, then ``bought`` with the parcel ``label_bought``, or ``failed``/``unknown``
    with the reason). 409 when the parcel has left, has a label, or a purchase is under way."""
    labels.request_label(session, shipment_id, body, actor=caller.name)
    return fulfilment.get_shipment(session, shipment_id)


@router.post(
    "/shipments/{shipment_id}/label/outcome",
    response_model=ShipmentOut,
    dependencies=[Depends(require("fulfilment:write"))],
)
def settle_label(
    session: DbSession, caller: Authenticated, shipment_id: ShipmentId, body: LabelOutcomeIn
) -> ShipmentOut:
    """Say what became of a label purchase whose outcome is ``unknown`` (the carrier's answer was lost
    and it cannot be asked, e.g. DHL Express), once you looked in the carrier's account for reference
    ``SHP-<id>``: bought, with the tracking number found there (the parcel goes ``label_bought``), or
    not bought (``failed``: a new label may be asked for). 409 unless the outcome is unknown."""
    labels.settle_unknown(session, shipment_id, body, actor=caller.name)
    return fulfilment.get_shipment(session, shipment_id)


class PushOut(BaseModel):
    status: Literal["recorded", "ignored"] = Field(
        description="recorded: onto the parcel's timeline (new_events of it new); ignored: about "
        "nothing the hub follows, acknowledged so the carrier does not resend it"
    )
    new_events: int = 0


@webhooks.post("/webhooks/carriers/{code}", response_model=PushOut)
def receive_carrier_webhook(
    request: Request, session: DbSession, code: AccountCode, body: RawBody
) -> PushOut:
    """A carrier account's signed tracking push (EasyPost: ``X-Hmac-Signature`` with the account's
    ``webhook_secret``): the parcel's events onto its timeline. 401 when the signature does not match,
    404 for an account that sends none."""
    recorded = tracking.receive_webhook(session, code, request.headers, body)
    return PushOut(status="ignored") if recorded is None else PushOut(status="recorded", new_events=recorded)
