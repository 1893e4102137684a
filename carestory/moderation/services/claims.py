"""A moderator's marks on a story while working on it: the claim (opening a story holds it
for 15 minutes, so other moderators see who is on it) and private moderator notes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from carestory.accounts.models import User
from carestory.audit.services import audit_record
from carestory.lib.text import clean_text
from carestory.moderation.models import ModeratorNote
from carestory.moderation.services.checks import require_moderator
from carestory.stories.lifecycle import decidable_statuses
from carestory.stories.models import Story

CLAIM_MINUTES = 15
NOTE_MAX_LENGTH = 4000

_NO_CLAIM: dict[str, Any] = {"claimed_by": None, "claimed_until": None}


def clean_note(text: str) -> str:
    """A private moderator note (optional), normalised; every decision that keeps one checks
    it before changing anything."""
    return clean_text(
        text,
        field="note",
        limit=NOTE_MAX_LENGTH,
        too_long=_("The note must be %(limit)s characters or fewer"),
    )


def moderator_note_add(*, story: Story, moderator: User, text: str) -> ModeratorNote | None:
    require_moderator(moderator)
    text = clean_note(text)
    if not text:
        return None
    note = ModeratorNote.objects.create(story=story, moderator=moderator, text=text)
    audit_record(actor=moderator, action="story.note", obj=story, changes={"note_id": note.pk})
    return note


def _claim(story: Story, moderator: User, now: datetime) -> bool:
    """Take or refresh the claim if it is free, expired or already this moderator's.

    One conditional UPDATE, so of two moderators opening the story at once exactly one gets it.
    """
    until = now + timedelta(minutes=CLAIM_MINUTES)
    statuses = decidable_statuses(moderator)  # claim only what this moderator may decide
    refreshed = Story.objects.filter(
        pk=story.pk, status__in=statuses, claimed_by=moderator, claimed_until__gt=now
    ).update(claimed_until=until)
    if not refreshed:
        free = (
            Q(claimed_by__isnull=True) | Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)
        )
        taken = Story.objects.filter(free, pk=story.pk, status__in=statuses).update(
            claimed_by=moderator, claimed_until=until
        )
        if not taken:
            return False
        audit_record(actor=moderator, action="story.claim", obj=story)
    story.claimed_by, story.claimed_until = moderator, until
    return True


@transaction.atomic
def story_claim(*, story: Story, moderator: User, now: datetime | None = None) -> bool:
    """Opening a story claims it for 15 minutes. True when this moderator holds the claim.

    A claim tells other moderators who is working on the story; it does not stop them reading
    it or saving (the version column decides between two saves).
    """
    require_moderator(moderator)
    claimed = _claim(story, moderator, now or timezone.now())
    if not claimed:
        story.refresh_from_db(fields=["claimed_by", "claimed_until", "status", "version"])
    return claimed


@transaction.atomic
def story_claim_release(*, story: Story, moderator: User) -> bool:
    """Give the story back before the claim runs out."""
    require_moderator(moderator)
    released = Story.objects.filter(pk=story.pk, claimed_by=moderator).update(**_NO_CLAIM)
    if released:
        audit_record(actor=moderator, action="story.release", obj=story)
        story.claimed_by, story.claimed_until = None, None
    return bool(released)
