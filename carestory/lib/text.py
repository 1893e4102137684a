"""Plain-text helpers shared by stories, responses and moderation, and the one shape of a
text check (``clean_text``)."""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.formats import number_format

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


def clean_text(text: str, *, field: str, limit: int, too_long: str, missing: str = "") -> str:
    """``text`` normalised, or ValidationError ``{field: message}``: ``missing`` when it is
    empty (given only for a text the decision needs), ``too_long`` (which may say
    ``%(limit)s``, shown as "4,000") when it has more than ``limit`` characters."""
    text = normalise_text(text)
    if missing and not text:
        raise ValidationError({field: missing})
    if len(text) > limit:
        raise ValidationError(
            {field: too_long % {"limit": number_format(limit, force_grouping=True)}}
        )
    return text
