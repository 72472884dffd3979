"""The interface every channel plugin implements. A platform is a package ``orderly.channels.<name>``
exposing ``CONNECTOR``, a :class:`Connector` subclass; adding a platform is adding such a package.

Every platform package has the same files:
- ``client.py`` talks HTTP (httpx) to one shop: auth, signing, pagination, rate-limit headers, the
  platform's error bodies turned into the exceptions below. It never touches our database.
- ``connector.py`` is the :class:`Connector` subclass: what the engine calls, built on the client, and
  the **bindings**: which platform ids a listing needs for stock pushes (e.g. Shopify's inventory item
  and location). A SKU mapping may set them (``location``, ``platform_ids``, named by
  ``listing_ids``); what it does not set the connector learns, and the engine keeps in
  ``listing_bindings.data``.
- ``mapper.py`` is pure: platform payload -> normalized order (``orderly.orders.schemas``).
- ``webhooks.py``: what the platform's deliveries to the hub are (signature, topics), or why it sends
  none.

Rate limits are counted per HTTP request: a client calls the connector's ``pace(operation)`` before
every request it sends (see :data:`Pacer`), so a push that takes two requests draws two tokens.

The engine (jobs, polling, webhooks, stock sync) calls only what is declared here, so it never knows
which platform it is talking to. Every call takes explicit arguments and returns plain data; failures
are raised as the exceptions below so the engine can retry, back off or dead-letter.
"""

from __future__ import annotations

import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

import httpx
from pydantic import BaseModel

from orderly.core.redact import redact
from orderly.jobs.errors import GiveUp, JobFailed, RetryLater


@dataclass(frozen=True)
class ShopConnection:
    """What a connector needs to reach one shop. ``base_url`` points at the platform or a sandbox."""

    shop_id: int
    shop_code: str
    base_url: str
    credentials: Mapping[str, str]  # decrypted for this call only; never logged
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RateLimit:
    """A platform's published limit for one operation: a token bucket. Operations with the same
    ``bucket`` draw on one budget (Shopify counts every Admin API call against one bucket)."""

    per_second: float
    burst: int
    bucket: str | None = None


#: The pacing hook: a client calls it before every HTTP request it sends to the platform (retries
#: and follow-up requests included), with the operation the request counts against (a key of
#: ``Connector.rate_limits``). The engine sets ``connector.pace`` to wait for the shop's shared
#: budget; the hook may sleep, or raise :class:`RateLimited` when the wait is long (the job then runs
#: again later). It does nothing until the engine sets it.
Pacer = Callable[[str], None]


def unpaced(operation: str) -> None:
    """The default :data:`Pacer`: no budget to wait for."""


#: The keeping hook: a client calls it with the shop's whole credentials once the platform issued new
#: ones (a refreshed access token, a rotated refresh token), so the engine seals and stores them like
#: any shop secret; without it a restart would go back to tokens the platform no longer takes.
CredentialKeeper = Callable[[Mapping[str, str]], None]


def unkept(credentials: Mapping[str, str]) -> None:
    """The default :data:`CredentialKeeper`: the new credentials live as long as the connector."""


@dataclass(frozen=True)
class RawOrder:
    """One platform order exactly as fetched (with whatever sub-resources the mapper needs)."""

    external_id: str
    version: str  # the platform's own last-update stamp, as text: orders the versions of one order
    body: dict[str, Any]


@dataclass(frozen=True)
class OrderPage:
    orders: list[RawOrder]
    next_cursor: str | None  # opaque; None on the last page


@dataclass(frozen=True)
class StockPush:
    listing_id: str  # as in sku_mappings.listing_id
    platform_sku: str | None
    quantity: int  # the absolute quantity to publish, never a delta
    binding: Mapping[str, Any]  # listing_bindings.data for this listing ({} until learned)
    location: str | None = None  # the mapping's own location; None: the shop's default
    platform_ids: Mapping[str, str] = field(default_factory=dict)  # set on the mapping: win over learned


@dataclass(frozen=True)
class PushResult:
    listing_id: str
    ok: bool
    error: str | None = None
    # The listing's binding data as it is to be kept from now on (it replaces the stored one, so a
    # connector can also forget an id that went stale); None: keep what is stored.
    binding: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.error is not None:  # it may quote the platform's answer: see ChannelError
            object.__setattr__(self, "error", redact(self.error))


@dataclass(frozen=True)
class ParcelLine:
    """Units of one order line in a parcel, named as the platform's order named the line."""

    listing_id: str | None  # the line's listing (Shopify: variant id; Amazon: ASIN)
    platform_sku: str | None
    quantity: int


