"""Whole-story flags: SAFEGUARDING, COMPLAINT, NOT_AN_EXPERIENCE, OFFENSIVE and ALL_CAPS.

Each flag is a set of weighted cues in ``rules/<flag>.json``. ``flag_story`` returns the
flags and, for each, the names of the cues that raised it (rule names only, never the
matched words, so they are safe to log). DUPLICATE_RISK needs the author's other stories and
is not raised here."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from carestory.automod import text as textlib
from carestory.automod.base import Span
from carestory.automod.lexicon import compiled, json_rules
from carestory.automod.profanity import is_insult

ALL_CAPS_SHARE = 0.8
ALL_CAPS_MIN_LETTERS = 20
# How far before and after a cue, inside its sentence, the negation, screening-question and
# conditional patterns look (characters). Far more than they need ("asked whether ... ever
# thought of suicide"), and a bound on the work per cue in a story with no full stops.
CONTEXT_CHARS = 400


@dataclass
class FlagResult:
    flags: list[str] = field(default_factory=list)
    reasons: dict[str, list[str]] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)


def _blank(text: str, patterns: Sequence[str]) -> str:
    """Replace the matches of ``patterns`` by spaces (offsets are kept)."""
    for pattern in patterns:
        text = compiled(pattern).sub(lambda m: " " * len(m.group(0)), text)
    return text


def _normalise(text: str) -> str:
    for curly, straight in (("\u2019", "'"), ("\u2018", "'"), ("\u201c", '"'), ("\u201d", '"')):
        text = text.replace(curly, straight)
    return text


def all_caps(title: str, body: str) -> bool:
    letters = [c for c in f"{title} {body}" if c.isalpha()]
    return (
        len(letters) >= ALL_CAPS_MIN_LETTERS
        and textlib.upper_ratio(f"{title} {body}") > ALL_CAPS_SHARE
    )


def safeguarding(text: str) -> tuple[float, list[str]]:
    rules: dict[str, Any] = json_rules("safeguarding")
    text = _blank(text, rules["exclusions"])
    past = compiled(rules["past_markers"])
    negated_after = compiled(rules["negated_after"])
    screening = compiled(rules["screening_before"])
    recovering = bool(compiled(rules["recovery_markers"]).search(text))
    index = textlib.SentenceIndex(text)
    in_the_past: dict[tuple[int, int], bool] = {}
    best: dict[str, float] = {}
    for cue in rules["cues"]:
        name, base = cue["name"], float(cue["weight"])
        recovery = recovering and cue["category"] in rules["recovery_categories"]
        # The most a match of this cue can weigh: once reached, later matches cannot add.
        ceiling = max(0.0, base, base * float(rules["past_factor"]))
        if recovery:
            ceiling *= float(rules["recovery_factor"])
        # Sentences where a match already counted: every other match there weighs the same
        # or nothing (only negation and screening differ within one sentence).
        counted: set[tuple[int, int]] = set()
        for match in compiled(cue["pattern"]).finditer(text):
            sentence = index.at(match.start())
            key = (sentence.start, sentence.end)
            if key in counted:
                continue
            weight = base
            before, after = _context(text, sentence, match)
            if negated_after.search(after) or screening.search(before):
                weight = 0.0
            else:
                counted.add(key)
            if key not in in_the_past:
                in_the_past[key] = bool(past.search(sentence.text))
            if in_the_past[key]:
                weight *= float(rules["past_factor"])
            if recovery:
                weight *= float(rules["recovery_factor"])
            best[name] = max(best.get(name, 0.0), weight)
            if best[name] >= ceiling:
                break
    context = sum(w for name, w in best.items() if _category(rules, name) == "context")
    score = sum(w for name, w in best.items() if _category(rules, name) != "context")
    if score > 0:
        score += min(context, 0.5)
    return score, sorted(name for name, w in best.items() if w > 0)


def _category(rules: dict[str, Any], name: str) -> str:
    for cue in rules["cues"]:
        if cue["name"] == name:
            return str(cue["category"])
    return ""


def complaint(text: str) -> list[str]:
    rules: dict[str, Any] = json_rules("complaint")
    text = _blank(text, rules["exclusions"])
    negation = compiled(rules["negation_before"])
    conditional = compiled(rules["conditional"])
    index = textlib.SentenceIndex(text)
    is_conditional: dict[tuple[int, int], bool] = {}
    found = []
    for cue in rules["cues"]:
        for match in compiled(cue["pattern"], re.IGNORECASE | re.MULTILINE).finditer(text):
            sentence = index.at(match.start())
            key = (sentence.start, sentence.end)
            if key not in is_conditional:
                is_conditional[key] = bool(conditional.search(sentence.text))
            if is_conditional[key]:
                continue
            before, _after = _context(text, sentence, match)
            if negation.search(before):
                continue
            found.append(cue["name"])
            break
    return found


def _context(text: str, sentence: textlib.Sentence, match: re.Match[str]) -> tuple[str, str]:
    """The text of the sentence before and after a match, at most ``CONTEXT_CHARS`` each way
    (the cues' context patterns look a few words away; the cap keeps a story written without
    full stops linear rather than quadratic)."""
    before = text[max(sentence.start, match.start() - CONTEXT_CHARS) : match.start()]
    after = text[match.end() : min(sentence.end, match.end() + CONTEXT_CHARS)]
    return before, after


@cache
def alternatives(pattern: str) -> tuple[str, ...]:
    """The top-level alternatives of a regular expression (split at ``|`` outside groups)."""
    parts, depth, start, escaped = [], 0, 0, False
    for i, ch in enumerate(pattern):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
    parts.append(pattern[start:])
    return tuple(parts)


def _weighted(name: str, text: str) -> tuple[float, list[str]]:
    """Add up the cues' weights. With ``"per_alternative"`` in the rules file, each distinct
    alternative of a cue that matches counts (at most ``per_alternative`` times per cue)."""
    rules: dict[str, Any] = json_rules(name)
    text = _blank(text, rules.get("exclusions", []))
    per_alternative = int(rules.get("per_alternative", 1))
    score = 0.0
    reasons = []
    flags = re.IGNORECASE | re.MULTILINE
    for cue in rules["cues"]:
        # Stop searching once the cue counts as much as it can.
        hits = 0
        for alt in alternatives(cue["pattern"]):
            if compiled(alt, flags).search(text):
                hits += 1
                if hits >= per_alternative:
                    break
        if hits:
            score += float(cue["weight"]) * min(hits, per_alternative)
            reasons.append(cue["name"])
    for cue in rules.get("experience_cues", []):
        if compiled(cue["pattern"], re.IGNORECASE | re.MULTILINE).search(text):
            score += float(cue["weight"])
    return score, reasons


def _describes_care(text: str) -> bool:
    rules: dict[str, Any] = json_rules("not_an_experience")
    return any(
        compiled(cue["pattern"], re.IGNORECASE | re.MULTILINE).search(text)
        for cue in rules["experience_cues"]
    )


def not_an_experience(title: str, body: str) -> tuple[float, list[str]]:
    rules = json_rules("not_an_experience")
    score, reasons = _weighted("not_an_experience", f"{title}\n{body}")
    short = len(textlib.sentences(body)) <= int(rules["question_without_care_max_sentences"])
    if "?" in body and short and not _describes_care(f"{title}\n{body}"):
        score += float(rules["question_without_care_weight"])
        reasons.append("question-without-care")
    stripped = body.strip().lower()
    if len(stripped) <= int(rules["short_test_max_chars"]) and re.search(
        r"\btest(ing)?\b", f"{title} {body}".lower()
    ):
        score += 1.0
        reasons.append("test-post")
    return score, reasons


def offensive(text: str, profanity: Sequence[tuple[str, Span]]) -> tuple[float, list[str]]:
    rules = json_rules("offensive")
    score, reasons = _weighted("offensive", text)
    if any(is_insult(word) for word, _span in profanity):
        score += float(rules["insult_profanity_weight"])
        reasons.append("insulting-swear-word")
    return score, reasons


def flag_story(*, title: str, body: str, profanity: Sequence[tuple[str, Span]] = ()) -> FlagResult:
    """All the whole-story flags for one story."""
    whole = _normalise(f"{title}.\n{body}")
    result = FlagResult()

    def add(flag: str, score: float, reasons: list[str], threshold: float) -> None:
        result.scores[flag] = round(score, 3)
        if score >= threshold and reasons:
            result.flags.append(flag)
            result.reasons[flag] = reasons

    sg_score, sg_reasons = safeguarding(whole)
    add("SAFEGUARDING", sg_score, sg_reasons, float(json_rules("safeguarding")["threshold"]))
    complaint_reasons = complaint(whole)
    add("COMPLAINT", float(bool(complaint_reasons)), complaint_reasons, 1.0)
    nae_score, nae_reasons = not_an_experience(_normalise(title), _normalise(body))
    add(
        "NOT_AN_EXPERIENCE",
        nae_score,
        nae_reasons,
        float(json_rules("not_an_experience")["threshold"]),
    )
    if all_caps(title, body):
        add("ALL_CAPS", 1.0, ["mostly-capitals"], 1.0)
    off_score, off_reasons = offensive(whole, profanity)
    add("OFFENSIVE", off_score, off_reasons, float(json_rules("offensive")["threshold"]))
    order = ("SAFEGUARDING", "COMPLAINT", "NOT_AN_EXPERIENCE", "ALL_CAPS", "OFFENSIVE")
    result.flags.sort(key=order.index)
    return result
