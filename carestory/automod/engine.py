"""Run every rule over a story and resolve overlapping spans."""

from __future__ import annotations

from collections.abc import Callable

from carestory.automod import contact, people, places, profanity, when
from carestory.automod.base import Context, Span
from carestory.automod.criticality import CriticalityModel, suggest
from carestory.automod.flags import flag_story
from carestory.automod.guidance import label_messages
from carestory.automod.results import Analysis, Finding
from carestory.automod.tags import suggest_tags

Detector = Callable[[Context], list[Span]]

DETECTORS: tuple[Detector, ...] = (
    contact.find_emails,
    contact.find_urls,
    contact.find_phones,
    contact.find_nhs_numbers,
    contact.find_postcodes,
    places.find_addresses,
    when.find_dates,
    when.find_times,
    when.find_ages,
    people.find_staff_descriptors,
    people.find_names,
    people.find_gendered_relations,
    profanity.find_profanity,
)
# When spans of different labels overlap, the earlier label wins (an email address beats
# the name inside it; a date beats a number that looks like an age).
PRIORITY = (
    "EMAIL",
    "URL",
    "PHONE",
    "NHS_NUMBER",
    "POSTCODE",
    "ADDRESS",
    "DATE",
    "TIME",
    "STAFF_DESCRIPTOR",
    "AGE",
    "PERSON_NAME",
    "GENDERED_RELATION",
    "PROFANITY",
)


def _merge_same_label(spans: list[Span]) -> list[Span]:
    """Overlapping spans of one label become one, the widest extent, keeping the rule of
    the longest."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.label, s.start, -s.end)):
        if merged and merged[-1].label == span.label and span.start < merged[-1].end:
            last = merged[-1]
            keep = last if (last.end - last.start) >= (span.end - span.start) else span
            merged[-1] = Span(
                last.start,
                max(last.end, span.end),
                last.label,
                keep.rule,
                keep.suggestion,
                keep.severity,
            )
        else:
            merged.append(span)
    return merged


def resolve(spans: list[Span]) -> list[Span]:
    """Non-overlapping, non-empty spans, in text order.

    The characters already taken are marked in a bytearray, so each candidate is checked in
    time proportional to its own length (spans of one label are merged first, so that adds up
    to a few times the text) rather than against every span chosen so far (quadratic in a
    story with thousands of findings)."""
    chosen: list[Span] = []
    taken = bytearray(max((s.end for s in spans), default=0))
    for span in sorted(
        _merge_same_label(spans),
        key=lambda s: (PRIORITY.index(s.label), -(s.end - s.start), s.start),
    ):
        if span.start >= span.end or taken.find(1, span.start, span.end) != -1:
            continue  # empty (the detectors make none: it would redact nothing) or overlapping
        chosen.append(span)
        taken[span.start : span.end] = b"\x01" * (span.end - span.start)
    return sorted(chosen, key=lambda s: s.start)


def find_spans(text: str, *, title: str, body: str) -> list[Span]:
    ctx = Context.for_story(text, title=title, body=body)
    spans: list[Span] = []
    for detector in DETECTORS:
        spans.extend(detector(ctx))
    return resolve(spans)


def analyse(
    *,
    title: str,
    body: str,
    model: CriticalityModel | None = None,
    suggestions: bool = True,
) -> Analysis:
    """Every suggestion for one story: spans, flags, criticality and tags. With
    ``suggestions=False`` only spans and flags are computed (the author's live guidance)."""
    findings: list[Finding] = []
    swear_words: list[tuple[str, Span]] = []
    messages = label_messages()
    for field_name, text in (("title", title), ("body", body)):
        for span in find_spans(text, title=title, body=body):
            findings.append(
                Finding(
                    field=field_name,
                    start=span.start,
                    end=span.end,
                    label=span.label,
                    rule=span.rule,
                    severity=span.severity,
                    suggestion=span.suggestion,
                    message=messages.get(span.label, ""),
                )
            )
            if span.label == "PROFANITY":
                swear_words.append((text[span.start : span.end], span))
    flagged = flag_story(title=title, body=body, profanity=swear_words)
    if not suggestions:
        return Analysis(findings=findings, flags=flagged.flags, reasons=flagged.reasons)
    criticality = suggest(
        title=title, body=body, flags=flagged.flags, reasons=flagged.reasons, model=model
    )
    return Analysis(
        findings=findings,
        flags=flagged.flags,
        criticality=criticality,
        tags=suggest_tags(title=title, body=body),
        reasons=flagged.reasons,
    )
