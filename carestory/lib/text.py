"""Plain-text helpers shared by stories, responses and moderation."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"\S+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalise_text(value: str) -> str:
    """NFC-normalise once, drop control characters, unify newlines, trim the ends."""
    value = unicodedata.normalize("NFC", value)
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _CONTROL.sub("", value)
    return value.strip()


def word_count(value: str) -> int:
    return len(_WORD.findall(value))
