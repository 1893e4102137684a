"""Small text helpers shared by the rules: sentences, words and case."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*\s+|\n+")
_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019\-]*")


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str


def sentences(text: str) -> list[Sentence]:
    """Split into sentences with their offsets (full stops, ! and ?, and line breaks)."""
    result = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if text[start:end].strip():
            result.append(Sentence(start, end, text[start:end]))
        start = end
    if text[start:].strip():
        result.append(Sentence(start, len(text), text[start:]))
    return result


def sentence_at(text: str, index: int) -> Sentence:
    """The sentence that contains position ``index``."""
    for sentence in sentences(text):
        if sentence.start <= index < sentence.end:
            return sentence
    return Sentence(0, len(text), text)


def words(text: str) -> Iterator[re.Match[str]]:
    """Word matches (letters, apostrophes and hyphens inside)."""
    return _WORD.finditer(text)


def upper_ratio(text: str) -> float:
    """The share of letters that are capitals (0 when there are no letters)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for c in letters if c.isupper()) / len(letters)


def is_shouting(text: str) -> bool:
    """Mostly capitals: names cannot be told from other words by their case."""
    return upper_ratio(text) > 0.8


def is_lowercase_style(text: str) -> bool:
    """Written without capitals ("dr khan", "i think one was called becky"): names may be in
    lower case too."""
    letters = [c for c in text if c.isalpha()]
    if len(letters) < 20:
        return False
    capitals = sum(1 for c in letters if c.isupper())
    starts = [s.text.lstrip()[:1] for s in sentences(text)]
    lower_starts = sum(1 for c in starts if c.islower())
    return capitals / len(letters) < 0.02 or (bool(starts) and lower_starts / len(starts) > 0.5)


def is_capitalised(word: str) -> bool:
    return (word[:1].isupper() and not word.isupper()) or (len(word) == 1 and word.isupper())


def at_sentence_start(text: str, index: int) -> bool:
    """True when only spaces, quotes, list markers or nothing stand between the previous
    sentence end (or the start of the text) and ``index``."""
    before = text[:index].rstrip(" \t\"'\u201c\u2018(-*•")
    if not before:
        return True
    if before[-1] in ".!?\n:":
        return True
    return bool(re.search(r"(^|\n)\s*(\d+[.)]|-|\*)\s*$", text[:index]))
