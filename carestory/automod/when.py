"""Dates, clock times and ages. Calendar words live in ``rules/calendar.json``."""

from __future__ import annotations

import re
from functools import cache

from carestory.automod.base import Context, Span
from carestory.automod.lexicon import json_rules

_ORDINAL = r"(?:1st|2nd|3rd|(?:[4-9]|1\d|2[04-9]|30)th|21st|22nd|23rd|31st)"
_DAY = rf"(?:{_ORDINAL}|[12]\d|3[01]|0?[1-9])"


@cache
def _calendar_patterns() -> dict[str, re.Pattern[str]]:
    cal = json_rules("calendar")
    months = sorted(cal["months"], key=len, reverse=True)
    unambiguous = [m for m in months if m not in ("may", "mar")]
    month_any = "|".join(months)
    month_safe = "|".join(unambiguous)
    weekdays = "|".join(sorted(cal["weekdays"], key=len, reverse=True))
    named = "|".join(
        re.escape(d).replace("'", "['\u2019]?").replace(r"\ ", r"\s+")
        for d in sorted(cal["named_days"], key=len, reverse=True)
    )
    weekday = rf"(?:(?:{weekdays})\.?,?\s+)"
    return {
        # "Tuesday 9th May", "the 14th of February", "14 November 2023"
        "day-month": re.compile(
            rf"\b(?:{weekday}(?:the\s+)?)?{_DAY}(?:\s+of)?\s+(?:{month_any})\b(?:,?\s+(?:19|20)?\d\d\b)?",
            re.IGNORECASE,
        ),
        # "January 5th", "March 12, 2024" (May and Mar need a capital)
        "month-day": re.compile(
            rf"\b{weekday}?(?:(?i:{month_safe})|May|Mar|MAY|MAR)\.?\s+(?:the\s+)?{_DAY}(?![\d:.]\d)\b(?:,?\s+(?:19|20)\d\d\b)?"
        ),
        # "Monday 6th", "Sunday the 3rd"
        "weekday-ordinal": re.compile(
            rf"\b(?:{weekdays})\.?,?\s+(?:the\s+)?{_ORDINAL}\b", re.IGNORECASE
        ),
        # "the 19th"
        "the-ordinal": re.compile(rf"\bthe\s+({_ORDINAL})\b(?:\s+(\w+))?", re.IGNORECASE),
        "named-day": re.compile(rf"\b(?:{named})\b", re.IGNORECASE),
        # "from the 2nd to the 9th June": the first day of a range
        "range-start": re.compile(
            rf"\b(?:from\s+(?:the\s+)?|between\s+(?:the\s+)?)({_ORDINAL})\s+(?:to|until|till|and|-)\s+(?:the\s+)?{_ORDINAL}\s+(?:of\s+)?(?:{month_any})\b",
            re.IGNORECASE,
        ),
    }


_NUMERIC_DATE = re.compile(
    r"(?<![\d/.:£$,])(\d{1,2})([/.\-])(\d{1,2})(?:\2(\d{4}|\d{2}))?(?![\d/]|[.\-:]\d|%)"
)
_ISO_DATE = re.compile(
    r"(?<![\d/.-])(?:19|20)\d\d-(?:0?[1-9]|1[0-2])-(?:0?[1-9]|[12]\d|3[01])(?![\d-])"
)


def find_dates(ctx: Context) -> list[Span]:
    text = ctx.text
    cal = json_rules("calendar")
    not_day_nouns = set(cal["not_day_nouns"])
    not_dates = set(cal["not_dates"])
    spans: list[Span] = []
    pats = _calendar_patterns()
    for rule in ("day-month", "month-day", "weekday-ordinal", "named-day"):
        for match in pats[rule].finditer(text):
            spans.append(Span(match.start(), match.end(), "DATE", f"date-{rule}", None, "info"))
    for match in pats["the-ordinal"].finditer(text):
        following = (match.group(2) or "").lower()
        if following in not_day_nouns:
            continue
        spans.append(Span(match.start(), match.end(1), "DATE", "date-the-ordinal", None, "info"))
    for match in pats["range-start"].finditer(text):
        spans.append(Span(match.start(1), match.end(1), "DATE", "date-range-start", None, "info"))
    for match in _NUMERIC_DATE.finditer(text):
        day, sep, month, year = match.group(1), match.group(2), match.group(3), match.group(4)
        if not (1 <= int(day) <= 31 and 1 <= int(month) <= 12):
            continue
        found = match.group(0)
        if found in not_dates:
            continue
        if year is None:
            if sep != "/":
                continue  # "8.30" is a time, "2-3" a range
            if month == "10" and int(day) <= 10 and not day.startswith("0"):
                continue  # a rating out of ten
            before = text[max(0, match.start() - 12) : match.start()].lower()
            if re.search(r"(rated?|score[ds]?|gave (it|them|him|her)?|out of)\s*$", before):
                continue
        spans.append(Span(match.start(), match.end(), "DATE", "date-numeric", None, "info"))
    for match in _ISO_DATE.finditer(text):
        spans.append(Span(match.start(), match.end(), "DATE", "date-iso", None, "info"))
    return spans


# --- Times -------------------------------------------------------------------------------

