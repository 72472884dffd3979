"""The console's languages: Babel catalogues (``i18n/<locale>/LC_MESSAGES/messages.mo``) and one Jinja2
environment per locale, so ``{% trans %}`` and ``_()`` need no per-request state.

Catalogues are made with pybabel (``make messages``: extract, update, compile; see ``babel.cfg``).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

from babel.support import Translations
from jinja2 import Environment, PackageLoader, select_autoescape

from orderly.console import formatting
from orderly.console.formatting import LOCALES

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
    catalogue = Translations.load(str(CATALOGUES), [locale], domain="messages")
    env.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]
    env.globals["locale"] = locale
    env.filters["money"] = lambda amount, currency: formatting.money(amount, currency, locale)
    env.filters["moment"] = lambda value, zone: formatting.moment(value, zone, locale) if value else ""
    return env
