"""The catalogues ship complete: every string the console's templates and Python mark is in the
template, and every one is in Simplified Chinese (run ``make messages`` after changing a string, then
translate the new entries)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from orderly.console.i18n import CATALOGUES, environment

ROOT = Path(__file__).resolve().parents[2]


def _ids(path: Path) -> set[str]:
    with path.open("rb") as f:
        return {m.id for m in read_po(f) if m.id}  # type: ignore[misc]


def test_the_template_holds_every_marked_string(tmp_path: Path) -> None:
    extracted = tmp_path / "messages.pot"
    config = str(ROOT / "babel.cfg")
    CommandLineInterface().run(
        [
            "pybabel",
            "-q",
            "extract",
            "-F",
            config,
            "-k",
            "N_",
            "-k",
            "Phrase",
            "-o",
            str(extracted),
            str(ROOT),
        ]
    )
    assert _ids(extracted) == _ids(CATALOGUES / "messages.pot")


def test_every_string_is_translated() -> None:
    template = _ids(CATALOGUES / "messages.pot")
    assert len(template) > 50
    for locale in ("en", "zh_Hans"):
        with (CATALOGUES / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
            po = {m.id: m.string for m in read_po(f) if m.id}
        assert set(po) == template, locale
    assert all(po.values()), [k for k, v in po.items() if not v]  # zh_Hans: every one


def test_pages_speak_the_catalogue() -> None:
    says = "{{ _('Orders') }}"
    assert environment("zh_Hans").from_string(says).render() == "订单"
    assert environment("en").from_string(says).render() == "Orders"
