"""What is waiting for moderators."""

from __future__ import annotations

from typing import Any

from carestory.responses.models import AuthorReply, ModerationStatus, Response
from carestory.stories.models import Story


def moderation_queue() -> dict[str, Any]:
    """Items waiting for a decision, oldest first."""
    stories = (
        Story.objects.in_moderation().order_by("verified_at", "id").prefetch_related("services")
    )
    responses = (
        Response.objects.filter(
            status=ModerationStatus.IN_MODERATION, story__status=Story.Status.PUBLISHED
        )
        .select_related("story", "subscription")
        .order_by("created_at", "id")
    )
    replies = (
        AuthorReply.objects.filter(
            status=ModerationStatus.IN_MODERATION,
            response__story__status=Story.Status.PUBLISHED,
        )
        .select_related("response__story")
        .order_by("created_at", "id")
    )
    return {"stories": stories, "responses": responses, "replies": replies}
