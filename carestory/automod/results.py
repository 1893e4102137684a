"""The shapes the engine returns (re-exported by the package)."""

from __future__ import annotations

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
# Labels that can identify someone (everything but profanity): the target of the
# identifying-span recall and precision figures.
IDENTIFYING_LABELS = tuple(label for label in SPAN_LABELS if label != "PROFANITY")


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
    # For each flag, the names of the rules that raised it (never the matched words).
    reasons: dict[str, list[str]] = field(default_factory=dict)
