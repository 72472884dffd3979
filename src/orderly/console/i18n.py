"""The console's languages: Babel catalogues (``i18n/<locale>/LC_MESSAGES/messages.po``) and one Jinja2
environment per locale, so ``{% trans %}`` and ``_()`` need no per-request state.

Catalogues are made with pybabel (``make messages``: extract, update; see ``babel.cfg``). The .po is
compiled in memory when a locale is first used (milliseconds), so no compiled file is kept beside it
to fall out of step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from importlib.resources import files
from io import BytesIO
from pathlib import Path
from typing import Protocol

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import Environment, PackageLoader, select_autoescape

from orderly.console import formatting
from orderly.console.formatting import LOCALES
from orderly.core.phrases import Phrase, say

CATALOGUES = Path(str(files("orderly.console") / "i18n"))


def N_(message: str) -> str:  # noqa: N802 (the name pybabel is told to extract)
    """Marks a string in Python for extraction; it is translated where it is shown (``_(value)``)."""
    return message


@cache
def environment(locale: str) -> Environment:
    """The templates, speaking ``locale`` (one of :data:`LOCALES`)."""
    if locale not in LOCALES:
        raise ValueError(f"unsupported locale {locale!r}")
    env = Environment(
        loader=PackageLoader("orderly.console", "templates"),
        autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    catalogue = _translations(locale)
    env.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]
    env.globals["locale"] = locale
    env.filters["money"] = lambda amount, currency: formatting.money(amount, currency, locale)
    env.filters["moment"] = lambda value, zone: formatting.moment(value, zone, locale) if value else ""
    env.filters["duration"] = lambda minutes: formatting.duration(minutes, locale)
    env.filters["percent"] = lambda fraction: formatting.percent(fraction, locale)
    env.filters["say"] = lambda stored: say(stored, catalogue.gettext)
    env.filters["said"] = lambda item: _said(item, catalogue.gettext)
    return env


def _said(item: object, translate: Callable[[str], str]) -> str:
    """What the hub stored for a person (a hold, a fired rule, a risk factor) in the viewer's words: its
    phrase translated, or its English message where none was kept (a person's own words, older rows)."""
    if isinstance(item, Mapping):
        phrase, message = item.get("phrase"), item.get("message")
    else:
        phrase, message = getattr(item, "phrase", None), getattr(item, "message", None)
    if isinstance(phrase, Mapping):
        return say(phrase, translate)
    return str(message or "")


def told(message: str, phrase: Phrase | None, locale: str) -> str:
    """What a use case answered or refused (``message``, its English), in ``locale`` when it was given
    as a phrase (``DomainError.phrase``, ``PackScanOut.phrase``)."""
    return message if phrase is None else say(phrase.as_json(), gettext(locale))


class Said(Protocol):
    """A use case's answer or refusal: its English, and its phrase when it was given as one."""

    @property
    def message(self) -> str: ...

    @property
    def phrase(self) -> Phrase | None: ...


def told_of(said: Said, locale: str) -> str:
    """:func:`told` of a refusal (a ``DomainError``) or an answer (``PackScanOut``)."""
    return told(said.message, said.phrase, locale)


def gettext(locale: str) -> Callable[[str], str]:
    """Translation into ``locale`` outside a template (a file's headers)."""
    return _translations(locale).gettext


@cache
def _translations(locale: str) -> Translations:
    with (CATALOGUES / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        compiled = BytesIO()
        write_mo(compiled, read_po(po, locale=locale))
    compiled.seek(0)
    return Translations(compiled, domain="messages")
