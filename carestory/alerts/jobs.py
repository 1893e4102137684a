"""Outbox jobs for alerts: the fan-outs when a story, a response or an author's reply is
published, the periodic digests, and the digest's send-time refresh."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from carestory.alerts.digests import DIGEST_REFRESH, alerts_digests_send, digest_context
from carestory.alerts.services import (
    alerts_reply_published,
    alerts_response_published,
    alerts_story_published,
)
from carestory.outbox.registry import register_job, register_periodic, register_refresh
from carestory.responses.models import AuthorReply, ModerationStatus, Response
from carestory.stories.models import Story


@register_job("alerts.story_published")
def story_published_job(payload: dict[str, Any]) -> None:
    story = Story.objects.filter(pk=payload["story_id"], status=Story.Status.PUBLISHED).first()
    if story is None:
        return
    with transaction.atomic():
        alerts_story_published(story=story)


@register_job("alerts.response_published")
def response_published_job(payload: dict[str, Any]) -> None:
    response = (
        Response.objects.filter(
            pk=payload["response_id"],
            status=ModerationStatus.PUBLISHED,
            story__status=Story.Status.PUBLISHED,
        )
        .select_related("story", "subscription")
        .first()
    )
    if response is None:
        return
    with transaction.atomic():
        alerts_response_published(response=response)


@register_job("alerts.reply_published")
def reply_published_job(payload: dict[str, Any]) -> None:
    reply = (
        AuthorReply.objects.filter(
            pk=payload["reply_id"],
            status=ModerationStatus.PUBLISHED,
            response__status=ModerationStatus.PUBLISHED,
            response__story__status=Story.Status.PUBLISHED,
        )
        .select_related("response__story", "response__subscription")
        .first()
    )
    if reply is None:
        return
    with transaction.atomic():
        alerts_reply_published(reply=reply)


@register_periodic("alerts.digests", every_seconds=900)
def digests() -> int:
    """Daily and weekly digests (also `manage.py send_digests`, for cron)."""
    return alerts_digests_send()


register_refresh(DIGEST_REFRESH)(digest_context)
