"""Contact details and identifiers: email addresses, phone numbers, web addresses, NHS
numbers and postcodes. Patterns and word lists live in ``rules/contact.json``,
``rules/postcode_areas.txt`` and ``rules/postcode_lookalikes.txt``."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from carestory.moderation.automod.base import Context, Span
from carestory.moderation.automod.lexicon import compiled, json_rules, word_list

# --- Email -------------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_AT = r"\s*[\[(]?\s*(?:at)\s*[\])]?\s*"
_DOT = r"\s*[\[(]?\s*(?:dot)\s*[\])]?\s*"
_OBFUSCATED_EMAIL = re.compile(
    rf"(?<![\w.@-])([A-Za-z0-9][\w+-]*(?:(?:{_DOT}|[._])[\w+-]+)*){_AT}([A-Za-z0-9][\w-]*(?:{_DOT}[A-Za-z0-9][\w-]*)+)\b",
    re.IGNORECASE,
)


def find_emails(ctx: Context) -> list[Span]:
    spans = []
    text = ctx.text
    for match in _EMAIL.finditer(text):
        end = match.end()
        while text[end - 1] in ".-":
            end -= 1
        spans.append(Span(match.start(), end, "EMAIL", "email", _("[email address removed]")))
    context = compiled(json_rules("contact")["email_context"])
    tlds = set(json_rules("contact")["tlds"])
    for match in _OBFUSCATED_EMAIL.finditer(text):
        local, domain = match.group(1), match.group(2)
        last = re.split(r"\s*[\[(]?\s*dot\s*[\])]?\s*", domain, flags=re.IGNORECASE)[-1].lower()
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
                _("[email address removed]"),
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
    for pattern, rule in ((_SCHEME_URL, "url-scheme"), (_WWW_URL, "url-www")):
        for match in pattern.finditer(text):
            end = _trim_url(text, match.start(), match.end())
            spans.append(Span(match.start(), end, "URL", rule, _("[web address removed]")))
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
        spans.append(Span(start, end, "URL", "url-bare-domain", _("[web address removed]")))
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
                _("[phone number removed]"),
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
    for pattern, needs_context in ((_NHS_SPACED, False), (_NHS_UNBROKEN, True)):
        for match in pattern.finditer(text):
            before = text[max(0, match.start() - 160) : match.start()]
            if not_nhs.search(before[-40:]):
                continue
            if needs_context and not nhs_context.search(before):
                continue
            valid = nhs_number_is_valid(match.group(0))
            rule = "nhs-number-check-digit-valid" if valid else "nhs-number-check-digit-invalid"
            spans.append(
                Span(match.start(), match.end(), "NHS_NUMBER", rule, _("[NHS number removed]"))
            )
    return spans


# --- Postcodes ---------------------------------------------------------------------------

_FULL_POSTCODE = re.compile(
    r"(?<![\w-])([A-Za-z]{1,2})(\d[A-Za-z\d]?)\s?(\d[ABD-HJLNP-UW-Zabd-hjlnp-uw-z]{2})(?![\w-])"
)
_OUTWARD = re.compile(r"(?<![\w&/-])([A-Z]{1,2})(\d[A-Z\d]?)(?![\w&/-])")


def find_postcodes(ctx: Context) -> list[Span]:
    text = ctx.text
    areas = word_list("postcode_areas")
    lookalikes = word_list("postcode_lookalikes")
    rules = json_rules("contact")
    spans = []
    taken: list[tuple[int, int]] = []
    for match in _FULL_POSTCODE.finditer(text):
        area = match.group(1).lower()
        if area not in areas:
            continue
        found = match.group(0)
        if found.islower() is False and found.isupper() is False and not ctx.lowercase:
            # Mixed case such as "Bd7 3ab" is unusual; still accept when the letters pair up.
            pass
        spans.append(
            Span(match.start(), match.end(), "POSTCODE", "postcode-full", _("[postcode removed]"))
        )
        taken.append((match.start(), match.end()))
    area_words = "|".join(re.escape(w) for w in rules["area_words"])
    after_area = re.compile(rf"^\s+(?:{area_words})\b", re.IGNORECASE)
    befores = "|".join(
        re.escape(w) for w in sorted(rules["location_before"], key=len, reverse=True)
    )
    before_location = re.compile(rf"\b(?:{befores})\s+(?:the\s+)?$", re.IGNORECASE)
    for match in _OUTWARD.finditer(text):
        if any(s <= match.start() < e for s, e in taken):
            continue
        code = match.group(0)
        if match.group(1).lower() not in areas or code.lower() in lookalikes:
            continue
        after = text[match.end() : match.end() + 20]
        before = text[max(0, match.start() - 20) : match.start()]
        if after_area.search(after) or (
            before_location.search(before) and re.search(r"\bthe\s+$", before) is None
        ):
            spans.append(
                Span(
                    match.start(), match.end(), "POSTCODE", "postcode-outward", _("[area removed]")
                )
            )
    return spans
