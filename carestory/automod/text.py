"""Small text helpers shared by the rules: sentences, words and case.

Every helper here is linear in the length of the text (see tests/test_fuzz_text.py): a story
is anonymous input, so no run of one character may make a pattern restart at every position.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass

# A run of ., ! or ?, closing quotes or brackets, then whitespace; or line breaks. The
# lookbehind makes a match start only at the first mark of a run and the possessive
# quantifiers stop backtracking into it: without them, a run of n "!" with no space after
# it was tried from each of its n positions (O(n²)). The splits are the same as before.
_SENTENCE_END = re.compile(r"(?<![.!?])[.!?]++[\"')\]]*+\s++|\n++")
_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019\-]*")
# What may stand between a sentence end and a sentence start (see ``at_sentence_start``).
_LEAD_IN = frozenset(" \t\"'\u201c\u2018(-*•")


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


class SentenceIndex:
    """The sentences of one text, split once, looked up by position in O(log n).

    Split once per text, not once per match: splitting for every match is quadratic when a
    pattern matches many times."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.sentences = sentences(text)
        self._starts = [s.start for s in self.sentences]
        self._whole = Sentence(0, len(text), text)

    def at(self, index: int) -> Sentence:
        """The sentence that contains position ``index`` (the whole text when ``index`` is in
        the blank space between two sentences)."""
        i = bisect_right(self._starts, index) - 1
        if i >= 0 and index < self.sentences[i].end:
            return self.sentences[i]
        return self._whole


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
    sentence end (or the start of the text) and ``index``.

    Reads backwards from ``index`` only as far as the characters it skips, never the whole
    text before it (the callers ask once per word)."""
    i = index
    while i > 0 and text[i - 1] in _LEAD_IN:
        i -= 1
    if i == 0:
        return True
    if text[i - 1] in ".!?\n:":
        return True
    return _list_marker_before(text, index)


def _list_marker_before(text: str, index: int) -> bool:
    """``text[:index]`` ends with a line that holds only a list marker ("1.", "2)", "-" or
    "*") and whitespace: the regular expression ``(^|\\n)\\s*(\\d+[.)]|-|\\*)\\s*$``, read
    backwards so that only the marker's line is looked at."""
    i = index
    while i > 0 and text[i - 1].isspace():
        i -= 1
    if i == 0:
        return False
    mark = text[i - 1]
    if mark in "-*":
        i -= 1
    elif mark in ".)":
        i -= 1
        digits_end = i
        while i > 0 and text[i - 1].isdecimal():  # \d in a str pattern
            i -= 1
        if i == digits_end:
            return False
    else:
        return False
    # Whitespace back to a line break or the start of the text.
    while i > 0 and text[i - 1].isspace():
        if text[i - 1] == "\n":
            return True
        i -= 1
    return i == 0
