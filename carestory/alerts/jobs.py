"""Outbox jobs for alerts: the staff alert fan-out when a story is published."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from carestory.alerts.services import alerts_story_published
from carestory.outbox.registry import register_job
from carestory.stories.models import Story


@register_job("alerts.story_published")
def story_published_job(payload: dict[str, Any]) -> None:
    story = Story.objects.filter(pk=payload["story_id"], status=Story.Status.PUBLISHED).first()
    if story is None:
        return
    with transaction.atomic():
        alerts_story_published(story=story)
