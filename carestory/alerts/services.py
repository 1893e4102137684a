"""Who hears about what: staff alerts when a story about their services is published."""

from __future__ import annotations

from typing import Any

from carestory.lib.urls import absolute_url
from carestory.outbox.services import email_enqueue
from carestory.stories.models import Criticality, Story
from carestory.subscriptions.selectors import alert_recipients_for


def alerts_story_published(*, story: Story) -> int:
    """Queue one email per responder or administrator whose scope covers the story.

    Idempotent: each (story, staff member) has one dedupe key, so a re-run adds nothing.
    The email carries only the published version: never the author's identity or original.
    """
    services = list(story.services.all())
    recipients = alert_recipients_for(services=services)
    link = absolute_url("stories:detail", story.public_id)
    criticality = Criticality(story.criticality).label if story.criticality is not None else ""
    queued = 0
    seen: set[int] = set()
    for membership in recipients:
        if membership.user_id in seen:
            continue
        seen.add(membership.user_id)
        context: dict[str, Any] = {
            "story_title": story.title,
            "story_body": story.body,
            "screen_name": story.screen_name,
            "services_text": ", ".join(s.name for s in services),
            "criticality": criticality,
            "organisation": membership.subscription.name,
            "link": link,
        }
        if email_enqueue(
            dedupe_key=f"staff-alert:story:{story.pk}:{membership.user_id}",
            to=membership.user.email,
            template="staff_story_published",
            context=context,
            guard="story_published",
            guard_args={"story_id": story.pk},
        ):
            queued += 1
    return queued
