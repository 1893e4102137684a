"""Outbox jobs for stories (the automated checks run in the worker, after the story is saved;
the recount of a large subtree), and the send-time guard of everything queued on publication."""

from __future__ import annotations

from typing import Any

from carestory.outbox.registry import register_guard, register_job
from carestory.stories.models import Story


@register_job("stories.check")
def check_story(payload: dict[str, Any]) -> None:
    """Run the automated checks on the story's current text. Idempotent: a re-run computes
    the same signals again. A story that no longer exists needs nothing; an error in a check
    propagates, so the outbox retries the job with backoff (the story stays "not checked")."""
    from carestory.stories.services import story_automod_refresh

    story = Story.objects.filter(pk=payload["story_id"]).first()
    if story is None:
        return
    story_automod_refresh(story=story)


@register_job("stories.recount")
def recount_service(payload: dict[str, Any]) -> None:
    """Count a large subtree's published stories again (see ServiceStoryCounts)."""
    from carestory.services.models import Service
    from carestory.stories.services import story_counts_store

    service = Service.objects.filter(pk=payload["service_id"]).first()
    if service is not None:
        story_counts_store(service=service)


@register_guard("story_published")
def story_still_published(args: dict[str, Any]) -> bool:
    """The author's "published" email and the staff alert job go only while the story is still
    published (not once it is withdrawn)."""
    return Story.objects.filter(pk=args["story_id"], status=Story.Status.PUBLISHED).exists()
