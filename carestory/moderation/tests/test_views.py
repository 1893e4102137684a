from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from carestory.responses.models import ModerationStatus
from carestory.stories.models import Story
from conftest import World
from tests.factories import ReplyFactory, ResponseFactory, StoryFactory

from .test_workbench import form_data

pytestmark = pytest.mark.django_db


def moderation_data(story: Story, **overrides: Any) -> dict[str, Any]:
    """The workbench form, pressing Publish unless ``overrides`` say otherwise."""
    return form_data(story, **({"action": "publish"} | overrides))


@pytest.mark.parametrize("persona", ["author", "responder", "admin", "member", "reader"])
def test_non_moderators_get_404(client: Client, world: World, persona: str) -> None:
    story = StoryFactory(services=[world.ward])
    client.force_login(getattr(world, persona))
    assert client.get(reverse("moderation:queue")).status_code == 404
    url = reverse("moderation:story", args=[story.public_id])
    assert client.get(url).status_code == 404
    assert client.post(url, moderation_data(story)).status_code == 404
    story.refresh_from_db()
    assert story.status == Story.Status.IN_MODERATION


def test_anonymous_is_sent_to_sign_in(client: Client) -> None:
    response = client.get(reverse("moderation:queue"))
    assert response.status_code == 302 and "/staff/login/" in response["Location"]


def test_queue_lists_waiting_items_oldest_first(client: Client, world: World) -> None:
    first = StoryFactory(services=[world.ward], original_title="First in")
    second = StoryFactory(services=[world.ward], original_title="Second in")
    StoryFactory(services=[world.ward], unverified=True, original_title="Not confirmed")
    response = ResponseFactory(
        story=StoryFactory(published=True, services=[world.ward]), subscription=world.subscription
    )
    reply = ReplyFactory()
    client.force_login(world.moderator)
    body = client.get(reverse("moderation:queue")).content.decode()
    assert body.index(first.original_title) < body.index(second.original_title)
    assert "Not confirmed" not in body
    assert reverse("moderation:response", args=[response.pk]) in body
    assert reverse("moderation:reply", args=[reply.pk]) in body


def test_moderator_sees_original_and_publishes(client: Client, world: World) -> None:
    story = StoryFactory(services=[world.ward], original_body="My nurse Jane Smith was lovely")
    client.force_login(world.moderator)
    url = reverse("moderation:story", args=[story.public_id])
    assert "Jane Smith" in client.get(url).content.decode()
    response = client.post(url, moderation_data(story, body="My nurse was lovely"))
    assert response.status_code == 302
    story.refresh_from_db()
    assert story.status == Story.Status.PUBLISHED and story.body == "My nurse was lovely"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"criticality": ""}, "Rate the story&#x27;s criticality before publishing"),
        ({"service_codes": "NOPE"}, "No service has the code NOPE"),
        ({"title": ""}, "Enter the public title"),
        ({"action": "reject", "reason": "", "message": "x"}, "Choose a reason for not publishing"),
        (
            {"action": "reject", "reason": "duplicate", "message": ""},
            "Write a message to the author",
        ),
        ({"criticality": "9"}, "Select a valid choice"),
    ],
)
def test_bad_moderation_input_changes_nothing(
    client: Client, world: World, overrides: dict[str, Any], message: str
) -> None:
    story = StoryFactory(services=[world.ward])
    client.force_login(world.moderator)
    response = client.post(
        reverse("moderation:story", args=[story.public_id]), moderation_data(story, **overrides)
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    story.refresh_from_db()
    assert (story.status, story.version) == (Story.Status.IN_MODERATION, 1)


def test_stale_version_shows_conflict_and_keeps_typed_text(client: Client, world: World) -> None:
    story = StoryFactory(services=[world.ward])
    client.force_login(world.moderator)
    url = reverse("moderation:story", args=[story.public_id])
    client.post(url, moderation_data(story, action="save", title="Saved by A"))
    response = client.post(url, moderation_data(story, title="Typed by B"))  # still version 1
    assert response.status_code == 409
    body = response.content.decode()
    assert "Someone else changed this story" in body
    assert "Typed by B" in body
    story.refresh_from_db()
    assert story.title == "Saved by A" and story.status == Story.Status.IN_MODERATION


def test_response_moderation_publish(client: Client, world: World) -> None:
    response = ResponseFactory(
        story=StoryFactory(published=True, services=[world.ward]), subscription=world.subscription
    )
    client.force_login(world.moderator)
    url = reverse("moderation:response", args=[response.pk])
    result = client.post(url, {"version": "1", "body": "Edited response", "action": "publish"})
    assert result.status_code == 302
    response.refresh_from_db()
    assert response.status == ModerationStatus.PUBLISHED and response.body == "Edited response"
    again = client.post(url, {"version": "1", "body": "x", "action": "reject", "reason": "no"})
    assert again.status_code == 409


def test_reply_rejection_needs_a_reason(client: Client, world: World) -> None:
    reply = ReplyFactory()
    client.force_login(world.moderator)
    url = reverse("moderation:reply", args=[reply.pk])
    result = client.post(
        url, {"version": "1", "body": reply.body, "action": "reject", "reason": ""}
    )
    assert result.status_code == 400
    assert "Explain to the author why it was not published" in result.content.decode()
    reply.refresh_from_db()
    assert reply.status == ModerationStatus.IN_MODERATION
