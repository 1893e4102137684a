from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from carestory.audit.models import AuditEvent
from carestory.responses.models import ModerationStatus, Response
from carestory.responses.tests.helpers import respond_data
from conftest import World
from tests.factories import StoryFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("persona", ["responder", "admin"])
def test_responder_in_scope_responds(client: Client, world: World, persona: str) -> None:
    story = StoryFactory(published=True, services=[world.ward])
    user = getattr(world, persona)
    client.force_login(user)
    page = client.get(reverse("stories:detail", args=[story.public_id]))
    assert reverse("responses:respond", args=[story.public_id]) in page.content.decode()
    result = client.post(reverse("responses:respond", args=[story.public_id]), respond_data())
    assert result.status_code == 200
    response = Response.objects.get()
    assert response.status == ModerationStatus.EDITABLE
    assert response.responder == user and response.subscription == world.subscription
    assert response.responder_name == user.full_name
    assert AuditEvent.objects.filter(action="response.submit", actor=user).exists()


@pytest.mark.parametrize("persona", ["member", "other_responder", "reader", "author", "moderator"])
def test_others_get_404_and_nothing_changes(client: Client, world: World, persona: str) -> None:
    story = StoryFactory(published=True, services=[world.ward], author=world.author)
    client.force_login(getattr(world, persona))
    url = reverse("responses:respond", args=[story.public_id])
    assert client.get(url).status_code == 404
    assert client.post(url, respond_data()).status_code == 404
    assert Response.objects.count() == 0


def test_anonymous_is_sent_to_sign_in(client: Client, world: World) -> None:
    story = StoryFactory(published=True, services=[world.ward])
    result = client.get(reverse("responses:respond", args=[story.public_id]))
    assert result.status_code == 302 and "/staff/login/" in result["Location"]


@pytest.mark.parametrize("trait", ["unverified", "rejected", "withdrawn"])
def test_unpublished_stories_cannot_be_answered(client: Client, world: World, trait: str) -> None:
    story = StoryFactory(services=[world.ward], **{trait: True})
    client.force_login(world.responder)
    url = reverse("responses:respond", args=[story.public_id])
    assert client.get(url).status_code == 404
    assert client.post(url, respond_data()).status_code == 404


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"body": ""}, "Enter your response"),
        (
            {"change": "made", "change_description": ""},
            "Describe the change you are planning or have made",
        ),
        ({"change": "bogus"}, "Select a valid choice"),
        ({"body": "x" * 10_001}, "10,000 characters or fewer"),
        ({"idempotency_key": "123"}, "Enter a valid UUID"),
    ],
)
def test_bad_response_input(
    client: Client, world: World, overrides: dict[str, Any], message: str
) -> None:
    story = StoryFactory(published=True, services=[world.ward])
    client.force_login(world.responder)
    result = client.post(
        reverse("responses:respond", args=[story.public_id]), respond_data(**overrides)
    )
    assert result.status_code == 400
    assert message in result.content.decode()
    assert Response.objects.count() == 0


def test_change_claim_and_double_submit(client: Client, world: World) -> None:
    story = StoryFactory(published=True, services=[world.ward])
    client.force_login(world.responder)
    data = respond_data(change="planned", change_description="New signage by March")
    url = reverse("responses:respond", args=[story.public_id])
    client.post(url, data)
    client.post(url, data)
    response = Response.objects.get()
    assert response.change == "planned" and response.change_description == "New signage by March"


def test_frozen_member_cannot_respond(client: Client, world: World) -> None:
    story = StoryFactory(published=True, services=[world.ward])
    world.responder.memberships.update(is_active=False)
    client.force_login(world.responder)
    assert client.get(reverse("responses:respond", args=[story.public_id])).status_code == 404


def test_staff_dashboard_lists_stories_in_scope_only(client: Client, world: World) -> None:
    mine = StoryFactory(published=True, services=[world.ward], title="Mine in scope")
    StoryFactory(published=True, services=[world.other_ward], title="Other trust story")
    client.force_login(world.member)
    body = client.get(reverse("subscriptions:dashboard")).content.decode()
    assert mine.title in body
    assert "Other trust story" not in body
