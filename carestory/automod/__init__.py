"""Automated moderation checks: they suggest, people decide.

The interface the rest of Carestory uses:

    analyse(title=..., body=...) -> Analysis(findings, flags, criticality, tags)

Findings are spans (field, start, end, label) with a rule, severity, an optional suggested
replacement and a gentle message for the author. Flags are whole-story signals (SAFEGUARDING,
COMPLAINT, NOT_AN_EXPERIENCE, ALL_CAPS, OFFENSIVE). Nothing here ever rejects a story.

The engine is organised in modules, one per family of rules, and reads its word lists and
patterns from ``rules/`` and its learned model from ``models/`` (see docs/automod.md):

    contact.py      EMAIL, URL, PHONE, NHS_NUMBER (modulus-11 check), POSTCODE
    places.py       ADDRESS (street addresses, numbered wards, bays, beds and rooms)
    when.py         DATE, TIME, AGE
    people.py       PERSON_NAME, STAFF_DESCRIPTOR, GENDERED_RELATION
    profanity.py    PROFANITY (also disguised spellings)
    flags.py        SAFEGUARDING, COMPLAINT, NOT_AN_EXPERIENCE, ALL_CAPS, OFFENSIVE
    criticality.py  suggested criticality (naive Bayes per sentence, plus rules)
    tags.py         suggested tags with polarity
    engine.py       runs them all and resolves overlapping spans
    guidance.py     messages for authors while they write
"""

from __future__ import annotations

from carestory.automod.engine import analyse
from carestory.automod.results import FLAGS, SPAN_LABELS, Analysis, Finding

__all__ = ["FLAGS", "SPAN_LABELS", "Analysis", "Finding", "analyse"]