@dataclass(frozen=True)
class Parcel:
    """A parcel the hub handed over, for the shop to hear of (:meth:`Connector.write_back`)."""

    reference: str  # the hub's id for the parcel: the same parcel always has the same one
    external_id: str  # the platform order
    carrier: str | None  # as the hub names it ("UPS", "DHL Express"); each platform maps it to its code
    service: str | None
    tracking_number: str | None
    tracking_url: str | None
    shipped_at: datetime
    lines: Sequence[ParcelLine]
    #: What the platform answered when it accepted this parcel before (``WriteBack.platform_ids``): the
    #: tracking is then updated there, nothing is shipped again. Empty: not known to be accepted.
    accepted: Sequence[str] = ()
    #: A request of an earlier try may have reached the platform without its answer reaching us: look
    #: on the platform for what it made before sending anything.
    maybe_sent: bool = False


@dataclass(frozen=True)
class WriteBack:
    """What the platform holds for a parcel now: the ids of what it recorded (Shopify: fulfillments;
    Amazon: the package reference), and how we know."""

    platform_ids: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class PlatformLabel:
    """What a platform's own logistics gave for a parcel shipped through it."""

    tracking_number: str
    carrier: str  # the logistics channel as the platform names it ("SPX Express")
    label_pdf: bytes | None  # the platform's shipping label, when it provides one
    platform_ids: tuple[str, ...] = ()  # package / shipment ids the platform made


@dataclass(frozen=True)
class WebhookEvent:
    event_id: str  # the platform's delivery id: the same delivery twice has the same id
    topic: str
    external_id: str | None  # the order it concerns, when it concerns one
    version: str | None
    body: dict[str, Any]


class ChannelError(JobFailed):
    """A platform call failed. ``retryable`` says whether the same call may succeed later (the job
    that made it fails as ``jobs.errors`` says).

    The message and body are redacted (``core/redact.py``) as they are made: a platform's error may
    echo the request it answers, credentials included, and this text is stored, alerted and logged."""

    def __init__(self, message: str, *, status: int | None = None, body: str | None = None) -> None:
        super().__init__(redact(message))
        self.status = status
        self.body = None if body is None else redact(body)


class RateLimited(RetryLater, ChannelError):
    """The platform throttled us (e.g. HTTP 429), or our own pacer asks for a long wait. The engine
    reads:

    - ``retry_after`` (seconds): no request to the throttled operation before then; the job runs
      again at that time, spending none of its attempts on the wait;
    - ``operation`` (a key of ``Connector.rate_limits``, or None): the operation the platform
      throttled. Only its bucket is held back for every worker; None holds back every bucket of the
      shop (a platform that does not say which of its limits was hit)."""

    waiting_for = "rate limited"

    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        operation: str | None = None,
        status: int | None = 429,
        body: str | None = None,
    ):
        super().__init__(message, retry_after=retry_after, status=status, body=body)
        self.operation = operation


class AuthFailed(GiveUp, ChannelError):
    """Credentials refused: retrying will not help until a person fixes them."""


class Rejected(GiveUp, ChannelError):
    """The platform refused this request as invalid (4xx other than auth and throttling)."""


class Unreached(ChannelError):
    """The request never reached the platform (no connection could be made): sending it again is safe
    even when the platform would act on it twice."""


def require_credentials(credentials: Mapping[str, str], names: Sequence[str], platform: str) -> None:
    """Refuse, naming what is missing, a shop whose sealed credentials lack any of ``names``."""
    lacking = [name for name in names if not credentials.get(name)]
    if lacking:
        raise AuthFailed(f"{platform} credentials lack {', '.join(lacking)}")


@dataclass(frozen=True)
class Retries:
    """How one request is retried in place before its failure goes to the job: a 500, a dropped
    connection or a short throttle costs one request again, not the pages already fetched. Waits
    double from ``first_wait`` with jitter; a throttle waits its Retry-After, unless longer than
    ``longest_wait`` (then, as for the pacer's long waits, the job runs again at that time)."""

    tries: int = 4
    first_wait: float = 0.2
    longest_wait: float = 5.0


RETRIES = Retries()
T = TypeVar("T")


