"""The interface every carrier plugin implements (``docs/carriers/README.md`` §1). A carrier is a
package ``orderly.fulfilment.carriers.<name>`` exposing ``CONNECTOR``, a :class:`CarrierConnector`
subclass; adding a carrier is adding such a package. Its files are a channel plugin's:

- ``client.py`` talks HTTP (httpx) to the carrier with its auth, paced, its error bodies raised as the
  channel error kinds (``RateLimited`` and 5xx: retry later; ``AuthFailed``/``Rejected``: give up;
  ``Unreached``: never sent, safe to send again). It never touches our database.
- ``mapper.py`` is pure: hub data -> the carrier's request bodies, its answers -> the plain data below.
  Units and money are converted there, at the edge (grams, millimetres, integer minor units + ISO 4217).
- ``connector.py``: the subclass the engine calls with plain data.
- ``webhooks.py`` where the carrier pushes tracking (signature check on the raw bytes, then events).

Buying is not idempotent at any carrier: :meth:`CarrierConnector.buy` is sent once, and after an
answer that was lost (timeout, 5xx) the engine calls :meth:`CarrierConnector.find_bought` before any
second try; a carrier that cannot tell raises :class:`UnknownOutcome` and a person decides.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar, TypeVar

import httpx

from orderly.channels.connector import (
    AuthFailed,
    ChannelError,
    Pacer,
    RateLimit,
    RateLimited,
    Rejected,
    Unreached,
    unpaced,
)
from orderly.fulfilment.carriers.domain import (
    BoughtLabel,
    CarrierAccountRef,
    CarrierEvent,
    CustomsLine,
    Label,
    Offer,
    ParcelSpec,
    Party,
    TrackingUpdate,
    VoidOutcome,
    VoidResult,
)
from orderly.fulfilment.domain import TrackingKind
from orderly.jobs.errors import GiveUp

__all__ = [
    "WEBHOOK_SECRET",
    "AuthFailed",
    "BoughtLabel",
    "CarrierAccountRef",
    "CarrierConnector",
    "CarrierError",
    "CarrierEvent",
    "CustomsLine",
    "Label",
    "Offer",
    "Pacer",
    "ParcelSpec",
    "Party",
    "RateLimit",
    "RateLimited",
    "Rejected",
    "TrackingKind",
    "TrackingUpdate",
    "UnknownOutcome",
    "Unreached",
    "VoidOutcome",
    "VoidResult",
]

#: The account credential a carrier's pushes are signed with.
WEBHOOK_SECRET = "webhook_secret"  # noqa: S105 - a credential's name, not a secret

#: A carrier's failure: the channel error kinds, shared so the jobs treat both alike.
CarrierError = ChannelError


class UnknownOutcome(GiveUp, ChannelError):
    """A purchase may or may not have happened, and the carrier gives no way to tell: buying again could
    buy a second label, so a person looks at the carrier's account and decides."""


class CarrierConnector(ABC):
    plugin: ClassVar[str]  # the name accounts are created with: "easypost"
    #: By operation ("rates", "buy", "void", "track"): the carrier's limits, drawn per HTTP request.
    rate_limits: ClassVar[Mapping[str, RateLimit]] = {}
    #: Credential names an account must give, with what each is.
    credential_names: ClassVar[Mapping[str, str]] = {}
    #: The account settings this plugin needs, with what each is.
    setting_names: ClassVar[Mapping[str, str]] = {}
    default_base_url: ClassVar[str] = ""
    webhooks: ClassVar[bool] = False
    buys: ClassVar[bool] = True  # False: the seller types the tracking number (manual)

    def __init__(self, account: CarrierAccountRef, client: httpx.Client) -> None:
        self.account = account
        self.client = client
        self.pace: Pacer = unpaced  # the engine sets it: every request draws from the account's bucket

    @abstractmethod
    def quote(self, parcel: ParcelSpec) -> list[Offer]:
        """Every offer for the parcel (empty if none)."""

    @abstractmethod
    def buy(self, parcel: ParcelSpec, offer: Offer) -> Label:
        """Buy the offer's label, once. A lost answer is a plain retryable ``ChannelError``; the engine
        then calls :meth:`find_bought`, never this again blindly."""

    @abstractmethod
    def find_bought(self, parcel: ParcelSpec, offer: Offer) -> Label | None:
        """After a lost answer to :meth:`buy`: the label if it was bought, None if surely not (buying
        again is safe); :class:`UnknownOutcome` when the carrier cannot tell."""

    @abstractmethod
    def void(self, label: BoughtLabel) -> VoidResult:
        """Void (refund) a bought label."""

    @abstractmethod
    def track(self, labels: Sequence[BoughtLabel]) -> dict[str, list[CarrierEvent]]:
        """Events so far per tracking number, oldest first (batched where the carrier allows); a number
        the carrier does not know yet is absent."""

    @classmethod
    def verify_webhook(cls, secret: str | None, headers: Mapping[str, str], body: bytes) -> bool:
        raise NotImplementedError(f"{cls.plugin} sends no webhooks")

    @classmethod
    def parse_webhook(cls, headers: Mapping[str, str], body: bytes) -> TrackingUpdate | None:
        raise NotImplementedError(f"{cls.plugin} sends no webhooks")


B = TypeVar("B")
T = TypeVar("T")


def read_answer(carrier: str, read: Callable[[B], T], body: B) -> T:
    """A mapper's reading of a carrier's answer; one it cannot read (its ``ValueError``) is a carrier
    failure, retried like any other, never a crash of the job."""
    try:
        return read(body)
    except ValueError as exc:
        raise CarrierError(f"{carrier} answered something the hub cannot read: {exc}") from exc
