"""A database outage during a request answers 503 with a clear page, never a bare 500.

The end-to-end versions (PostgreSQL really restarted, SQLite really locked) are in
tests/faults/; these check each path through the middleware in-process.
"""

from __future__ import annotations

import uuid
from typing import Any
from unittest import mock

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import InterfaceError, OperationalError
from django.test import Client
from django.urls import reverse

from carestory.stories.models import Story
from conftest import World

pytestmark = pytest.mark.django_db

TELL = reverse("stories:tell")


def _form(world: World) -> dict[str, Any]:
    return {
        "service": [world.ward.code],
        "idempotency_key": str(uuid.uuid4()),
        "title": "Kind nurses",
        "body": "The nurses on the ward were kind and explained everything.",
        "author_role": "patient",
        "screen_name": "Grateful patient",
        "email": "teller@example.org",
        "consent": "on",
    }


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_a_submission_the_database_refuses_is_503_not_saved_send_again(
    client: Client, world: World, error: type[Exception]
) -> None:
    data = _form(world)
    with mock.patch(
        "carestory.stories.views.story_submit", side_effect=error("server closed the connection")
    ):
        response = client.post(TELL, data)
    body = response.content.decode()
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "we could not save what you sent" in body
    assert "nothing you sent was saved" in body
    assert "send the form again" in body
    assert response["X-Request-Id"] in body  # the reference to quote
    assert "Traceback" not in body and "server closed" not in body
    assert Story.objects.count() == 0
    # Sending the same form again, once the database is back, saves the story once.
    assert client.post(TELL, data).status_code == 302
    assert client.post(TELL, data).status_code == 302
    assert Story.objects.count() == 1


def test_a_page_the_database_cannot_serve_is_503_try_again(client: Client, world: World) -> None:
    with mock.patch(
        "carestory.stories.views.stories_published_page", side_effect=OperationalError("down")
    ):
        response = client.get(reverse("stories:list"))
    body = response.content.decode()
    assert response.status_code == 503
    assert "not available right now" in body and "try again" in body
    assert "not saved" not in body.lower()


def test_the_api_gets_503_in_its_error_shape(client: Client, world: World) -> None:
    with mock.patch("carestory.api.api.stories_published", side_effect=OperationalError("down")):
        response = client.get("/api/v1/stories")
    assert response.status_code == 503
    assert "unavailable" in response.json()["detail"]


def test_the_session_failing_after_the_story_committed_does_not_say_nothing_was_saved(
    world: World,
) -> None:
    """The story commits in the view; the session is saved by a middleware afterwards."""
    client = Client(raise_request_exception=False)
    data = _form(world)
    with mock.patch.object(SessionStore, "save", side_effect=OperationalError("gone")):
        response = client.post(TELL, data)
    body = response.content.decode()
    assert response.status_code == 503
    assert "cannot be sure what you sent was saved" in body
    assert "nothing you sent was saved" not in body
    assert "send the form again" in body
    assert "Content-Security-Policy" in response
    assert Story.objects.count() == 1
    # The author does what the page says: the same form again is the same story.
    assert client.post(TELL, data).status_code == 302
    assert Story.objects.count() == 1


def test_other_errors_stay_500(world: World) -> None:
    client = Client(raise_request_exception=False)
    with mock.patch(
        "carestory.stories.views.stories_published_page", side_effect=ValueError("bug")
    ):
        response = client.get(reverse("stories:list"))
    assert response.status_code == 500
