"""Outbox job handlers and guards for alerts."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from carestory.alerts.services import alerts_story_published
from carestory.outbox.registry import register_guard, register_job
from carestory.responses.models import AuthorReply, ModerationStatus, Response
from carestory.stories.models import Story


@register_job("alerts.story_published")
def story_published_job(payload: dict[str, Any]) -> None:
    story = Story.objects.filter(pk=payload["story_id"], status=Story.Status.PUBLISHED).first()
    if story is None:
        return
    with transaction.atomic():
        alerts_story_published(story=story)


@register_guard("story_published")
def story_still_published(args: dict[str, Any]) -> bool:
    return Story.objects.filter(pk=args["story_id"], status=Story.Status.PUBLISHED).exists()


@register_guard("response_published")
def response_still_published(args: dict[str, Any]) -> bool:
    return Response.objects.filter(
        pk=args["response_id"],
        status=ModerationStatus.PUBLISHED,
        story__status=Story.Status.PUBLISHED,
    ).exists()


@register_guard("reply_published")
def reply_still_published(args: dict[str, Any]) -> bool:
    return AuthorReply.objects.filter(
        pk=args["reply_id"],
        status=ModerationStatus.PUBLISHED,
        response__status=ModerationStatus.PUBLISHED,
        response__story__status=Story.Status.PUBLISHED,
    ).exists()
