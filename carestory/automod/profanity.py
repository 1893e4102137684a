"""Swear words, also disguised (f*ck, sh1t, b.l.o.o.d.y), from ``rules/profanity.json``.

Whole words only, so "Scunthorpe" and "assessment" never match; literal uses ("bloody
stools", "a finger prick test") are listed in the rules and left alone."""

from __future__ import annotations

import re
from functools import cache

from carestory.automod.base import Context, Span
from carestory.automod.lexicon import json_rules

_TOKEN = re.compile(r"(?<![\w*#@$!|+])[A-Za-z@$*#0-9|!+]*[A-Za-z][A-Za-z@$*#0-9|!+]*")
_DOTTED = re.compile(r"(?<![\w.])(?:[A-Za-z][.\-_*]){3,}[A-Za-z](?![\w])")


@cache
def _lists() -> tuple[frozenset[str], tuple[str, ...], frozenset[str]]:
    rules = json_rules("profanity")
    return frozenset(rules["words"]), tuple(rules["prefixes"]), frozenset(rules["insults"])


@cache
def _longest_listed() -> int:
    words, prefixes, _insults = _lists()
    return max(len(w) for w in (*words, *prefixes))


def _is_swear(word: str) -> bool:
    words, prefixes, _insults = _lists()
    return word in words or word.startswith(prefixes)


def is_insult(word: str) -> bool:
    """A swear word that calls someone something (counts towards OFFENSIVE)."""
    return normalise(word) in _lists()[2] or normalise(word).startswith("fucker")


def normalise(token: str) -> str:
    """Undo the usual disguises: leetspeak digits and symbols, dots between letters."""
    rules = json_rules("profanity")
    leet: dict[str, str] = rules["leet"]
    word = token.lower()
    if re.fullmatch(r"(?:[a-z][.\-_*]){3,}[a-z]", word):
        word = re.sub(r"[.\-_*]", "", word)
    if any(ch in leet for ch in word) and re.search(r"[a-z]", word):
        stripped = word.rstrip("!|+")
        word = "".join(leet.get(ch, ch) for ch in stripped)
    return word


def _masked_match(token: str) -> str | None:
    """'f*ck', 'c**p', 'sh*t': a masked word that fits exactly one way into the list."""
    masks: str = json_rules("profanity")["masks"]
    word = token.lower()
    if not any(ch in masks for ch in word) or not word[:1].isalpha():
        return None
    words, prefixes, _ = _lists()
    hits: set[str] = set()
    # Each character of the pattern matches exactly one letter, so only a listed word or
    # prefix of the token's length can match: a longer token is not compiled into a pattern.
    if len(word) <= _longest_listed():
        pattern = "".join("[a-z]" if ch in masks else re.escape(ch) for ch in word)
        regex = re.compile(pattern)
        hits = {w for w in words if regex.fullmatch(w)}
        hits |= {p for p in prefixes if regex.fullmatch(p)}
    if not hits:
        # "f***ing": match a prefix then the rest literally
        for p in prefixes:
            head = re.compile(
                "".join("[a-z]" if ch in masks else re.escape(ch) for ch in word[: len(p)])
            )
            if head.fullmatch(p) and word[len(p) :].isalpha():
                hits.add(p)
    return next(iter(hits)) if hits else None


def find_profanity(ctx: Context) -> list[Span]:
    text = ctx.text
    rules = json_rules("profanity")
    literal_after: dict[str, list[str]] = rules["literal_after"]
    literal_before: dict[str, list[str]] = rules["literal_before"]
    spans: list[Span] = []
    seen: set[int] = set()
    for match in _DOTTED.finditer(text):
        word = normalise(match.group(0))
        if _is_swear(word):
            spans.append(Span(match.start(), match.end(), "PROFANITY", "profanity-disguised"))
            seen.update(range(match.start(), match.end()))
    for match in _TOKEN.finditer(text):
        if match.start() in seen:
            continue
        raw = match.group(0)
        token = raw.rstrip("!|+") if raw[:1].isalpha() else raw
        end = match.start() + len(token)
        if not token:
            continue
        if token.isalpha():
            word, rule = token.lower(), "profanity-word"
        else:
            word, rule = normalise(token), "profanity-disguised"
            if not _is_swear(word):
                masked = _masked_match(token)
                if masked is None:
                    continue
                word = masked
        if not _is_swear(word):
            continue
        following = re.match(r"\s+([A-Za-z]+)", text[end : end + 30])
        if following and following.group(1).lower() in literal_after.get(word, []):
            continue
        preceding = re.search(
            r"([A-Za-z]+)[\s-]+$", text[max(0, match.start() - 30) : match.start()]
        )
        if preceding and preceding.group(1).lower() in literal_before.get(word, []):
            continue
        spans.append(Span(match.start(), end, "PROFANITY", rule))
    return spans
