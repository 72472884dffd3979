"""The catalogues ship complete and compiled: every string the console has is in Simplified Chinese, and
each .mo is the compilation of its .po (run ``make messages`` after changing a string)."""

from __future__ import annotations

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from orderly.console.i18n import CATALOGUES


def test_every_string_is_translated_and_compiled() -> None:
    with (CATALOGUES / "messages.pot").open("rb") as f:
        template = {m.id for m in read_po(f) if m.id}
    assert len(template) > 50
    for locale in ("en", "zh_Hans"):
        folder = CATALOGUES / locale / "LC_MESSAGES"
        with (folder / "messages.po").open("rb") as f:
            po = {m.id: m.string for m in read_po(f) if m.id}
        with (folder / "messages.mo").open("rb") as f:
            mo = {m.id: m.string for m in read_mo(f) if m.id}
        assert set(po) == template, locale
        assert {k: v for k, v in po.items() if v} == {k: v for k, v in mo.items() if v}, locale
    assert all(po.values()), [k for k, v in po.items() if not v]  # zh_Hans: every one
