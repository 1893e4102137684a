"""Staff respond to published stories; authors reply to responses. Both are moderated."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from carestory.accounts.models import User
from carestory.audit.services import audit_record
from carestory.lib.text import normalise_text
from carestory.responses.models import AuthorReply, ModerationStatus, Response
from carestory.stories.models import Story
from carestory.subscriptions.selectors import membership_covering

MAX_RESPONSE_CHARS = 10_000


class NotAllowed(Exception):
    """The user may not do this here; views answer 404 so nothing is revealed."""


def _clean_body(body: str, *, what: str) -> str:
    body = normalise_text(body)
    if not body:
        raise ValidationError(_("Enter your %(what)s") % {"what": what})
    if len(body) > MAX_RESPONSE_CHARS:
        raise ValidationError(
            _("Your %(what)s is too long: keep it under %(limit)s characters")
            % {"what": what, "limit": MAX_RESPONSE_CHARS}
        )
    return body


def response_post(
    *,
    story: Story,
    responder: User,
    body: str,
    change: str,
    change_description: str,
    idempotency_key: uuid.UUID,
) -> Response:
    """A responder in scope answers a published story; the response goes to moderation."""
    if story.status != Story.Status.PUBLISHED:
        raise NotAllowed()
    membership = membership_covering(
        user=responder, services=story.services.all(), responders_only=True
    )
    if membership is None:
        raise NotAllowed()
    body = _clean_body(body, what=_("response"))
    if change not in Response.Change.values:
        raise ValidationError(_("Choose whether your response describes a change"))
    change_description = normalise_text(change_description)
    if change != Response.Change.NONE and not change_description:
        raise ValidationError(_("Describe the change you are planning or have made"))
    existing = Response.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None and existing.responder_id == responder.pk:
        return existing
    try:
        with transaction.atomic():
            response = Response.objects.create(
                story=story,
                responder=responder,
                subscription=membership.subscription,
                responder_name=responder.full_name or _("A member of staff"),
                responder_job_title=responder.job_title,
                original_body=body,
                body=body,
                change=change,
                change_description=change_description if change != Response.Change.NONE else "",
                idempotency_key=idempotency_key,
            )
            audit_record(
                actor=responder,
                action="response.submit",
                obj=response,
                changes={"story": story.public_id, "change": change},
            )
    except IntegrityError:
        existing = Response.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None or existing.responder_id != responder.pk:
            raise
        return existing
    return response


def reply_post(
    *, response: Response, author: User, body: str, idempotency_key: uuid.UUID
) -> AuthorReply:
    """The story's author replies to a published response; the reply goes to moderation."""
    story = response.story
    if (
        story.author_id != author.pk
        or story.status != Story.Status.PUBLISHED
        or response.status != ModerationStatus.PUBLISHED
    ):
        raise NotAllowed()
    body = _clean_body(body, what=_("reply"))
    existing = AuthorReply.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None and existing.author_id == author.pk:
        return existing
    try:
        with transaction.atomic():
            reply = AuthorReply.objects.create(
                response=response,
                author=author,
                original_body=body,
                body=body,
                idempotency_key=idempotency_key,
            )
    except IntegrityError:
        existing = AuthorReply.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None or existing.author_id != author.pk:
            raise
        return existing
    return reply
