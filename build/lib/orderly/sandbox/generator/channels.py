"""Remarks and channel habits: what buyers write, by language, and how each platform's orders look."""

# ruff: noqa: RUF001 - Chinese remarks use full-width punctuation, as buyers type them.

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from orderly.sandbox.generator.draw import between, one_of

# What buyers write, by language; the anomaly mode sorts them by whether they hold a REMARK_KEYWORDS entry.
REMARKS = {
    "en": (
        "Please leave the parcel at the back door.",
        "Gift wrap please, it's a birthday present!",
        "Please don't include the invoice, it's a gift.",
        "Can you ship before Friday? Travelling next week.",
        "Call before delivery please.",
        "No plastic packaging if possible.",
        "Leave with reception / concierge.",
        "Please double-check the colour is black.",
    ),
    "zh": (
        "请尽快发货，谢谢！",
        "麻烦包装好一点，送人的。",
        "不要放发票和价格单。",
        "请发顺丰，运费可以补。",
        "周末不在家，请工作日送达。",
        "颜色要黑色的，别发错了。",
        "快递放门口就行，不用打电话。",
    ),
    "ja": ("置き配希望です。", "ギフト包装をお願いします。", "平日の午前中に届けてください。"),
    "pt": (
        "Por favor, entregar em horário comercial.",
        "Deixar com o porteiro, obrigado!",
        "É presente, capricha na embalagem.",
        "Urgente! Preciso até sexta-feira.",
        "Se não der para enviar hoje, pode cancelar.",
    ),
    "es": (
        "Favor de llamar antes de entregar.",
        "Dejar con el portero, por favor.",
        "Es un regalo, no incluir el precio.",
        "¡Es urgente! Lo necesito para el viernes.",
        "Si no sale hoy, favor de cancelar el pedido.",
    ),
    "th": ("ฝากไว้ที่ป้อม รปภ. ได้เลยค่ะ", "โทรหาก่อนส่งนะครับ", "ส่งด่วน ASAP นะคะ", "ถ้ายังไม่ส่ง ขอ cancel ค่ะ"),
    "vi": (
        "Gọi trước khi giao giúp mình nhé.",
        "Giao giờ hành chính ạ.",
        "Giao gấp giúp em, urgent ạ!",
        "Nếu chưa giao thì cho em cancel đơn nhé.",
    ),
    "id": (
        "Tolong titip di pos satpam ya.",
        "Mohon dibungkus rapi, kak.",
        "Kirim ASAP ya kak, mau dipakai besok.",
        "Kalau belum dikirim, mau cancel aja kak.",
    ),
}
# Drawn only in the anomaly mode, so that the default stream stays what it was.
MORE_REMARKS = {
    "en": (
        "Please knock, the doorbell doesn't work.",
        "Second floor, ring twice.",
        "Thank you, love your products!",
        "URGENT - need it before Friday!",
        "Please ship ASAP.",
        "Rush order, it's for an event on Saturday.",
        "Please change the address to my office, I'll send it by message.",
        "Wrong address on the order, please call me before shipping.",
        "Please cancel if it can't ship this week.",
        "Can you gift-wrap both items?",
    ),
    "zh": (
        "谢谢老板！",
        "放快递柜就行。",
        "加急！明天就要用。",
        "急件，请今天发出。",
        "需要礼品包装，谢谢。",
        "地址填错了，麻烦改地址。",
        "请开发票，抬头发消息给你。",
        "今天不发货的话就取消吧。",
    ),
    "ja": (
        "不在時は宅配ボックスへお願いします。",
        "いつもありがとうございます。",
        "至急発送をお願いします。",
        "住所変更をお願いしたいです。",
        "明日届かないならキャンセルでお願いします。",
    ),
}
# What each country's buyers write in when not in English.
_LANGUAGES = {"CN": "zh", "JP": "ja", "BR": "pt", "MX": "es", "TH": "th", "VN": "vi", "ID": "id"}


@dataclass(frozen=True)
class _Channel:
    payment_methods: tuple[str, ...]  # a repeated one is that much more common
    platform_status: str
    email: str  # "own" (the buyer's), "relay" (a platform alias) or "none"
    tags: tuple[tuple[str, float], ...]  # (tag, chance)
    external_id: Callable[[int, datetime], str]
    buyer_id: Callable[[random.Random, int, str], str | None]
    unpaid: tuple[str, str]  # payment method and platform status of an order awaiting payment


# Cash on delivery: the only payment a normal order still awaits.
COD_METHODS = frozenset({"COD", "代金引換"})


def _scramble(number: int, digits: int) -> int:
    """A bijection of 0..10**digits-1 that makes consecutive numbers look unrelated."""
    modulus: int = 10**digits
    return (number * 25_214_903_917 + 11) % modulus  # the multiplier is prime to 10


