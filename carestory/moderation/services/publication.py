"""The one way a story becomes published, whichever path it came by: a moderator's decision
(``decisions.story_publish``), the provider's "go ahead", or the provider's 72 hours running
out (``provider_review``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from carestory.accounts.models import User
from carestory.lib.urls import absolute_url
from carestory.moderation.services.claims import _NO_CLAIM
from carestory.outbox.services import email_enqueue, job_enqueue
from carestory.stories.lifecycle import story_transition
from carestory.stories.models import Story

_S = Story.Status


def _publish_now(
    *,
    story: Story,
    action: str,
    actor: User | None,
    version: int | None,
    now: datetime,
    fields: dict[str, Any] | None = None,
    changes: dict[str, Any] | None = None,
) -> None:
    """The one way a story becomes published, whichever path it came by: the transition
    ``action`` from the story's state (set published_at, audited), and queue the author's email
    and the staff alert job.

    With ``version`` the update is checked against the version too; without it, against the
    state only. ConflictError when the story has moved on.
    """
    values: dict[str, Any] = {"published_at": now, **_NO_CLAIM, **(fields or {})}
    story_transition(
        story=story,
        to=_S.PUBLISHED,
        action=action,
        actor=actor,
        version=version,
        fields=values,
        changes=changes,
    )
    title = values.get("title", story.title)
    guard_args = {"story_id": story.pk}
    email_enqueue(
        dedupe_key=f"story-published:{story.pk}:author",
        to=story.author.email,
        template="story_published",
        context={"story_title": title, "link": absolute_url("stories:detail", story.public_id)},
        guard="story_published",
        guard_args=guard_args,
    )
    job_enqueue(
        name="alerts.story_published",
        payload={"story_id": story.pk},
        dedupe_key=f"alerts.story_published:{story.pk}",
        guard="story_published",
        guard_args=guard_args,
    )
