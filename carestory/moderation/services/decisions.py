"""The moderator's decisions on a story in the queue: publish it (at once, or to its provider
first; with safeguarding signposting for the author if asked), or reject it with a reason
emailed to the author.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from carestory.accounts.models import User
from carestory.lib.errors import Problems
from carestory.lib.text import clean_text
from carestory.lib.urls import absolute_url
from carestory.moderation.models import RejectionReason
from carestory.moderation.services.checks import require_may_decide
from carestory.moderation.services.claims import _NO_CLAIM, clean_note, moderator_note_add
from carestory.moderation.services.edits import StoryEdit, _after_edit, _story_edit_fields
from carestory.moderation.services.provider_review import (
    _provider_review_start,
    needs_provider_review,
)
from carestory.moderation.services.publication import _publish_now
from carestory.stories.lifecycle import DECIDABLE, story_transition
from carestory.stories.models import Story
from carestory.stories.services import story_author_email

_S = Story.Status

MESSAGE_MAX_LENGTH = 4000


def _signpost(story: Story) -> None:
    story_author_email(
        story,
        "safeguarding_signpost",
        my_stories_link=absolute_url("stories:my_story", story.public_id),
    )


@transaction.atomic
def story_publish(*, story: Story, moderator: User, edit: StoryEdit, signpost: bool = False) -> str:
    """Approve the story. It is published at once, or goes to its provider first when one of
    its services needs provider review (then it is published by the provider's "go ahead", or
    after 72 hours). Held stories: senior moderators only, and published at once if the
    provider has already reviewed it.

    ``signpost`` is safeguarding level 1: publish, and email the author support information.
    Returns the story's new status.
    """
    require_may_decide(story, moderator, *DECIDABLE)
    problems = Problems()
    problems.check(lambda: _check_rated(edit.criticality), default=None)
    fields, changes = _story_edit_fields(story=story, edit=edit, problems=problems)
    now = timezone.now()
    fields |= {"approved_at": now, "moderated_by": moderator}
    if signpost and story.safeguarding_level < 1:
        fields["safeguarding_level"] = 1
        changes["safeguarding_level"] = [story.safeguarding_level, 1]
    if needs_provider_review(story=story, services=edit.services):
        _provider_review_start(
            story=story,
            moderator=moderator,
            version=edit.version,
            now=now,
            fields=fields,
            changes=changes,
            services=edit.services,
        )
        new_status: str = _S.PROVIDER_REVIEW
    else:
        _publish_now(
            story=story,
            action="story.publish",
            actor=moderator,
            version=edit.version,
            now=now,
            fields=fields,
            changes=changes,
        )
        new_status = _S.PUBLISHED
    _after_edit(story, moderator, fields, edit)
    if signpost:
        _signpost(story)
    return new_status


def _check_rated(criticality: int | None) -> None:
    if criticality is None:
        raise ValidationError({"criticality": _("Rate the story's criticality before publishing")})


def _check_reason(reason: str) -> None:
    if reason not in RejectionReason.values:
        raise ValidationError({"reason": _("Choose a reason for not publishing")})


def _clean_message(message: str) -> str:
    return clean_text(
        message,
        field="message",
        limit=MESSAGE_MAX_LENGTH,
        missing=_("Write a message to the author explaining why"),
        too_long=_("The message must be %(limit)s characters or fewer"),
    )


@transaction.atomic
def story_reject(
    *, story: Story, moderator: User, version: int, reason: str, message: str, note: str = ""
) -> None:
    """Reject the story with one of the reasons and a message to the author (both needed; the
    note is optional), all checked before anything changes."""
    require_may_decide(story, moderator, *DECIDABLE)
    problems = Problems()
    problems.check(lambda: _check_reason(reason), default=None)
    message = problems.check(lambda: _clean_message(message), default="")
    problems.check(lambda: clean_note(note), default="")
    problems.raise_any()
    story_transition(
        story=story,
        to=_S.REJECTED,
        action="story.reject",
        actor=moderator,
        version=version,
        fields={
            "rejected_at": timezone.now(),
            "rejection_reason": reason,
            "moderated_by": moderator,
            **_NO_CLAIM,
        },
        reason=reason,
    )
    moderator_note_add(story=story, moderator=moderator, text=note)
    story_author_email(
        story,
        "story_rejected",
        reason=RejectionReason(reason).label,
        message=message,
        my_stories_link=absolute_url("stories:my_story", story.public_id),
    )
