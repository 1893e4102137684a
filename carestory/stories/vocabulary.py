"""The starting tag vocabulary: aspects of care (polarity from the question) and feelings.

Used by the data migration and by tests that flush the database."""

from __future__ import annotations

from typing import Any

ASPECTS: list[tuple[str, str]] = [
    ("staff-attitude", "Staff attitude"),
    ("communication", "Communication"),
    ("information", "Information and explanations"),
    ("waiting-times", "Waiting times"),
    ("appointments", "Getting an appointment"),
    ("treatment", "Treatment and care"),
    ("pain-management", "Pain management"),
    ("dignity", "Dignity and respect"),
    ("cleanliness", "Cleanliness"),
    ("food", "Food and drink"),
    ("discharge", "Leaving hospital"),
    ("parking", "Parking and access"),
]
FEELINGS: list[tuple[str, str, int]] = [
    ("grateful", "Grateful", 1),
    ("reassured", "Reassured", 1),
    ("listened-to", "Listened to", 1),
    ("safe", "Safe", 1),
    ("anxious", "Anxious", -1),
    ("frustrated", "Frustrated", -1),
    ("ignored", "Ignored", -1),
    ("upset", "Upset", -1),
    ("confused", "Confused", -1),
]


def tags_ensure(tag_model: Any) -> None:
    """Create any missing starting tags (idempotent)."""
    for slug, name in ASPECTS:
        tag_model.objects.get_or_create(
            slug=slug, defaults={"name": name, "group": "aspect", "polarity": 0}
        )
    for slug, name, polarity in FEELINGS:
        tag_model.objects.get_or_create(
            slug=slug, defaults={"name": name, "group": "feeling", "polarity": polarity}
        )
