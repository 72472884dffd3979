"""What carriers say of the parcels they sold labels for, onto each parcel's timeline
(``fulfilment.service.record_tracking``): polled through the jobs, and pushed by the carriers that
push (EasyPost's signed tracker webhooks).

A poll reads the account and the parcels it follows in a short transaction, asks the carrier with no
transaction open, and records each parcel in a transaction of its own. Carriers resend a parcel's
whole history, and the timeline keeps each event once, so polling and pushes may overlap freely.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from orderly.core.db import transaction
from orderly.core.errors import DomainError, NotFound
from orderly.fulfilment import service as fulfilment
from orderly.fulfilment.carriers import repository as repo
from orderly.fulfilment.carriers import service as carriers
from orderly.fulfilment.carriers.connector import WEBHOOK_SECRET, CarrierEvent
from orderly.fulfilment.carriers.models import CarrierAccount
from orderly.fulfilment.carriers.registry import connector_class
from orderly.jobs.registry import JobContext
from orderly.jobs.service import Claimed, NewJob, enqueue

TRACK_PARCELS = "track_parcels"
#: Parcels asked about per job: one DHL call holds 200 (``dhl-express.md`` §7); EasyPost asks one by
#: one, within its pace. The least recently heard go first, so every parcel gets its turn.
PER_POLL = 200
ACTOR = "carrier"


class WebhookRefused(DomainError):
    http_status = 401


def schedule_polls(session: Session) -> None:
    """One poll job per account with parcels to follow, coalesced with one already queued."""
    enqueue(
        session,
        [
            NewJob(TRACK_PARCELS, {"account_id": aid}, key=f"track:{aid}")
            for aid in repo.accounts_following(session)
        ],
    )


def poll_parcels(ctx: JobContext, job: Claimed) -> None:
    account_id = int(job.payload["account_id"])
    with transaction(ctx.factory) as session:
        account = session.get(CarrierAccount, account_id)
        if account is None or not account.active:
            return
        target = carriers.reach(account, ctx.settings)
        parcels = {
            shipment.tracking_number or "": (shipment.id, carriers.bought_label(label, shipment))
            for shipment, label in repo.followed(session, account_id, PER_POLL)
        }
    if not parcels:
        return
    with carriers.connected(ctx.factory, target, sleep=ctx.sleep) as connector:
        news = connector.track([bought for _, bought in parcels.values()])
    for number, events in news.items():
        if number in parcels and events:
            with transaction(ctx.factory) as session:
                _record(session, parcels[number][0], account.plugin, events)


def receive_webhook(session: Session, code: str, headers: Mapping[str, str], body: bytes) -> int | None:
    """A carrier's signed push: its parcel's events onto the timeline. The number of new events; None
    when the push is about nothing the hub follows (another kind of event, or a tracking number it did
    not buy from this account): answered all the same, so the carrier does not resend it."""
    account = repo.account_by_code(session, code)
    klass = connector_class(account.plugin)
    if klass is None or not klass.webhooks:
        raise NotFound(f"carrier account {code!r} ({account.plugin}) sends no webhooks")
    secret = carriers.reach(account).ref.credentials.get(WEBHOOK_SECRET)
    if not klass.verify_webhook(secret, headers, body):
        raise WebhookRefused("the webhook signature does not match")
    try:
        update = klass.parse_webhook(headers, body)
    except ValueError as exc:
        raise DomainError(f"the webhook body is not one {account.plugin} sends: {exc}") from exc
    if update is None:
        return None
    shipment_id = repo.labelled_parcel(session, account.id, update.tracking_number)
    if shipment_id is None:
        return None
    return _record(session, shipment_id, account.plugin, update.events)


def _record(
    session: Session, shipment_id: int, plugin: str, events: tuple[CarrierEvent, ...] | list[CarrierEvent]
) -> int:
    return fulfilment.record_tracking(
        session, shipment_id, [event.on_timeline() for event in events], source=plugin, actor=ACTOR
    )