_NUMBER_WORDS = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
_TIME_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "time-am-pm",
        re.compile(
            r"(?<![\d£$.,:])(?:[01]?\d|2[0-3])(?:[:.][0-5]\d)?\s?(?:am|pm|a\.m\.|p\.m\.)(?![a-z])",
            re.IGNORECASE,
        ),
    ),
    (
        "time-24h",
        re.compile(r"(?<![\d£$.,:/])(?:[01]?\d|2[0-3]):[0-5]\d(?![\d:/])(?!\s?(?:am|pm))"),
    ),
    (
        "time-half-past",
        re.compile(
            rf"\b(?:half|quarter)\s+(?:past\s+|to\s+)?(?:1[0-2]|[1-9]|{_NUMBER_WORDS})\b"
            r"(?:\s+(?:in the (?:morning|afternoon|evening)|at night))?",
            re.IGNORECASE,
        ),
    ),
    (
        "time-oclock",
        re.compile(rf"\b(?:1[0-2]|[1-9]|{_NUMBER_WORDS})\s?o['\u2019]?\s?clock\b", re.IGNORECASE),
    ),
    (
        "time-in-the-morning",
        re.compile(
            rf"\b(?:1[0-2]|[1-9]|{_NUMBER_WORDS})\s+"
            r"(?:in the (?:morning|afternoon|evening)|at night)\b",
            re.IGNORECASE,
        ),
    ),
    ("time-midnight", re.compile(r"\b(?:midnight|midday|noon)\b", re.IGNORECASE)),
)
_DOT_TIME = re.compile(
    r"(?<![\d£$.,:/])((?:[01]?\d|2[0-3])[.:][0-5]\d)(?!\d|\.\d|%)(?!\s?(?:mg|mcg|kg|g|ml|l|mm|cm|m|km|mmol|miles?|stone|st|lbs?|am|pm|%|x)\b)"
)
_TIME_LEAD = re.compile(
    r"\b(?:at|by|from|until|till|til|around|about|after|before|gone|past|and|to|since|between|approx|approximately|roughly|nearly|almost|or)\s+$",
    re.IGNORECASE,
)


def find_times(ctx: Context) -> list[Span]:
    text = ctx.text
    spans = []
    for rule, pattern in _TIME_PATTERNS:
        for match in pattern.finditer(text):
            spans.append(Span(match.start(), match.end(), "TIME", rule, None, "info"))
    for match in _DOT_TIME.finditer(text):
        if "." in match.group(1) and not _TIME_LEAD.search(
            text[max(0, match.start() - 16) : match.start()]
        ):
            continue
        spans.append(Span(match.start(1), match.end(1), "TIME", "time-dotted", None, "info"))
    return spans


# --- Ages --------------------------------------------------------------------------------

_NOT_AGE_AFTER = re.compile(
    r"^\s*(?:weeks?|months?|days?|hours?|hrs?|minutes?|mins?|seconds?|nights?|times?"
    r"|%|kg|kilos?|lbs?|st\b|stone|cm|mm|miles?|degrees|mg|ml|x|/|:|\.\d|,\d"
    r"|pounds|quid|p\b|pence|foot|ft|feet|inch|inches|pm|am|th\b|nd\b|rd\b"
    r"|years? (?:ago|later|before|after|since|of|in|on|with|waiting)"
    r"|beds?|people|patients|staff|of|out of)",
    re.IGNORECASE,
)


@cache
def _age_patterns() -> tuple[tuple[str, re.Pattern[str], int], ...]:
    relations = json_rules("gendered_relations")["words"]
    people = "|".join(sorted((re.escape(w) for w in relations), key=len, reverse=True))
    people += (
        "|baby|child|toddler|patient|boy|girl|lad|lass|man|woman|partner|relative|friend"
        "|neighbour|resident"
    )
    units = r"(?:years?|yrs?|yr|y/o|yo|months?|mths?|weeks?|wks?|days?)"
    return (
        # "92 year old", "78-year-old", "8 month old", "16 yr old", "16yo"
        (
            "age-year-old",
            re.compile(rf"\b\d{{1,3}}[\s-]?{units}[\s-]?old\b|\b\d{{1,3}}\s?(?:yo|y/o)\b", re.I),
            0,
        ),
        # "aged 7", "age 81"
        ("age-aged", re.compile(r"\baged?\s+(?:of\s+)?\d{1,3}\b", re.I), 0),
        # "turned 100"
        (
            "age-turned",
            re.compile(r"\b(?:turned|turns|turning|reached|reaches)\s+(\d{1,3})\b", re.I),
            1,
        ),
        # "he's 9", "she is 14", "who is 87"
        (
            "age-is",
            re.compile(
                rf"\b(?:he|she|they|i|who|(?:{people}))(?:'s|\u2019s|'m|\u2019m|\s+is|\s+was|\s+am|\s+are|\s+were|,)\s+(?:now\s+|only\s+|just\s+)?(\d{{1,3}})\b",
                re.I,
            ),
            1,
        ),
        # "my dad (87)"
        ("age-bracket", re.compile(rf"\b(?:{people})\s*\(\s*(\d{{1,3}})\s*\)", re.I), 1),
    )


def find_ages(ctx: Context) -> list[Span]:
    text = ctx.text
    spans = []
    for rule, pattern, group in _age_patterns():
        for match in pattern.finditer(text):
            start, end = match.start(group), match.end(group)
            number = int(re.sub(r"\D", "", match.group(group))[:3] or 0)
            if number > 120:
                continue
            if group:
                if _NOT_AGE_AFTER.search(text[end : end + 24]):
                    continue
                if re.search(r"\b(about|like|around)\s+$", text[max(0, start - 8) : start], re.I):
                    continue
            spans.append(Span(start, end, "AGE", rule, None, "info"))
    return spans
