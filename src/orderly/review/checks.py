"""The built-in checks: each a rule the seller can tune (its params), scope, re-prioritise, give other
actions or switch off. A check looks at the engine's view of one order and says why it fires, or
returns None. Pure and on the hot path: the engine reviews tens of thousands of orders a second.

Each check is registered where it is written (``@check``), with what the engine and the service need to
know of it and nothing else names: how far back in a buyer's history it looks, and whether its hold is
the stock hold (which allocation, on locked figures, makes again).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from orderly.core.money import minor_unit_exponent
from orderly.core.phrases import Phrase, listed
from orderly.orders.domain import ADDRESS_PARTS, out_of_stock_message
from orderly.review import address
from orderly.review.domain.identities import phone_digits, street_fingerprint
from orderly.review.domain.view import View

CheckKind = Literal["hold", "factor", "merge", "split"]

#: The default remark keywords: English and Chinese, and the languages of the other markets.
REMARK_KEYWORDS = (
    "urgent",
    "asap",
    "rush",
    "gift wrap",
    "gift-wrap",
    "change address",
    "change the address",
    "wrong address",
    "cancel",
    "invoice",
    "加急",
    "急件",
    "礼品包装",
    "改地址",
    "发票",
    "取消",
    "至急",
    "ギフト包装",
    "住所変更",
    "キャンセル",
    # Spanish and Portuguese, for the Mexican and Brazilian shops
    "urgente",
    "cancelar",
    "cancela",
    "factura",
    "nota fiscal",
    "para regalo",
    "para presente",
)
#: Payment methods that are paid on delivery, so a pending payment is normal.
CASH_ON_DELIVERY = ("COD", "cash_on_delivery", "代金引換", "货到付款", "cod")


@dataclass(frozen=True, slots=True)
class Finding:
    """Why a check fired, in words a person reads at a glance (a phrase the console translates, or a
    rule's own name), with the figures behind it."""

    said: Phrase | str
    details: dict[str, Any] | None = None
    merge_with: tuple[Any, ...] = ()  # order keys, for the merge check

    @property
    def message(self) -> str:
        return str(self.said)

    @property
    def phrase(self) -> Phrase | None:
        return self.said if isinstance(self.said, Phrase) else None


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(Params):
    pass


AddressField = Literal["name", "line1", "city", "region", "postal_code", "country", "phone"]
RemarkField = Literal["buyer_remark", "seller_remark"]
_REQUIRED: tuple[AddressField, ...] = ("name", "line1", "city", "postal_code", "country")
_REMARKS: tuple[RemarkField, ...] = ("buyer_remark",)


class RequiredFields(Params):
    required: list[AddressField] = Field(
        default_factory=lambda: list(_REQUIRED),
        description="address fields that must hold a real value",
    )


class PhoneParams(Params):
    required: bool = Field(default=False, description="hold orders with no phone at all")


class KeywordParams(Params):
    keywords: list[str] = Field(default_factory=lambda: list(REMARK_KEYWORDS), min_length=1)
    fields: list[RemarkField] = Field(default_factory=lambda: list(_REMARKS), min_length=1)

    @field_validator("keywords")
    @classmethod
    def _no_blank_keyword(cls, value: list[str]) -> list[str]:
        cleaned = [k.strip().casefold() for k in value]
        if not all(cleaned):
            raise ValueError("a keyword cannot be blank")
        return cleaned

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """Words in scripts with spaces match whole ("rush", not "toothbrush"); Chinese and Japanese,
        written without spaces, match anywhere."""
        parts = [
            rf"(?<!\w){re.escape(k)}(?!\w)" if k[0].isascii() and k[-1].isascii() else re.escape(k)
            for k in sorted(self.keywords, key=len, reverse=True)
        ]
        return re.compile("|".join(parts), re.IGNORECASE)


class Weighted(Params):
    weight: int = Field(default=50, ge=0, le=100, description="points this factor adds to the risk score")


class VelocityParams(Weighted):
    weight: int = Field(default=60, ge=0, le=100)
    window_minutes: float = Field(default=10, gt=0, le=7 * 24 * 60)
    max_orders: int = Field(default=2, ge=1, le=100, description="similar orders tolerated in the window")
    similar: Literal["shared_sku", "any"] = "shared_sku"


class HighValueParams(Weighted):
    weight: int = Field(default=60, ge=0, le=100)
    factor: float = Field(default=10.0, gt=1, description="times the shop's median order total")
    min_orders: int = Field(default=30, ge=1, description="history a shop needs before this check judges")


class BlacklistParams(Weighted):
    weight: int = Field(default=100, ge=0, le=100)
    emails: list[str] = Field(default_factory=list)
    phones: list[str] = Field(default_factory=list)
    buyers: list[str] = Field(default_factory=list, description="buyer ids on the platform")
    addresses: list[dict[str, str]] = Field(
        default_factory=list, description="each {line1, postal_code, country}; line2 is ignored"
    )

    @cached_property
    def lists(self) -> _Blacklist:
        """Built once per rule set: these params are frozen."""
        return _Blacklist(self)

    @field_validator("addresses")
    @classmethod
    def _address_has_street(cls, value: list[dict[str, str]]) -> list[dict[str, str]]:
        for number, entry in enumerate(value):
            unknown = set(entry) - {"line1", "postal_code", "country"}
            if unknown:
                raise ValueError(f"addresses[{number}] has unknown fields {sorted(unknown)}")
            if not entry.get("line1") or not entry.get("country"):
                raise ValueError(f"addresses[{number}] needs line1 and country")
        return value


class UnpaidTimeoutParams(Weighted):
    weight: int = Field(default=30, ge=0, le=100)
    timeout_minutes: float = Field(default=60, gt=0)
    cash_on_delivery: list[str] = Field(default_factory=lambda: list(CASH_ON_DELIVERY))


class PaymentParams(Params):
    timeout_minutes: float = Field(default=60, gt=0, description="after this an unpaid order says so")
    cash_on_delivery: list[str] = Field(default_factory=lambda: list(CASH_ON_DELIVERY))


class ScoreParams(Params):
    threshold: int = Field(default=50, ge=1, le=100, description="hold at this risk score or above")


class MergeParams(Params):
    window_hours: float = Field(default=24, gt=0, le=24 * 30)


@dataclass(frozen=True, slots=True)
class Lookback:
    """How far a check looks into the recent orders around the one it reviews."""

    seconds: float
    every_identity: bool  # every identity (buyer id, email, phone, address), or the buyer's only
    skus: bool = False  # whether it compares the orders' SKUs


Run = Callable[[View, Any], "Finding | None"]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    kind: CheckKind
    title: str
    params: type[Params]
    run: Run
    actions: tuple[dict[str, Any], ...]  # what it does when it fires, unless the seller says otherwise
    priority: int
    lookback: Callable[[Any], Lookback] | None = None  # from its params; None: it reads no history
    holds_for_stock: bool = False  # its hold is the stock hold, decided again on the locked figures


#: Every built-in check by name, in the order they are written below.
CHECKS: dict[str, Check] = {}

_Run = TypeVar("_Run", bound=Run)


def check(
    name: str,
    kind: CheckKind,
    title: str,
    params: type[Params],
    *,
    priority: int,
    actions: tuple[dict[str, Any], ...] = (),
    lookback: Callable[[Any], Lookback] | None = None,
    holds_for_stock: bool = False,
) -> Callable[[_Run], _Run]:
    """Register the function below as a built-in check."""

    def register(run: _Run) -> _Run:
        CHECKS[name] = Check(name, kind, title, params, run, actions, priority, lookback, holds_for_stock)
        return run

    return register


def _hold(reason: str) -> tuple[dict[str, Any], ...]:
    return ({"hold": reason},)


# --- address --------------------------------------------------------------------------------------


@check(
    "address.missing",
    "hold",
    "Address has every field",
    RequiredFields,
    actions=_hold("address"),
    priority=100,
)
def _missing(view: View, params: RequiredFields) -> Finding | None:
    missing = address.missing_fields(view.subject.order["shipping_address"], params.required)
    if not missing:
        return None
    names = listed([ADDRESS_PARTS[name] for name in missing], commas=True)
    return Finding(Phrase("address incomplete: %(missing)s missing", missing=names), {"missing": missing})


@check(
    "address.postal_code",
    "hold",
    "Postal code fits the country",
    NoParams,
    actions=_hold("address"),
    priority=110,
)
def _postal_code(view: View, _: NoParams) -> Finding | None:
    ship = view.subject.order["shipping_address"]
    if ship["postal_code"] is None:
        return None  # a missing code is the missing-fields check's to report
    problem = address.postal_code_problem(ship["country"], ship["postal_code"])
    return (
        Finding(problem, {"postal_code": ship["postal_code"], "country": ship["country"]})
        if problem
        else None
    )


@check(
    "address.phone",
    "hold",
    "Phone is valid for the country",
    PhoneParams,
    actions=_hold("address"),
    priority=120,
)
def _phone(view: View, params: PhoneParams) -> Finding | None:
    order = view.subject.order
    ship = order["shipping_address"]
    phone = ship["phone"] or order["buyer"]["phone"]
    if phone is None:
        return Finding(Phrase("no phone number for the carrier")) if params.required else None
    if ship["country"] is None:
        return None  # judged once the address is complete: the order is held for it until then
    problem = address.phone_problem(phone, ship["country"])
    return Finding(problem, {"phone": phone, "country": ship["country"]}) if problem else None


@check("address.po_box", "hold", "No PO box", NoParams, actions=_hold("address"), priority=130)
def _po_box(view: View, _: NoParams) -> Finding | None:
    ship = view.subject.order["shipping_address"]
    if address.is_po_box(ship["line1"], ship["line2"]):
        return Finding(
            Phrase("ships to a PO box (%(street)s), which the carrier refuses", street=ship["line1"] or "")
        )
    return None


# --- remarks --------------------------------------------------------------------------------------


@check(
    "remark.keywords",
    "hold",
    "Remarks a person must read",
    KeywordParams,
    actions=_hold("remark"),
    priority=200,
)
def _keywords(view: View, params: KeywordParams) -> Finding | None:
    order = view.subject.order
    for name in params.fields:
        remark = order[name]
        if not remark:
            continue
        hits = sorted({m.casefold() for m in params.pattern.findall(remark)})
        if hits:
            words = ", ".join(repr(h) for h in hits)
            said = (
                Phrase("buyer remark mentions %(words)s: %(remark)s", words=words, remark=remark[:200])
                if name == "buyer_remark"
                else Phrase("seller remark mentions %(words)s: %(remark)s", words=words, remark=remark[:200])
            )
            return Finding(said, {"keywords": hits})
    return None


# --- risk factors ---------------------------------------------------------------------------------


@check(
    "risk.velocity",
    "factor",
    "Several similar orders within minutes",
    VelocityParams,
    priority=300,
    lookback=lambda p: Lookback(p.window_minutes * 60, every_identity=True, skus=p.similar == "shared_sku"),
)
def _velocity(view: View, params: VelocityParams) -> Finding | None:
    subject = view.subject
    others = view.context.history.around(
        subject.identities, subject.placed, params.window_minutes * 60, subject.key
    )
    if params.similar == "shared_sku":
        skus = subject.skus
        others = [o for o in others if o.skus & skus]
    if len(others) < params.max_orders:
        return None
    return Finding(
        Phrase(
            "%(orders)s similar orders from the same buyer or address within %(minutes)s minutes",
            orders=len(others) + 1,
            minutes=f"{params.window_minutes:g}",
        ),
        {"orders": len(others) + 1},
    )


@check("risk.high_value", "factor", "Value far above the shop's normal", HighValueParams, priority=310)
def _high_value(view: View, params: HighValueParams) -> Finding | None:
    subject = view.subject
    currency = subject.order["currency"]
    norm = view.context.norms.get((subject.order["shop"], currency))
    if norm is None or norm.orders < params.min_orders or norm.median <= 0:
        return None
    ratio = subject.total / norm.median
    if ratio < params.factor:
        return None
    return Finding(
        Phrase(
            "total %(total)s is %(ratio)sx the shop's usual %(usual)s",
            total=_money(subject.total, currency),
            ratio=f"{ratio:.0f}",
            usual=_money(norm.median, currency),
        ),
        {"total": subject.total, "median": norm.median, "ratio": round(ratio, 1)},
    )


@check("risk.country_mismatch", "factor", "Billing and shipping countries differ", Weighted, priority=320)
def _country_mismatch(view: View, _: Weighted) -> Finding | None:
    order = view.subject.order
    billing, shipping = order["billing_country"], order["shipping_address"]["country"]
    if billing is None or shipping is None or billing == shipping:
        return None
    return Finding(
        Phrase("billed in %(billing)s, shipped to %(shipping)s", billing=billing, shipping=shipping),
        {"billing": billing, "shipping": shipping},
    )


class _Blacklist:
    """The blacklist as sets, built once per rule set rather than per order."""

    __slots__ = ("addresses", "buyers", "emails", "phones")

    def __init__(self, params: BlacklistParams) -> None:
        self.emails = frozenset(e.strip().casefold() for e in params.emails)
        self.phones = frozenset(p for p in map(phone_digits, params.phones) if p)
        self.buyers = frozenset(b.strip() for b in params.buyers)
        self.addresses = frozenset(street_fingerprint(a) for a in params.addresses)


@check(
    "risk.blacklist", "factor", "Blacklisted buyer, email, phone or address", BlacklistParams, priority=330
)
def _blacklisted(view: View, params: BlacklistParams) -> Finding | None:
    lists = params.lists
    order = view.subject.order
    buyer, ship = order["buyer"], order["shipping_address"]
    hits: list[Phrase] = []
    if buyer["email"] and buyer["email"].casefold() in lists.emails:
        hits.append(Phrase("email %(email)s", email=buyer["email"]))
    if lists.phones:
        for phone in {buyer["phone"], ship["phone"]}:
            if phone is not None and phone_digits(phone) in lists.phones:
                hits.append(Phrase("phone %(phone)s", phone=phone))
    if buyer["platform_id"] and buyer["platform_id"] in lists.buyers:
        hits.append(Phrase("buyer %(buyer)s", buyer=buyer["platform_id"]))
    if lists.addresses and view.subject.street in lists.addresses:
        where = f"{ship['line1']}, {ship['postal_code'] or ''} {ship['country']}"
        hits.append(Phrase("address %(address)s", address=where))
    if not hits:
        return None
    return Finding(
        Phrase("blacklisted %(matches)s", matches=listed(hits)), {"matches": [str(h) for h in hits]}
    )


def _unpaid_minutes(view: View, cash_on_delivery: list[str]) -> float | None:
    order = view.subject.order
    method = (order["payment_method"] or "").casefold()
    if order["payment_status"] not in ("pending", "failed") or method in {
        m.casefold() for m in cash_on_delivery
    }:
        return None
    placed: datetime = order["placed_at"]
    return (view.now - placed).total_seconds() / 60


@check("risk.unpaid_timeout", "factor", "Unpaid past the timeout", UnpaidTimeoutParams, priority=340)
def _unpaid_timeout(view: View, params: UnpaidTimeoutParams) -> Finding | None:
    minutes = _unpaid_minutes(view, params.cash_on_delivery)
    if minutes is None or minutes < params.timeout_minutes:
        return None
    return Finding(Phrase("unpaid for %(time)s", time=_duration(minutes)), {"minutes": round(minutes)})


@check(
    "risk.score",
    "hold",
    "Risk score at or above the threshold",
    ScoreParams,
    actions=_hold("risk"),
    priority=390,
)
def _score(view: View, params: ScoreParams) -> Finding | None:
    if view.risk_score < params.threshold:
        return None
    factors = [
        Phrase("%(factor)s (+%(weight)s)", factor=f.phrase or f.message, weight=f.weight)
        for f in view.risk_factors
    ]
    return Finding(
        Phrase(
            "risk score %(score)s (hold at %(threshold)s): %(factors)s",
            score=view.risk_score,
            threshold=params.threshold,
            factors=listed(factors) if factors else "",
        ),
        {"score": view.risk_score, "factors": [f.name for f in view.risk_factors]},
    )


# --- payment, stock, merge ------------------------------------------------------------------------


@check(
    "payment.unpaid",
    "hold",
    "Paid, or cash on delivery",
    PaymentParams,
    actions=_hold("payment"),
    priority=400,
)
def _payment(view: View, params: PaymentParams) -> Finding | None:
    order = view.subject.order
    minutes = _unpaid_minutes(view, params.cash_on_delivery)
    if minutes is None:
        return None
    if order["payment_status"] == "failed":
        return Finding(Phrase("the payment failed"))
    method: Phrase | str = order["payment_method"] or Phrase("unknown method")
    if minutes >= params.timeout_minutes:
        return Finding(
            Phrase(
                "unpaid (%(method)s) for %(time)s, past the %(timeout)s-minute timeout: "
                "chase the buyer or cancel",
                method=method,
                time=_duration(minutes),
                timeout=f"{params.timeout_minutes:g}",
            ),
            {"minutes": round(minutes)},
        )
    return Finding(Phrase("awaiting payment (%(method)s)", method=method), {"minutes": round(minutes)})


@check(
    "stock.presale",
    "hold",
    "Presale items wait for their release",
    NoParams,
    actions=_hold("out_of_stock"),
    priority=500,
)
def _presale(view: View, _: NoParams) -> Finding | None:
    skus = view.presale_skus
    if not skus:
        return None
    presale = view.context.presale
    dates = [Phrase("%(sku)s ships from %(day)s", sku=sku, day=f"{presale[sku]:%Y-%m-%d}") for sku in skus]
    return Finding(
        Phrase("presale: %(dates)s", dates=listed(dates, commas=True)),
        {"until": {sku: presale[sku].isoformat() for sku in skus}},
    )


@check(
    "stock.available",
    "hold",
    "Enough stock for every line",
    NoParams,
    actions=_hold("out_of_stock"),
    priority=510,
    holds_for_stock=True,
)
def _stock(view: View, _: NoParams) -> Finding | None:
    stock = view.stock
    if not stock.short:
        return None
    return Finding(out_of_stock_message(stock.shortages), {"short": stock.short_skus})


@check(
    "stock.split",
    "split",
    "Split orders no one warehouse can fill",
    NoParams,
    actions=({"split": True},),
    priority=520,
)
def _split(view: View, _: NoParams) -> Finding | None:
    stock = view.stock
    if stock.short or not stock.split_needed:
        return None
    return Finding(Phrase("no one warehouse holds every line: ships from several"))


@check(
    "order.merge",
    "merge",
    "Merge orders of one buyer to one address",
    MergeParams,
    actions=({"merge": True},),
    priority=600,
    lookback=lambda p: Lookback(p.window_hours * 3600, every_identity=False),
)
def _merge(view: View, params: MergeParams) -> Finding | None:
    subject = view.subject
    same = [
        seen
        for seen in view.context.history.around(
            (subject.buyer,), subject.placed, params.window_hours * 3600, subject.key
        )
        if seen.address == subject.address and seen.mergeable
    ]
    if not same:
        return None
    return Finding(
        Phrase(
            "ships together with %(orders)s other order(s) of the same buyer to the same address",
            orders=len(same),
        ),
        merge_with=tuple(seen.key for seen in same),
    )


def _money(minor: int, currency: str) -> str:
    exponent = minor_unit_exponent(currency)
    return f"{minor / 10**exponent:,.{exponent}f} {currency}"


def _duration(minutes: float) -> Phrase:
    hours, rest = divmod(round(minutes), 60)
    if hours:
        return Phrase("%(hours)s h %(minutes)s min", hours=hours, minutes=rest)
    return Phrase("%(minutes)s min", minutes=rest)
