"""Suggested tags from the text (``rules/tags.json``): aspects of care with the tone of the
sentence they are in, and feelings. Slugs come from ``stories/vocabulary.py``."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from carestory.automod import text as textlib
from carestory.automod.lexicon import compiled, json_rules

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


@cache
def _tone_words() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    rules: dict[str, Any] = json_rules("tags")
    return (
        frozenset(rules["positive"]),
        frozenset(rules["negative"]),
        frozenset(rules["negators"]),
    )


def tone(sentence: str) -> int:
    """+1, -1 or 0 from the positive and negative word lists, with negation."""
    positive, negative, negators = _tone_words()
    score = 0
    previous: list[str] = []
    for word in _WORD.findall(sentence.lower().replace("\u2019", "'")):
        sign = 1 if word in positive else -1 if word in negative else 0
        if sign and any(p in negators for p in previous[-3:]):
            sign = -sign
        score += sign
        previous.append(word)
    return (score > 0) - (score < 0)


def suggest_tags(*, title: str, body: str) -> list[tuple[str, int]]:
    rules: dict[str, Any] = json_rules("tags")
    found: dict[tuple[str, int], None] = {}
    for sentence in textlib.sentences(f"{title}.\n{body}"):
        lowered = sentence.text.lower().replace("\u2019", "'")
        polarity = tone(sentence.text)
        if polarity:
            for slug, pattern in rules["aspects"].items():
                if compiled(pattern).search(lowered):
                    found[(slug, polarity)] = None
        for slug, pattern in rules["feelings"].items():
            if compiled(pattern).search(lowered):
                found[(slug, int(rules["feeling_polarity"][slug]))] = None
    return list(found)
