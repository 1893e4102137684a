"""Whole-story flags: SAFEGUARDING, COMPLAINT, NOT_AN_EXPERIENCE, OFFENSIVE and ALL_CAPS.

Each flag is a set of weighted cues in ``rules/<flag>.json``. ``flag_story`` returns the
flags and, for each, the names of the cues that raised it (rule names only, never the
matched words, so they are safe to log). DUPLICATE_RISK needs the author's other stories and
is not raised here."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from carestory.moderation.automod import text as textlib
from carestory.moderation.automod.base import Span
from carestory.moderation.automod.lexicon import compiled, json_rules
from carestory.moderation.automod.profanity import is_insult

ALL_CAPS_SHARE = 0.8
ALL_CAPS_MIN_LETTERS = 20


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
    best: dict[str, float] = {}
    for cue in rules["cues"]:
        for match in compiled(cue["pattern"]).finditer(text):
            weight = float(cue["weight"])
            sentence = textlib.sentence_at(text, match.start())
            before = text[sentence.start : match.start()]
            after = text[match.end() : sentence.end]
            if negated_after.search(after) or screening.search(before):
                weight = 0.0
            if past.search(sentence.text):
                weight *= float(rules["past_factor"])
            if recovering and cue["category"] in rules["recovery_categories"]:
                weight *= float(rules["recovery_factor"])
            best[cue["name"]] = max(best.get(cue["name"], 0.0), weight)
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
    found = []
    for cue in rules["cues"]:
        for match in compiled(cue["pattern"], re.IGNORECASE | re.MULTILINE).finditer(text):
            sentence = textlib.sentence_at(text, match.start())
            before = text[sentence.start : match.start()]
            if negation.search(before) or conditional.search(sentence.text):
                continue
            found.append(cue["name"])
            break
    return found


def alternatives(pattern: str) -> list[str]:
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
    return parts


def _weighted(name: str, text: str) -> tuple[float, list[str]]:
    """Add up the cues' weights. With ``"per_alternative"`` in the rules file, each distinct
    alternative of a cue that matches counts (at most ``per_alternative`` times per cue)."""
    rules: dict[str, Any] = json_rules(name)
    text = _blank(text, rules.get("exclusions", []))
    per_alternative = int(rules.get("per_alternative", 1))
    score = 0.0
    reasons = []
    for cue in rules["cues"]:
        flags = re.IGNORECASE | re.MULTILINE
        hits = sum(1 for alt in alternatives(cue["pattern"]) if compiled(alt, flags).search(text))
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
