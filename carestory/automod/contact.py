"""Contact details and identifiers: email addresses, phone numbers, web addresses, NHS
numbers and postcodes. Patterns and word lists live in ``rules/contact.json`` and
``rules/postcode_lookalikes.txt``; what a UK postcode is, in ``carestory/lib/postcodes.py``."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator

from django.utils.translation import gettext as _

from carestory.automod.base import Context, Span
from carestory.automod.lexicon import compiled, json_rules, word_list
from carestory.lib.postcodes import UK_OUTWARD_PATTERN, Kind, uk_postcode, uk_postcodes_in

# --- Email -------------------------------------------------------------------------------

# An address: a local part, "@", a domain. Matched only from the first possible start of a
# run of local-part characters (see ``_email_matches``); the possessive local part cannot
# backtrack, since "@" is not one of its characters.
_EMAIL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+-]*+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_EMAIL_START = re.compile(r"(?<![\w.+-])[A-Za-z0-9]")
_EMAIL_LOCAL_RUN = re.compile(r"[A-Za-z0-9._%+-]+")

# "name at example dot com", "name (at) example [dot] com". The spaces and brackets around
# "at" and "dot" are read one way only (possessive), a "dot" between two parts of the name
# needs a space or a bracket (written "namedotname" it is just part of a word), and the parts
# are bounded (a domain label has at most 63 characters, an address at most 8 dots on each
# side): the unbounded, ambiguous pattern this replaces took exponential time on
# "a dot a dot a dot ..." and could never finish.
_OPEN = r"\s*+(?:[\[(]\s*+)?"
_CLOSE = r"\s*+(?:[\])]\s*+)?"
_AT = rf"{_OPEN}at{_CLOSE}"
_DOT = rf"{_OPEN}dot{_CLOSE}"
_SPACED_DOT = rf"(?=[\s\[(]|dot[\s\])]){_DOT}"
_LABEL = r"[A-Za-z0-9][\w-]{0,62}"
_OBFUSCATED_EMAIL = re.compile(
    rf"(?<![\w.@-])([A-Za-z0-9][\w+-]*(?:(?:{_SPACED_DOT}|\.)[\w+-]+){{0,8}})"
    rf"{_AT}({_LABEL}(?:{_DOT}{_LABEL}){{1,8}})\b",
    re.IGNORECASE,
)
_DOT_SEPARATOR = re.compile(_DOT, re.IGNORECASE)


def _email_matches(text: str) -> Iterator[re.Match[str]]:
    """``_EMAIL`` over the text, as ``finditer`` with the lookbehind ``(?<![\\w.+-])`` would
    find it, without retrying inside a run of local-part characters: when the match fails at
    the first start of a run it fails at every later start in that run too (they reach the
    same "@", or none), and retrying each was quadratic ("a%a%a%...")."""
    pos = 0
    while (start := _EMAIL_START.search(text, pos)) is not None:
        match = _EMAIL.match(text, start.start())
        if match is not None:
            yield match
            pos = match.end()
        else:
            run = _EMAIL_LOCAL_RUN.match(text, start.start())
            assert run is not None  # the start is one of the run's characters
            pos = run.end()


def find_emails(ctx: Context) -> list[Span]:
    spans = []
    text = ctx.text
    removed = _("[email address removed]")  # translated once, not once per finding
    for match in _email_matches(text):
        end = match.end()
        while text[end - 1] in ".-":
            end -= 1
        spans.append(Span(match.start(), end, "EMAIL", "email", removed))
    context = compiled(json_rules("contact")["email_context"])
    tlds = set(json_rules("contact")["tlds"])
    for match in _OBFUSCATED_EMAIL.finditer(text):
        local, domain = match.group(1), match.group(2)
        last = _DOT_SEPARATOR.split(domain)[-1].lower()
        if last not in tlds:
            continue
        dotted_local = bool(re.search(r"\bdot\b|[._\d]", local, re.IGNORECASE))
        introduced = bool(context.search(text[max(0, match.start() - 40) : match.start()]))
        if not (dotted_local or introduced):
            continue
        spans.append(
            Span(
                match.start(),
                match.end(),
                "EMAIL",
                "email-obfuscated",
                removed,
            )
        )
    return spans


# --- Web addresses -----------------------------------------------------------------------

_URL_TAIL = r"[^\s<>\"'()\[\]{}]*"
_SCHEME_URL = re.compile(rf"\bhttps?://{_URL_TAIL}", re.IGNORECASE)
_WWW_URL = re.compile(rf"\bwww\.[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?:/{_URL_TAIL})?", re.IGNORECASE)


def _bare_domain() -> re.Pattern[str]:
    tlds = sorted(json_rules("contact")["tlds"], key=len, reverse=True)
    alternatives = "|".join(re.escape(t) for t in tlds)
    return compiled(
        rf"(?<![\w@./-])(?:[A-Za-z0-9][A-Za-z0-9-]*\.)+(?:{alternatives})(?![\w-])(?:/{_URL_TAIL})?",
        re.IGNORECASE,
    )


def _trim_url(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1] in ".,;:!?":
        end -= 1
    return end


def find_urls(ctx: Context) -> list[Span]:
    text = ctx.text
    spans = []
    removed = _("[web address removed]")
    for pattern, rule in ((_SCHEME_URL, "url-scheme"), (_WWW_URL, "url-www")):
        for match in pattern.finditer(text):
            end = _trim_url(text, match.start(), match.end())
            spans.append(Span(match.start(), end, "URL", rule, removed))
    for match in _bare_domain().finditer(text):
        start, end = match.start(), _trim_url(text, match.start(), match.end())
        found = text[start:end]
        host = found.split("/", 1)[0]
        if "/" not in found and host.isupper():
            continue  # "NHS.UK" used as the name of the website
        capitalised = host.split(".")[0][:1].isupper()
        common_ending = host.lower().endswith((".com", ".org", ".net", ".co.uk", ".org.uk"))
        if "/" not in found and not ctx.shouting and capitalised and not common_ending:
            continue  # "Dr.Mensah"-like run-ons: bare domains are written in lower case
        spans.append(Span(start, end, "URL", "url-bare-domain", removed))
    return spans


# --- Phone numbers -----------------------------------------------------------------------

_PHONE = re.compile(
    r"(?<![\w£$.+/:-])"
    r"(?:\+\s?44\s?(?:\(0\)\s?)?\d(?:[\s-]?\d){8,9}"
    r"|\(0\d{2,4}\)\s?\d(?:[\s-]?\d){4,7}"
    r"|0\d(?:[\s-]?\d){8,9})"
    r"(?![\d/:])"
)


def find_phones(ctx: Context) -> list[Span]:
    spans = []
    removed = _("[phone number removed]")
    for match in _PHONE.finditer(ctx.text):
        found = match.group(0).rstrip(" -")
        digits = re.sub(r"\D", "", found)
        if digits.startswith("44"):
            national = digits[2:]
            if national.startswith("0"):
                national = national[1:]
        else:
            national = digits[1:]
        if len(national) not in (9, 10):
            continue
        if re.search(r"\s{2,}", found):
            continue
        spans.append(
            Span(
                match.start(),
                match.start() + len(found),
                "PHONE",
                "phone-uk",
                removed,
            )
        )
    return spans


# --- NHS numbers -------------------------------------------------------------------------


def nhs_number_is_valid(number: str) -> bool:
    """The NHS number modulus-11 check: weights 10..2 on the first nine digits; the check
    digit is 11 minus the remainder (11 means 0, 10 means the number is invalid)."""
    digits = re.sub(r"\D", "", number)
    if len(digits) != 10:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


_NHS_SPACED = re.compile(r"(?<![\w£$.,/-])[1-9]\d{2}([ -])\d{3}\1\d{4}(?![\w/.-]\d|\w)")
_NHS_UNBROKEN = re.compile(r"(?<![\w£$.,/-])[1-9]\d{9}(?!\w)")


def find_nhs_numbers(ctx: Context) -> list[Span]:
    text = ctx.text
    rules = json_rules("contact")
    nhs_context = compiled(rules["nhs_context"])
    not_nhs = compiled(rules["not_nhs_context"])
    spans = []
    removed = _("[NHS number removed]")
    for pattern, needs_context in ((_NHS_SPACED, False), (_NHS_UNBROKEN, True)):
        for match in pattern.finditer(text):
            before = text[max(0, match.start() - 160) : match.start()]
            if not_nhs.search(before[-40:]):
                continue
            if needs_context and not nhs_context.search(before):
                continue
            valid = nhs_number_is_valid(match.group(0))
            rule = "nhs-number-check-digit-valid" if valid else "nhs-number-check-digit-invalid"
            spans.append(Span(match.start(), match.end(), "NHS_NUMBER", rule, removed))
    return spans


# --- Postcodes ---------------------------------------------------------------------------

# An outward code on its own, in capitals ("LS8"), labelled only where the words around it
# make it a place.
_OUTWARD = re.compile(rf"(?<![\w&/-]){UK_OUTWARD_PATTERN}(?![\w&/-])")


def find_postcodes(ctx: Context) -> list[Span]:
    text = ctx.text
    lookalikes = word_list("postcode_lookalikes")
    rules = json_rules("contact")
    spans = []
    removed, area_removed = _("[postcode removed]"), _("[area removed]")
    # Full postcodes found, in text order and not overlapping: looked up by bisection.
    taken_starts: list[int] = []
    taken_ends: list[int] = []
    for start, end, _postcode in uk_postcodes_in(text):
        spans.append(Span(start, end, "POSTCODE", "postcode-full", removed))
        taken_starts.append(start)
        taken_ends.append(end)
    area_words = "|".join(re.escape(w) for w in rules["area_words"])
    after_area = re.compile(rf"^\s+(?:{area_words})\b", re.IGNORECASE)
    befores = "|".join(
        re.escape(w) for w in sorted(rules["location_before"], key=len, reverse=True)
    )
    before_location = re.compile(rf"\b(?:{befores})\s+(?:the\s+)?$", re.IGNORECASE)
    for match in _OUTWARD.finditer(text):
        i = bisect_right(taken_starts, match.start()) - 1
        if i >= 0 and match.start() < taken_ends[i]:
            continue
        code = match.group(0)
        if code.lower() in lookalikes or uk_postcode(code, kinds=(Kind.DISTRICT,)) is None:
            continue
        after = text[match.end() : match.end() + 20]
        before = text[max(0, match.start() - 20) : match.start()]
        if after_area.search(after) or (
            before_location.search(before) and re.search(r"\bthe\s+$", before) is None
        ):
            spans.append(
                Span(match.start(), match.end(), "POSTCODE", "postcode-outward", area_removed)
            )
    return spans
