"""Outbox jobs for responses, and the send-time guards of the emails about a published response
or reply: a queued email is dropped if what it announces is no longer public."""

from __future__ import annotations

from typing import Any

from carestory.outbox.registry import register_guard, register_job, register_periodic
from carestory.responses.models import AuthorReply, ModerationStatus, Response
from carestory.responses.services import RELEASE_JOB, response_release, responses_release_due
from carestory.stories.models import Story


@register_job(RELEASE_JOB)
def release_job(payload: dict[str, Any]) -> None:
    """Due at the response's ``editable_until``; does nothing if it was released or deleted
    already, or (a clock running early) if its window has not ended: the periodic
    ``release_responses`` command then picks it up."""
    response_release(response_id=int(payload["response_id"]))


@register_periodic("responses.release_due", every_seconds=60)
def release_due() -> int:
    """Safety net for the release job (also `manage.py release_responses`)."""
    return responses_release_due()


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


@register_guard("response_still_there")
def response_still_there(args: dict[str, Any]) -> bool:
    """The email to a member that a response was posted in their name: dropped if the
    administrator deleted it in its window, it was not published, or the story went."""
    return (
        Response.objects.filter(pk=args["response_id"], story__status=Story.Status.PUBLISHED)
        .exclude(status=ModerationStatus.REJECTED)
        .exists()
    )
