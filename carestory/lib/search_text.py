"""Folding text for search: case, punctuation, "&"/"and", "St"/"Saint", apostrophes.

Framework-free, so the importer, the search backends and the tests share one definition."""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = re.compile("['\u2019`]")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_SYNONYMS = {"saint": "st", "and": "and", "&": "and", "hosp": "hospital", "ctr": "centre"}


def fold(text: str) -> str:
    """Lower-case ASCII words separated by single spaces, with synonyms unified."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("&", " and ")
    text = _APOSTROPHES.sub("", text)
    words = _NON_WORD.sub(" ", text).split()
    return " ".join(_SYNONYMS.get(w, w) for w in words)
