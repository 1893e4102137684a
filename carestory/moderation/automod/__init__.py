"""Automated moderation checks: they suggest, people decide.

The interface the rest of Carestory uses:

    analyse(title=..., body=...) -> Analysis(findings, flags, criticality, tags)

Findings are spans (field, start, end, label) with a rule, severity, an optional suggested
replacement and a gentle message for the author. Flags are whole-story signals (SAFEGUARDING,
COMPLAINT, NOT_AN_EXPERIENCE, ALL_CAPS, OFFENSIVE). Nothing here ever rejects a story.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SPAN_LABELS = (
    "PERSON_NAME",
    "STAFF_DESCRIPTOR",
    "EMAIL",
    "PHONE",
    "URL",
    "NHS_NUMBER",
    "POSTCODE",
    "DATE",
    "TIME",
    "AGE",
    "GENDERED_RELATION",
    "ADDRESS",
    "PROFANITY",
)
FLAGS = (
    "SAFEGUARDING",
    "COMPLAINT",
    "NOT_AN_EXPERIENCE",
    "ALL_CAPS",
    "OFFENSIVE",
    "DUPLICATE_RISK",
)


@dataclass(frozen=True)
class Finding:
    field: str  # "title" or "body"
    start: int
    end: int
    label: str  # one of SPAN_LABELS
    rule: str  # which rule found it, for error analysis
    severity: str = "warning"  # "info", "warning" or "urgent"
    suggestion: str | None = None  # replacement text, or None to just point it out
    message: str = ""  # gentle guidance for the author


@dataclass(frozen=True)
class Analysis:
    findings: list[Finding] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    criticality: int | None = None  # 0..5, as stories.models.Criticality
    tags: list[tuple[str, int]] = field(default_factory=list)  # (tag slug, polarity)


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?:\+44\s?|0)(?:\d[\s-]?){9,10}\d?")


def analyse(*, title: str, body: str) -> Analysis:
    """A first, minimal engine (email addresses and phone numbers); see the module docs."""
    findings: list[Finding] = []
    for field_name, text in (("title", title), ("body", body)):
        for label, pattern in (("EMAIL", _EMAIL), ("PHONE", _PHONE)):
            for match in pattern.finditer(text):
                findings.append(
                    Finding(
                        field=field_name,
                        start=match.start(),
                        end=match.end(),
                        label=label,
                        rule=f"{label.lower()}-pattern",
                        suggestion="",
                    )
                )
    return Analysis(findings=findings)
