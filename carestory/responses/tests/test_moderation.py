"""The moderators' decisions on staff responses and author replies (responses/moderation.py)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from carestory.audit.models import AuditEvent
from carestory.lib.errors import ConflictError
from carestory.outbox.services import outbox_drain
from carestory.outbox.testing import SmtpSink
from carestory.responses.models import ModerationStatus
from carestory.responses.moderation import (
    reply_publish,
    reply_reject,
    response_publish,
    response_reject,
)
from conftest import World
from tests.factories import ReplyFactory, ResponseFactory, StoryFactory

pytestmark = pytest.mark.django_db


def test_response_publish_emails_author_and_reject_emails_responder(
    world: World, smtp_sink: SmtpSink
) -> None:
    story = StoryFactory(author=world.author, published=True, services=[world.ward])
    good = ResponseFactory(story=story, responder=world.responder, subscription=world.subscription)
    bad = ResponseFactory(story=story, responder=world.responder, subscription=world.subscription)
    response_publish(response=good, moderator=world.moderator, version=1, body="Thank you.")
    response_reject(
        response=bad, moderator=world.moderator, version=1, reason="Please describe the change."
    )
    outbox_drain()
    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.status == ModerationStatus.PUBLISHED and good.body == "Thank you."
    assert good.original_body == "Thank you for your story."
    assert bad.status == ModerationStatus.REJECTED
    [to_author] = smtp_sink.find(to=world.author.email)
    assert f"/stories/{story.public_id}/#response-{good.pk}" in to_author.text
    [to_responder] = smtp_sink.find(to=world.responder.email)
    assert "Please describe the change." in to_responder.text
    assert (
        AuditEvent.objects.filter(action__in=["response.publish", "response.reject"]).count() == 2
    )


def test_reply_publish_and_reject(world: World, smtp_sink: SmtpSink) -> None:
    story = StoryFactory(author=world.author, published=True, services=[world.ward])
    response = ResponseFactory(
        story=story, published=True, responder=world.responder, subscription=world.subscription
    )
    kept = ReplyFactory(response=response)
    dropped = ReplyFactory(response=response)
    reply_publish(reply=kept, moderator=world.moderator, version=1, body=kept.body)
    reply_reject(reply=dropped, moderator=world.moderator, version=1, reason="It names a nurse.")
    with pytest.raises(ConflictError):
        reply_publish(reply=dropped, moderator=world.moderator, version=2, body="x")
    outbox_drain()
    assert smtp_sink.find(to=world.responder.email, subject_contains="replied")
    [rejection] = smtp_sink.find(to=world.author.email)
    assert "It names a nurse." in rejection.text
    assert AuditEvent.objects.filter(object_type="authorreply").count() == 2


def test_empty_rejection_reason_for_response_is_refused(world: World) -> None:
    response = ResponseFactory(story=StoryFactory(published=True, services=[world.ward]))
    with pytest.raises(ValidationError):
        response_reject(response=response, moderator=world.moderator, version=1, reason="  ")
    response.refresh_from_db()
    assert response.status == ModerationStatus.IN_MODERATION
