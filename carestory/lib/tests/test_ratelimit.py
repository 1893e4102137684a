"""Rate limits per client on the API, suggestions, guidance, story submissions and sign-in
links: 429 with Retry-After and a clear message, per client, sliding, failing open."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.fixtures import Settings

from carestory.accounts.models import RateLimitBucket
from carestory.lib.ratelimit import RateLimit, _wait, rate_limit_hit, rate_limit_purge
from carestory.stories.models import Story
from carestory.stories.tests.test_views import form_data
from conftest import World

pytestmark = pytest.mark.django_db

TELL = reverse("stories:tell")


def test_the_api_answers_429_with_retry_after(client: Client, settings: Settings) -> None:
    settings.RATE_LIMIT_API_PER_MINUTE = 3
    for _ in range(3):
        assert client.get("/api/v1/stories").status_code == 200
    refused = client.get("/api/v1/stories")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 120
    assert "Too many requests" in refused.json()["detail"]
    # Another client is not affected.
    assert Client(REMOTE_ADDR="198.51.100.7").get("/api/v1/stories").status_code == 200


def test_suggestions_are_limited(client: Client, settings: Settings, world: World) -> None:
    settings.RATE_LIMIT_SUGGEST_PER_MINUTE = 2
    for _ in range(2):
        assert client.get("/services/suggest", {"q": "ward"}).status_code == 200
    refused = client.get("/services/suggest", {"q": "ward"})
    assert refused.status_code == 429
    assert refused["Retry-After"]
    assert "Too many requests" in refused.json()["error"]


def test_guidance_is_limited(client: Client, settings: Settings) -> None:
    settings.RATE_LIMIT_GUIDANCE_PER_MINUTE = 2
    url = reverse("automod:guidance")
    for _ in range(2):
        assert client.post(url, {"title": "t", "body": "b"}).status_code == 200
    refused = client.post(url, {"title": "t", "body": "b"})
    assert refused.status_code == 429
    assert "error" in refused.json()


def test_story_submissions_are_limited_and_keep_what_was_typed(
    client: Client, settings: Settings, world: World
) -> None:
    settings.RATE_LIMIT_STORIES_PER_HOUR = 2
    for _ in range(3):  # a form with a mistake is not counted
        assert client.post(TELL, form_data(world) | {"consent": ""}).status_code == 400
    for _ in range(2):
        assert client.post(TELL, form_data(world)).status_code == 302
    form = form_data(world) | {"title": "A third story"}
    refused = client.post(TELL, form)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    body = refused.content.decode()
    assert "Too many requests" in body and "kept" in body
    assert Story.objects.count() == 2
    # What they typed comes back in the form.
    again = client.get(TELL, {"service": world.ward.code})
    assert "A third story" in again.content.decode()
    # The limit slides: two hours later, stories go through again.
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert client.post(TELL, form_data(world)).status_code == 302


def test_sign_in_link_requests_are_limited(client: Client, settings: Settings) -> None:
    settings.RATE_LIMIT_SIGN_IN_LINKS_PER_HOUR = 2
    url = reverse("accounts:sign_in")
    for i in range(2):
        assert client.post(url, {"email": f"someone{i}@example.org"}).status_code == 200
    refused = client.post(url, {"email": "someone.else@example.org"})
    assert refused.status_code == 429
    assert "Too many requests" in refused.content.decode()
    assert client.get(url).status_code == 200  # reading the page is not counted


def test_a_broken_limiter_lets_stories_through(
    client: Client, settings: Settings, world: World
) -> None:
    settings.RATE_LIMIT_STORIES_PER_HOUR = 1
    with connection.cursor() as cursor:  # rolled back with the test
        cursor.execute("DROP TABLE accounts_ratelimitbucket")
    for _ in range(3):
        assert client.post(TELL, form_data(world)).status_code == 302
    assert Story.objects.count() == 3


def test_zero_means_no_limit(settings: Settings) -> None:
    settings.RATE_LIMIT_TEST_PER_MINUTE = 0
    limit = RateLimit("test", "RATE_LIMIT_TEST_PER_MINUTE", 60)
    assert all(rate_limit_hit(limit=limit, client="c").allowed for _ in range(50))
    assert not RateLimitBucket.objects.exists()


def test_the_window_slides(settings: Settings) -> None:
    """A burst at the end of one window still counts early in the next."""
    settings.RATE_LIMIT_TEST_PER_MINUTE = 10
    limit = RateLimit("test", "RATE_LIMIT_TEST_PER_MINUTE", 60)
    start = (int(timezone.now().timestamp()) // 60 + 1) * 60
    with time_machine.travel(start + 55, tick=False):
        assert all(rate_limit_hit(limit=limit, client="c").allowed for _ in range(10))
    with time_machine.travel(start + 70, tick=False):  # 5/6 of the burst still counts: 8.3
        results = [rate_limit_hit(limit=limit, client="c").allowed for _ in range(3)]
    assert results == [True, False, False]
    with time_machine.travel(start + 119, tick=False):
        assert rate_limit_hit(limit=limit, client="c").allowed


def test_retry_after_is_when_one_more_request_fits() -> None:
    # Over the limit in this window: wait for the next one and for enough of this to slide out.
    assert _wait(limit=10, window=60, elapsed=30, current=11, previous=0) == pytest.approx(
        30 + 60 * (1 - 9 / 11)
    )
    # Under the limit in this window but the previous one still weighs.
    assert _wait(limit=10, window=60, elapsed=6, current=2, previous=10) == pytest.approx(
        60 * (1 - 7 / 10) - 6
    )


def test_expired_buckets_are_purged(settings: Settings) -> None:
    settings.RATE_LIMIT_TEST_PER_MINUTE = 5
    limit = RateLimit("test", "RATE_LIMIT_TEST_PER_MINUTE", 60)
    rate_limit_hit(limit=limit, client="c")
    assert rate_limit_purge() == 0
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        assert rate_limit_purge() == 1
    assert not RateLimitBucket.objects.exists()