def base36(value: int, width: int) -> str:
    chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    for _ in range(width):
        value, digit = divmod(value, 36)
        out = chars[digit] + out
    return out


def _amazon_id(prefix: str) -> Callable[[int, datetime], str]:
    def make(number: int, _: datetime) -> str:
        x = _scramble(number, 14)
        return f"{prefix}-{x // 10**7:07d}-{x % 10**7:07d}"

    return make


def _ebay_id(number: int, _: datetime) -> str:
    x = _scramble(number, 12)
    return f"{x // 10**10:02d}-{x // 10**5 % 10**5:05d}-{x % 10**5:05d}"


CHANNELS = {
    "shopify": _Channel(
        ("shopify_payments", "shopify_payments", "paypal", "shop_pay"),
        "unfulfilled",
        "own",
        (("newsletter", 0.2),),
        lambda n, _: str(5_600_000_000_000 + _scramble(n, 12)),
        lambda rng, i, _: str(7_000_000_000_000 + _scramble(i, 12)),
        ("bank_deposit", "unfulfilled"),
    ),
    "amazon": _Channel(
        ("Other",),
        "Unshipped",
        "relay",
        (("prime", 0.45), ("business", 0.04)),
        _amazon_id("111"),
        lambda rng, i, _: "A" + base36(rng.getrandbits(68), 13),
        ("Other", "Pending"),
    ),
    "ebay": _Channel(
        ("PayPal", "managed_payments"),
        "PAID",
        "own",
        (("best-offer", 0.06),),
        _ebay_id,
        lambda rng, i, name: f"{name}_{between(rng, 10, 999)}",
        ("PayPal", "PENDING"),
    ),
    "taobao": _Channel(
        ("alipay", "alipay", "huabei"),
        "WAIT_SELLER_SEND_GOODS",
        "none",
        (("88VIP", 0.15), ("pre-sale", 0.1)),
        lambda n, _: str(3_000_000_000_000_000_000 + _scramble(n, 18)),
        lambda rng, i, name: f"tb{_scramble(i, 9):09d}",
        ("alipay", "WAIT_BUYER_PAY"),
    ),
    "rakuten": _Channel(
        ("クレジットカード", "楽天ペイ", "代金引換"),
        "new",
        "own",
        (("rakuten-points", 0.3),),
        lambda n, at: f"298765-{at:%Y%m%d}-{_scramble(n, 10):010d}",
        lambda rng, i, _: None,
        ("銀行振込", "new"),
    ),
    "shopee": _Channel(
        ("ShopeePay", "Credit Card", "COD"),
        "READY_TO_SHIP",
        "none",
        (("free-shipping-voucher", 0.2),),
        lambda n, at: f"{at:%y%m%d}{base36(_scramble(n, 12), 8)}",
        lambda rng, i, name: f"{name}{between(rng, 1, 99)}",
        ("Bank Transfer", "UNPAID"),
    ),
    "lazada": _Channel(
        ("MIXEDCARD", "COD", "LazWallet"),
        "pending",
        "none",
        (("lazmall", 0.5),),
        lambda n, _: str(100_000_000_000_000 + _scramble(n, 14)),
        lambda rng, i, _: str(100_000_000 + _scramble(i, 8)),
        ("OTC", "unpaid"),
    ),
    "tiktok": _Channel(
        ("COD", "GoPay", "DANA", "OVO", "BCA Virtual Account"),
        "AWAITING_SHIPMENT",
        "none",
        (("live-stream", 0.3),),
        lambda n, _: str(577_000_000_000_000_000 + _scramble(n, 15)),
        lambda rng, i, _: str(7_300_000_000_000_000_000 + _scramble(i, 18)),
        ("BCA Virtual Account", "UNPAID"),
    ),
    "mercadolivre": _Channel(
        ("account_money", "credit_card", "credit_card", "pix"),
        "paid",
        "none",
        (("full", 0.35),),
        lambda n, _: str(2_000_000_000_000_000 + _scramble(n, 15)),
        lambda rng, i, _: str(200_000_000 + _scramble(i, 8)),
        ("boleto", "payment_required"),
    ),
}
AMAZON_IDS = {"amazon-uk": _amazon_id("202"), "amazon-de": _amazon_id("302"), "amazon-mx": _amazon_id("701")}
RELAY_DOMAINS = {
    "amazon-uk": "marketplace.amazon.co.uk",
    "amazon-de": "marketplace.amazon.de",
    "amazon-mx": "marketplace.amazon.com.mx",
}


def remark_for(rng: random.Random, country: str, remarks: dict[str, tuple[str, ...]]) -> str:
    if country == "CN" or (country in ("SG", "MY") and rng.random() < 0.2):
        return one_of(rng, remarks["zh"])
    return one_of(rng, remarks[_LANGUAGES.get(country, "en")])
