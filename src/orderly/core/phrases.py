"""Sentences the hub stores for people (why a rule fired, why an order is held, how it was routed) kept
both as English and as a phrase: an English pattern with named places (``%(sku)s``) and what fills
them. The English is what the API and the audit show; the console looks the pattern up in its
catalogue and fills it, so a Chinese reader reads Chinese. Pure.

A place holds plain text or a number (shown as given: SKUs, codes, figures) or another phrase; a list
is phrases joined pairwise (``listed``), so the catalogue says how its language joins them. The
patterns are extracted for the catalogues by ``pybabel extract -k Phrase`` (``make messages``), so
each is written as a literal at its ``Phrase``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

Arg = Union[str, int, float, "Phrase"]


@dataclass(frozen=True, slots=True, init=False)
class Phrase:
    text: str  # the English pattern, also the catalogue's message id
    args: Mapping[str, Arg] = field(default_factory=dict)

    def __init__(self, text: str, **args: Arg) -> None:
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "args", args)

    def as_json(self) -> dict[str, Any]:
        """The phrase as stored beside its English: ``{"text": ..., "args": {...}}``."""
        return {"text": self.text, "args": {name: _arg_json(value) for name, value in self.args.items()}}

    def english(self) -> str:
        """What ``say`` makes of the stored phrase in English, without storing it first."""
        if not self.args:
            return self.text
        return self.text % {
            name: value.english() if isinstance(value, Phrase) else str(value)
            for name, value in self.args.items()
        }

    def __str__(self) -> str:
        return self.english()


def _arg_json(value: Arg) -> Any:
    return value.as_json() if isinstance(value, Phrase) else value


def listed(parts: Sequence[Arg], *, commas: bool = False) -> Arg:
    """Several parts as one: joined by "; " (or ", "), each join a phrase of its own, halves nested in
    halves so a long list stays shallow."""
    if len(parts) == 1:
        return parts[0]
    half = len(parts) // 2
    first, rest = listed(parts[:half], commas=commas), listed(parts[half:], commas=commas)
    if commas:
        return Phrase("%(first)s, %(rest)s", first=first, rest=rest)
    return Phrase("%(first)s; %(rest)s", first=first, rest=rest)


def say(stored: Mapping[str, Any], translate: Callable[[str], str]) -> str:
    """A stored phrase in the words ``translate`` gives its patterns; a pattern the catalogue lacks (or
    whose translation lost a place) reads as its English."""
    args = {
        name: say(value, translate) if isinstance(value, Mapping) else str(value)
        for name, value in stored.get("args", {}).items()
    }
    text = str(stored["text"])
    if not args:
        return translate(text)
    try:
        return translate(text) % args
    except (KeyError, ValueError, TypeError):
        return text % args


#: The keys a stored decision keeps its phrases under, beside the English.
PHRASE_KEYS = frozenset({"phrase", "phrases"})


def without_phrases(stored: Any) -> Any:
    """A stored decision as the API shows it: its English alone."""
    if isinstance(stored, Mapping):
        return {key: without_phrases(value) for key, value in stored.items() if key not in PHRASE_KEYS}
    if isinstance(stored, list):
        return [without_phrases(value) for value in stored]
    return stored
