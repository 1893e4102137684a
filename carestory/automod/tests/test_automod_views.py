"""The author's writing-guidance endpoint."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from carestory.automod import views
from conftest import World

URL = "/tell-your-story/guidance"


def test_url_name() -> None:
    assert reverse("automod:guidance") == URL


def test_guidance_returns_messages_without_the_words_found(client: Client) -> None:
    response = client.post(
        URL, {"title": "Thanks", "body": "Email me on lee.w@example.com or 07700 900 321."}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    data = response.json()
    assert set(data) == {"messages"}
    assert [m["label"] for m in data["messages"]] == ["EMAIL", "PHONE"]
    for message in data["messages"]:
        assert set(message) == {"kind", "label", "count", "text"}
    assert "lee.w" not in response.content.decode() and "07700" not in response.content.decode()


def test_guidance_signposts_help_when_someone_may_be_at_risk(client: Client) -> None:
    data = client.post(
        URL, {"title": "", "body": "I have a plan and the tablets are here. I want to die."}
    ).json()
    first = data["messages"][0]
    assert first["kind"] == "support" and first["label"] == "SAFEGUARDING"
    for number in ("999", "111", "116 123"):
        assert number in first["text"]


def test_guidance_is_empty_for_an_empty_story(client: Client) -> None:
    assert client.post(URL, {"title": " ", "body": ""}).json() == {"messages": []}


@pytest.mark.django_db
def test_guidance_needs_a_csrf_token(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post(URL, {"title": "x", "body": "y"}).status_code == 403
    # With the token the story form carries, it works.
    client.get(reverse("stories:tell"), {"service": world.ward.code})
    token = client.cookies["csrftoken"].value
    response = client.post(URL, {"title": "x", "body": "y"}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200


def test_guidance_only_answers_post(client: Client) -> None:
    assert client.get(URL).status_code == 405


def test_guidance_refuses_oversized_stories(client: Client) -> None:
    limit = settings.STORY_MAX_CHARACTERS
    response = client.post(URL, {"title": "x", "body": "word " * (limit // 5 + 1)})
    assert response.status_code == 400
    assert "error" in response.json()
    # The longest story the form may send is checked, however it is written.
    assert client.post(URL, {"title": "x", "body": "\u00e9" * limit}).status_code == 200
    too_big = "a" * (views._max_request_bytes() + 1)
    assert client.post(URL, {"title": "x", "body": too_big}).status_code == 400
    assert (
        client.post(URL, {"title": "t" * (views.MAX_TITLE_CHARS + 1), "body": "x"}).status_code
        == 400
    )


def test_guidance_does_not_log_the_story(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        client.post(
            URL, {"title": "x", "body": "My NHS number is 943 476 5919, email sam@example.org"}
        )
    assert "943 476 5919" not in caplog.text and "sam@example.org" not in caplog.text


@pytest.mark.django_db
def test_tell_your_story_page_has_the_live_region_and_script(client: Client, world: World) -> None:
    response = client.get(reverse("stories:tell"), {"service": world.ward.code})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="story-guidance"' in page and 'aria-live="polite"' in page
    assert 'data-url="/tell-your-story/guidance"' in page
    assert '<script type="module" src="/static/js/story-guidance.js"></script>' in page