def retrying(
    send: Callable[[], T],
    *,
    replayable: bool = True,
    retries: Retries = RETRIES,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``send()`` (one request, paced inside), tried up to ``retries.tries`` times. A request the
    platform may not act on twice (``replayable=False``) is sent again only when it surely did not
    act: throttled, or never reached."""
    attempt = 1
    while True:
        try:
            return send()
        except RateLimited as exc:
            if attempt == retries.tries or exc.retry_after > retries.longest_wait:
                raise
            wait = exc.retry_after
        except ChannelError as exc:
            safe = replayable or isinstance(exc, Unreached)
            if attempt == retries.tries or not exc.retryable or not safe:
                raise
            wait = min(retries.longest_wait, retries.first_wait * 2 ** (attempt - 1))
            wait *= random.uniform(0.5, 1.0)  # jitter: retries of many workers never in lockstep
        sleep(wait)
        attempt += 1


class UnusableDelivery(Rejected):
    """A genuine webhook delivery that the hub cannot use (not JSON, no order id, a topic it does not
    handle). It is kept in the inbox with this reason, once per content, for a person to see, and
    acknowledged, so the platform does not resend it for days."""

    def __init__(self, message: str, *, topic: str) -> None:
        super().__init__(message)
        self.topic = topic


class Connector(ABC):
    channel: ClassVar[str]  # the channel name shops are created with, e.g. "shopify"
    rate_limits: ClassVar[Mapping[str, RateLimit]]  # by operation: "orders", "stock", "shipments"
    max_push_batch: ClassVar[int] = 1  # stock pushes one request can carry
    webhooks: ClassVar[bool] = False  # whether the platform can push order events to us
    writes_back: ClassVar[bool] = False  # whether the platform takes our parcels' tracking (write_back)
    #: The shop credential a delivery's signature is checked with (``verify_webhook``'s ``secret``);
    #: None: the check needs none. Several names, for a platform that signs with more than one (Lazada:
    #: its app key and secret): ``secret`` is then their values in that order, joined by newlines.
    webhook_credential: ClassVar[str | tuple[str, ...] | None] = None
    #: Whether a delivery only names the order that changed (TikTok Shop's notifications carry its id
    #: and status, not the order): each accepted one wakes the shop's poll, which reads the order.
    webhook_polls: ClassVar[bool] = False
    #: Orders updated within this long of now may not be listed yet: a poll counts as synced only up to
    #: ``now - lag`` (Amazon: two minutes).
    lag: timedelta = timedelta(0)
    #: The shop setting naming where stock goes when a listing's mapping names no location of its own;
    #: None for a platform without locations (a mapping can then name none).
    location_setting: ClassVar[str | None] = None
    #: The platform ids a SKU mapping may carry for its listing's pushes, by name: what each is.
    listing_ids: ClassVar[Mapping[str, str]] = {}
    #: True where the platform's own logistics ships the parcel (the fulfilment "platform" carrier)
    PLATFORM_LOGISTICS: ClassVar[bool] = False

    @classmethod
    def listing_problems(cls, location: str | None, platform_ids: Mapping[str, str]) -> list[tuple[str, str]]:
        """What is wrong with a mapping's location and platform ids for this platform, as (field,
        message) pairs; empty if nothing."""
        problems = []
        if location is not None and cls.location_setting is None:
            problems.append(("location", f"{cls.channel} listings have no location"))
        unknown = sorted(set(platform_ids) - set(cls.listing_ids))
        if unknown:
            known = ", ".join(sorted(cls.listing_ids)) or "none"
            message = f"unknown platform id(s) {', '.join(unknown)}; {cls.channel} knows: {known}"
            problems.append(("platform_ids", message))
        return problems

    #: The shop settings this connector reads beyond the engine's own (``SyncSettings``): their names,
    #: types and meaning. A shop on this channel takes no other names.
    settings_model: ClassVar[type[BaseModel] | None] = None
    #: Of those, the ones it cannot run without: sync is refused until they are set.
    required_settings: ClassVar[tuple[str, ...]] = ()
    #: Of those, the ones that say where requests or credentials go (e.g. a token endpoint). Like the
    #: shop's ``base_url``, such a setting changes only along with the credentials: otherwise whoever
    #: may edit a shop could point it at their own server and have the stored secrets sent there.
    address_settings: ClassVar[tuple[str, ...]] = ()
    #: The credentials a shop on this platform is connected with, by name: what each is (the console's
    #: connect form asks for these; a connector declaring none is given names and values as typed).
    credential_fields: ClassVar[Mapping[str, str]] = {}

    def __init__(self, connection: ShopConnection, client: httpx.Client) -> None:
        self.connection = connection
        self.client = client
        self.pace: Pacer = unpaced  # see Pacer: call before every request
        self.keep_credentials: CredentialKeeper = unkept  # see CredentialKeeper
        #: Set by :meth:`write_back` as it sends a request the platform may act on: a write-back that
        #: failed with this unset surely changed nothing there.
        self.acted = False

    @abstractmethod
    def fetch_orders(
        self, updated_after: datetime, updated_before: datetime, cursor: str | None
    ) -> OrderPage:
        """One page of orders updated in [after, before); ``cursor`` continues a previous page."""

    @abstractmethod
    def fetch_order(self, external_id: str) -> RawOrder | None:
        """One order as it is now, or None if the platform does not know it."""

    @abstractmethod
    def map_order(self, raw: RawOrder) -> dict[str, Any]:
        """The normalized order (``orderly.orders.schemas.NormalizedOrder`` shape) for ``raw``; pure."""

    @abstractmethod
    def push_stock(self, pushes: Sequence[StockPush]) -> list[PushResult]:
        """Publish absolute quantities; at most ``max_push_batch`` pushes per call, one result each."""

    def write_back(self, parcel: Parcel) -> WriteBack:
        """Tell the platform a parcel of the order left: carrier, tracking number and url, the lines and
        units it carries. Never twice: a parcel already ``accepted`` only has its tracking updated,
        and one ``maybe_sent`` is looked for on the platform first. Raises :class:`Rejected` (with the
        platform's reason) when the platform refuses it; retryable errors otherwise. Only called on a
        connector whose ``writes_back`` is True."""
        raise NotImplementedError(f"{self.channel} takes no tracking numbers")

    def ship_with_platform(self, parcel: Parcel, *, method: str | None = None) -> PlatformLabel:
        """Arrange the parcel with the platform's logistics (``method``: the platform's own choice,
        e.g. Shopee pickup / dropoff / non_integrated; None: the platform's default) and return
        its tracking number and label. Must be safe to call again after a lost answer: look on the
        platform first (``parcel.maybe_sent``) and return what it already made. Only called on a
        connector whose ``PLATFORM_LOGISTICS`` is True."""
        raise NotImplementedError(f"{type(self).__name__} has no platform logistics")

    def authorize(self, code: str) -> dict[str, str]:
        """The tokens the authorisation code a platform gave the seller (pasted by a person) is
        exchanged for, to be stored with the shop's credentials (``orderly shop authorize``). Only
        for a platform whose shops are authorised that way."""
        raise NotImplementedError(f"{self.channel} shops take no authorisation code")

    def ready(self, raw: RawOrder) -> bool:
        """Whether the order can be mapped yet (an Amazon order shows no prices before payment); one
        that is not is skipped until a later version arrives. Every order the platform sold is ready
        once it can be identified and priced: cancelled, shipped or platform-fulfilled orders and
        orders without a full address are mapped, and the hub decides what to do with them."""
        return True

    def cancelled(self, raw: RawOrder) -> bool:
        """Whether an order that is not ``ready`` is cancelled on the platform, so the hub must cancel
        the version it knows without mapping this one."""
        return False

    # Deliveries are checked and read through the class: the webhook endpoint builds no connector and
    # decrypts no credential but the one the check needs.

    @classmethod
    def verify_webhook(cls, secret: str | None, headers: Mapping[str, str], body: bytes) -> bool:
        """Whether a delivery really comes from the platform (constant-time signature check), given the
        shop's ``webhook_credential`` (None if it has none)."""
        raise NotImplementedError(f"{cls.channel} has no webhooks")

    @classmethod
    def verify_delivery(
        cls,
        secret: str | None,
        headers: Mapping[str, str],
        body: bytes,
        *,
        url: str,
        settings: Mapping[str, Any],
    ) -> bool:
        """:meth:`verify_webhook`, for a platform whose signature also covers the URL the delivery was
        posted to (``url``: as the hub received it; the shop's ``settings`` may name the one registered
        with the platform, when a proxy rewrites it)."""
        return cls.verify_webhook(secret, headers, body)

    @classmethod
    def ping(cls, headers: Mapping[str, str], body: bytes) -> bool:
        """Whether a delivery is the platform's unsigned check that the hub's URL answers, with nothing
        in it to keep (WooCommerce POSTs ``webhook_id=<id>`` when a webhook is made, and takes the URL
        only if it answers 200): answered 200 and stored nowhere."""
        return False

    @classmethod
    def answer_challenge(
        cls, secret: str | None, challenge: str, *, url: str, settings: Mapping[str, Any]
    ) -> dict[str, str]:
        """The answer to a platform's check that the hub's endpoint is its own (eBay's GET with a
        ``challenge_code``, before it sends anything), given the shop's ``webhook_credential``, the URL
        the check came to and the shop's settings. Raises :class:`AuthFailed` when the shop lacks
        what the answer needs."""
        raise NotImplementedError(f"{cls.channel} sends no endpoint challenge")

    @classmethod
    def parse_webhook(cls, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """What a verified delivery is about; :class:`UnusableDelivery` for one the hub cannot use. An
        event without an ``external_id`` concerns no order: the hub keeps it unprocessed."""
        raise NotImplementedError(f"{cls.channel} has no webhooks")

    @classmethod
    def webhook_topic(cls, headers: Mapping[str, str]) -> str:
        """A delivery's topic from its headers alone ("" where the platform names it only in the
        body): the engine records it for a delivery too large to read."""
        return ""
