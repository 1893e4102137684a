"""Safeguarding level 2: the story is held for a senior moderator and the safeguarding contacts
of the subscriptions covering its services are told. (Level 1, signposting the author to
support, is part of publishing: ``decisions.story_publish(signpost=True)``.)
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from carestory.accounts.models import User
from carestory.lib.errors import Problems
from carestory.lib.text import normalise_text
from carestory.moderation.services.checks import require_may_decide
from carestory.moderation.services.claims import _NO_CLAIM
from carestory.moderation.services.edits import StoryEdit, _after_edit, _story_edit_fields
from carestory.outbox.services import email_enqueue
from carestory.stories.lifecycle import starts_from, story_transition
from carestory.stories.models import Story
from carestory.subscriptions.selectors import subscriptions_covering

_S = Story.Status


def _check_concern(note: str) -> None:
    """A hold needs the concern, in the private note (its length: ``_story_edit_fields``)."""
    if not normalise_text(note):
        raise ValidationError({"note": _("Describe the safeguarding concern in a private note")})


@transaction.atomic
def story_safeguarding_hold(*, story: Story, moderator: User, edit: StoryEdit) -> None:
    """Safeguarding level 2: do not publish; hold for a senior moderator and tell the
    safeguarding contact of each subscription covering the story's services.

    Those emails carry the public version's title, the service names and what happens next:
    no author identity, no original text, no link (nothing about the story is public).
    """
    require_may_decide(story, moderator, *starts_from("story.safeguarding_hold"))
    problems = Problems()
    problems.check(lambda: _check_concern(edit.note), default=None)
    fields, changes = _story_edit_fields(story=story, edit=edit, problems=problems)
    story_transition(
        story=story,
        to=_S.HELD,
        action="story.safeguarding_hold",
        actor=moderator,
        version=edit.version,
        fields={"safeguarding_level": 2, **_NO_CLAIM, **fields},
        changes={**changes, "safeguarding_level": [story.safeguarding_level, 2]},
    )
    _after_edit(story, moderator, fields, edit)
    service_names = [s.name for s in dict.fromkeys(edit.services)]
    for subscription in subscriptions_covering(services=edit.services):
        for index, address in enumerate(subscription.safeguarding_contacts):
            email_enqueue(
                dedupe_key=f"safeguarding-hold:{story.pk}:{subscription.pk}:{index}",
                to=address,
                template="safeguarding_hold",
                context={
                    "story_title": fields["title"],
                    "services": service_names,
                    "organisation": subscription.name,
                    "reference": story.public_id,
                },
            )
