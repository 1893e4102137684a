"""Findings of the security review: a withdrawn story's responses, a revoked responder, a reused
form. Each test failed before its fix."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from carestory.lib.errors import NotAllowed
from carestory.responses.models import ModerationStatus, Response
from carestory.responses.moderation import response_publish
from carestory.responses.services import (
    reply_post,
    response_post,
    response_release,
)
from carestory.responses.tests.helpers import edit_text
from carestory.stories.models import Story
from carestory.stories.services import story_withdraw
from carestory.subscriptions.models import Membership
from conftest import World
from tests.factories import StoryFactory

pytestmark = pytest.mark.django_db


def _story(world: World) -> Story:
    story: Story = StoryFactory(published=True, services=[world.ward], author=world.author)
    return story


def _response(
    world: World, story: Story, key: uuid.UUID | None = None, body: str = "Thank you."
) -> Response:
    return response_post(
        story=story,
        responder=world.responder,
        body=body,
        change="none",
        change_description="",
        idempotency_key=key or uuid.uuid4(),
    )


def _in_moderation(response: Response) -> Response:
    Response.objects.filter(pk=response.pk).update(status=ModerationStatus.IN_MODERATION)
    response.refresh_from_db()
    return response


def test_a_response_to_a_withdrawn_story_cannot_be_seen_or_published_by_moderators(
    world: World,
) -> None:
    story = _story(world)
    response = _in_moderation(_response(world, story))
    story_withdraw(story=story, author=world.author)
    moderator = Client()
    moderator.force_login(world.moderator)
    url = reverse("moderation:response", args=[response.pk])
    assert moderator.get(url).status_code == 404
    posted = moderator.post(url, {"version": response.version, "body": "Published anyway"})
    assert posted.status_code == 404
    response.refresh_from_db()
    assert response.status == ModerationStatus.IN_MODERATION
    with pytest.raises(NotAllowed):
        response_publish(
            response=response, moderator=world.moderator, version=response.version, body="x"
        )
    assert Response.objects.get(pk=response.pk).status == ModerationStatus.IN_MODERATION


def test_a_revoked_responder_can_no_longer_edit_or_be_fast_tracked(world: World) -> None:
    story = _story(world)
    response = _response(world, story)
    Membership.objects.filter(user=world.responder).update(is_active=False)
    with pytest.raises(NotAllowed):
        edit_text(response, "Changed after revocation")
    # At the end of the window it goes to a moderator, never straight out.
    status = response_release(response_id=response.pk, now=timezone.now() + timedelta(hours=1))
    assert status == ModerationStatus.IN_MODERATION


def test_a_reused_response_form_gets_a_message_not_an_error(world: World) -> None:
    key = uuid.uuid4()
    first = _story(world)
    second = _story(world)
    _response(world, first, key, "One")
    with pytest.raises(ValidationError, match="already used"):
        _response(world, second, key, "Two")
    assert Response.objects.count() == 1


def test_a_reused_response_form_through_the_page_answers_400(world: World) -> None:
    key = uuid.uuid4()
    first, second = _story(world), _story(world)
    _response(world, first, key, "One")
    client = Client()
    client.force_login(world.responder)
    page = client.post(
        reverse("responses:respond", args=[second.public_id]),
        {"body": "Two", "change": "none", "idempotency_key": str(key)},
    )
    assert page.status_code == 400
    assert "already used" in page.content.decode()
    assert Response.objects.count() == 1


def test_a_reused_reply_form_gets_a_message_not_an_error(world: World) -> None:
    story = _story(world)
    one = _response(world, story)
    two = _response(world, story)
    Response.objects.filter(pk__in=[one.pk, two.pk]).update(
        status=ModerationStatus.PUBLISHED, published_at=timezone.now()
    )
    one.refresh_from_db()
    two.refresh_from_db()
    key = uuid.uuid4()
    reply_post(response=one, author=world.author, body="Thanks", idempotency_key=key)
    with pytest.raises(ValidationError, match="already used"):
        reply_post(response=two, author=world.author, body="Thanks again", idempotency_key=key)
