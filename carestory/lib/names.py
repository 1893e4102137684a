"""Tidying published organisation names and addresses (postcodes: carestory/lib/postcodes.py).

Framework-free (standard library only) so the importer and the demo-slice builder
(carestory/services/demo_data/build_slice.py, a plain script) share one definition.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Words kept in capitals, and small words kept in lower case inside a name.
_UPPER = {
    "NHS",
    "GP",
    "GPS",
    "ICB",
    "CCG",
    "PCN",
    "UK",
    "HQ",
    "UCLH",
    "A&E",
    "NHSFT",
    "FT",
    "OOH",
    "WIC",
}
_SMALL = {"and", "of", "the", "on", "upon", "by", "in", "at", "for", "to", "with", "de", "la"}
_TOKEN = re.compile(r"[A-Za-z&]+(?:'[A-Za-z]+)*'?|[^A-Za-z&]+")


def _word_case(word: str, *, first: bool) -> str:
    upper = word.upper()
    if upper.rstrip("'") in _UPPER:
        return upper
    lower = word.lower()
    if not first and lower in _SMALL:
        return lower
    if lower.startswith("o'") and len(lower) > 2:
        return "O" + lower[1] + lower[2:].capitalize()
    if lower.startswith("mc") and len(lower) > 3:
        return "Mc" + lower[2:].capitalize()
    return lower[:1].upper() + lower[1:]


def title_case(value: str) -> str:
    """'GUY'S AND ST THOMAS' NHS FOUNDATION TRUST' -> "Guy's and St Thomas' NHS Foundation Trust".

    Also 'STOCKTON-ON-TEES' -> 'Stockton-on-Tees', '1A MARTONSIDE WAY' -> '1A Martonside Way'.
    """
    value = " ".join(value.split())
    out: list[str] = []
    first = True
    for token in _TOKEN.findall(value):
        if token[0].isalpha() or token[0] == "&":
            out.append(_word_case(token, first=first))
            first = False
        else:
            # Keep digits as they are ("1A", "400/404") by upper-casing a glued letter suffix.
            out.append(token)
    text = "".join(out)
    return re.sub(r"(?<=\d)([a-z])\b", lambda m: m.group(1).upper(), text)


def join_address(parts: Iterable[str], *, recase: bool = True) -> str:
    """Address lines joined with ", ", blanks and repeated lines dropped, title-cased."""
    kept: list[str] = []
    seen: set[str] = set()  # a set: a list was searched once per line (quadratic)
    for part in parts:
        cleaned = re.sub(r"\s*,\s*", ", ", " ".join(part.split())).strip(" ,")
        if recase:
            cleaned = title_case(cleaned)
        if cleaned and cleaned not in seen:
            kept.append(cleaned)
            seen.add(cleaned)
    return ", ".join(kept)
