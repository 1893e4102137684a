"""Street addresses and numbered places inside a facility (``rules/address.json``)."""

from __future__ import annotations

import re
from functools import cache

from django.utils.translation import gettext as _

from carestory.automod.base import Context, Span
from carestory.automod.lexicon import json_rules

_NAME_WORD = r"[A-Za-z][A-Za-z'\u2019-]*"


@cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    rules = json_rules("address")
    strong = "|".join(sorted(rules["street_types"], key=len, reverse=True))
    weak = "|".join(sorted(rules["weak_street_types"], key=len, reverse=True))
    units = "|".join(rules["unit_prefixes"])
    number = r"\d{1,4}[A-Za-z]?(?![\d:/.]\d)"
    prefix = rf"(?:(?i:{units})\.?\s*{number},?\s+)?"
    street = re.compile(
        rf"\b{prefix}(?P<num>{number}),?\s+(?P<name>(?:{_NAME_WORD}\s+){{1,3}})(?P<type>(?i:{strong}|{weak}))\b\.?",
    )
    unit_only = re.compile(
        rf"\b(?i:flat|apartment|unit|suite)\s*{number},?\s+(?P<name>(?:[A-Z][A-Za-z'\u2019-]*\s+){{1,3}})(?P<type>(?i:{strong}|{weak}))\b",
    )
    places = "|".join(
        sorted((p.replace(" ", r"\s+") for p in rules["places"]), key=len, reverse=True)
    )
    place = (
        rf"(?:{places})\s+(?:no\.?\s*|number\s+)?\d{{1,3}}[A-Za-z]?\b"
        r"(?!\s*(?:hours?|hrs?|days?|weeks?|mins?|minutes?|months?|years?|times?|nights?|people|of|x)\b)"
    )
    # One reading of the spaces between two places (possessive): "\s*(?:,|and|&)?\s*" could
    # split a run of n spaces n ways, and tried them all when no place followed (O(n²)).
    facility = re.compile(rf"(?<![\w-]){place}(?:\s*+(?:(?:,|and|&)\s*+)?{place})*", re.IGNORECASE)
    return street, unit_only, facility


def find_addresses(ctx: Context) -> list[Span]:
    text = ctx.text
    rules = json_rules("address")
    weak = {w.lower() for w in rules["weak_street_types"]}
    stop = set(rules["not_street_words"])
    street, unit_only, facility = _patterns()
    spans = []
    removed = _("[address removed]")
    for pattern, rule in ((street, "address-street"), (unit_only, "address-unit")):
        for match in pattern.finditer(text):
            name_words = match.group("name").split()
            if any(w.lower() in stop for w in name_words):
                continue
            street_type = match.group("type").lower()
            capitalised = all(w[:1].isupper() for w in name_words)
            if street_type in weak or street_type.split()[-1] in weak:
                if not capitalised:
                    continue
            elif (
                not capitalised
                and not ctx.lowercase
                and street_type in ("st", "rd", "ln", "ave", "gate")
            ):
                continue
            end = match.end()
            if text[end - 1] == "." and match.group("type").lower() not in (
                "st",
                "rd",
                "ln",
                "ave",
            ):
                end -= 1
            spans.append(Span(match.start(), end, "ADDRESS", rule, removed))
    for match in facility.finditer(text):
        spans.append(Span(match.start(), match.end(), "ADDRESS", "address-numbered-place", None))
    return spans
