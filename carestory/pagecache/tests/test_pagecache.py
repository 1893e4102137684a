"""The public page cache: what it stores, whom it serves, and when it lets go."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from carestory.audit.models import AuditEvent
from carestory.outbox.models import OutboxMessage
from carestory.pagecache.invalidation import (
    PRIVATE_TABLES,
    bump,
    current_generation,
    public_write,
)
from carestory.stories.models import Story
from conftest import World
from tests.factories import StoryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def page_cache(settings: Any) -> None:
    settings.PAGE_CACHE_SECONDS = 60
    caches["pages"].clear()


# Which statements invalidate ---------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        'INSERT INTO "stories_story" ("title") VALUES (%s)',
        'UPDATE "stories_story" SET "status" = %s WHERE "id" = %s',
        'DELETE FROM "responses_response" WHERE "id" IN (%s)',
        "  update services_service set name = 'x'",
        "INSERT OR IGNORE INTO stories_storytag VALUES (1, 2)",
        'INSERT INTO "some_future_table" ("x") VALUES (1)',
        "WITH moved AS (SELECT id FROM x) UPDATE stories_story SET status = 'w'",
        'TRUNCATE "stories_story"',
    ],
)
def test_writes_to_public_or_unknown_tables_invalidate(sql: str) -> None:
    assert public_write(sql) is not None


@pytest.mark.parametrize(
    "sql",
    [
        'SELECT "stories_story"."id" FROM "stories_story"',
        "WITH x AS (SELECT 1) SELECT * FROM x",
        'UPDATE "django_session" SET "session_data" = %s',
        'INSERT INTO "outbox_outboxmessage" ("kind") VALUES (%s)',
        'INSERT INTO "audit_auditevent" ("action") VALUES (%s)',
        "INSERT INTO accounts_ratelimitbucket (key, hits) VALUES (%s, 1) ON CONFLICT DO UPDATE",
        'UPDATE "pagecache_pagegeneration" SET "value" = "value" + 1',
    ],
)
def test_reads_and_private_tables_do_not(sql: str) -> None:
    assert public_write(sql) is None


def test_every_private_table_exists() -> None:
    """A misspelt name would silently make a table public (harmless) or, worse, hide a
    rename: the list must name real tables."""
    tables = set(connection.introspection.table_names())
    assert PRIVATE_TABLES - {"django_migrations"} <= tables


def test_a_committed_write_bumps_once_a_private_or_rolled_back_one_not(
    django_capture_on_commit_callbacks: Any,
) -> None:
    bump()
    start = current_generation()
    story = StoryFactory(published=True)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        Story.objects.filter(pk=story.pk).update(title="One")
        Story.objects.filter(pk=story.pk).update(title="Two")
    assert current_generation() == start + 1
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        # Private tables, rows really written (an INSERT always counts as a change).
        Session.objects.create(session_key="p" * 32, session_data="", expire_date=timezone.now())
        OutboxMessage.objects.filter(pk=-1).update(attempts=3)
    assert current_generation() == start + 1
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                Story.objects.filter(pk=story.pk).update(title="Three")
                raise RuntimeError
        except RuntimeError:
            pass
    assert current_generation() == start + 1


@pytest.mark.django_db(transaction=True)
def test_real_commits_bump_the_generation_after_commit() -> None:
    before = current_generation()
    story = StoryFactory(published=True)  # autocommit: bumped at once
    after_insert = current_generation()
    assert after_insert > before
    with transaction.atomic():
        Story.objects.filter(pk=story.pk).update(title="Changed")
        assert current_generation() == after_insert  # not before the commit
    assert current_generation() == after_insert + 1


def test_bump_never_raises() -> None:
    with mock.patch(
        "carestory.pagecache.models.PageGeneration.objects.using", side_effect=DatabaseError
    ):
        bump()


# What the middleware serves ------------------------------------------------------------------


def test_second_anonymous_look_is_served_from_memory_with_one_query(
    page_cache: None, django_assert_num_queries: Any
) -> None:
    StoryFactory(published=True, title="A remembered story")
    client = Client()
    first = client.get("/")
    assert first.headers["X-Page-Cache"] == "miss"
    with django_assert_num_queries(1):  # the generation
        second = client.get("/")
    assert second.headers["X-Page-Cache"] == "hit"
    assert second.content == first.content
    assert second.headers["Content-Type"] == first.headers["Content-Type"]
    assert second.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]
    assert "Set-Cookie" not in second.headers


def test_a_publication_is_seen_at_once(
    page_cache: None, django_capture_on_commit_callbacks: Any
) -> None:
    client = Client()
    assert "Brand new" not in client.get("/stories/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        StoryFactory(published=True, title="Brand new")
    got = client.get("/stories/")
    assert got.headers["X-Page-Cache"] == "miss"
    assert "Brand new" in got.content.decode()


def test_signed_in_visitors_are_never_served_or_stored(page_cache: None, world: World) -> None:
    anonymous = Client()
    anonymous.get("/")
    signed_in = Client()
    signed_in.force_login(world.responder)
    page = signed_in.get("/")
    assert "X-Page-Cache" not in page.headers
    assert "Sign out" in page.content.decode()
    again = anonymous.get("/")
    assert again.headers["X-Page-Cache"] == "hit"
    assert "Sign out" not in again.content.decode()
    # Nor is a signed-in visitor's page stored for the anonymous.
    caches["pages"].clear()
    signed_in.get("/stories/")
    assert "Sign out" not in anonymous.get("/stories/").content.decode()


def test_a_visitor_with_a_message_waiting_is_not_served_from_memory(page_cache: None) -> None:
    client = Client()
    client.get("/")
    client.cookies["messages"] = "anything"
    assert "X-Page-Cache" not in client.get("/").headers


def test_pages_that_are_not_public_are_never_stored(page_cache: None) -> None:
    client = Client()
    for _ in range(2):
        got = client.get("/tell-your-story/")
        assert "X-Page-Cache" not in got.headers
    for _ in range(2):
        missing = client.get("/stories/no-such-story/")
        assert missing.status_code == 404
        assert "X-Page-Cache" not in missing.headers


def test_language_host_and_query_are_part_of_the_key(page_cache: None, settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["testserver", "other.example"]
    client = Client()
    assert client.get("/stories/").headers["X-Page-Cache"] == "miss"
    assert client.get("/stories/?after=zz").headers.get("X-Page-Cache") != "hit"
    welsh = client.get("/stories/", headers={"accept-language": "cy"})
    assert welsh.headers["X-Page-Cache"] == "miss"
    assert welsh.headers["Content-Language"] == "cy"
    assert client.get("/stories/", HTTP_HOST="other.example").headers["X-Page-Cache"] == "miss"
    assert client.get("/stories/").headers["X-Page-Cache"] == "hit"


def test_a_cached_answer_still_counts_against_the_rate_limit(
    page_cache: None, settings: Any
) -> None:
    settings.RATE_LIMIT_API_PER_MINUTE = 3
    client = Client()
    statuses = [client.get("/api/v1/stories").status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]


def test_api_answers_are_cached(page_cache: None) -> None:
    story = StoryFactory(published=True)
    client = Client()
    for url in ("/api/v1/stories", f"/api/v1/stories/{story.public_id}"):
        assert client.get(url).headers["X-Page-Cache"] == "miss"
        hit = client.get(url)
        assert hit.headers["X-Page-Cache"] == "hit"
        assert hit.json()


def test_when_the_generation_cannot_be_read_the_page_is_rendered(page_cache: None) -> None:
    with mock.patch("carestory.pagecache.middleware.current_generation", side_effect=DatabaseError):
        got = Client().get("/")
    assert got.status_code == 200
    assert "X-Page-Cache" not in got.headers


def test_off_when_seconds_is_zero(settings: Any) -> None:
    settings.PAGE_CACHE_SECONDS = 0
    assert "X-Page-Cache" not in Client().get("/").headers


def test_a_write_that_changes_no_row_does_not_bump(
    django_capture_on_commit_callbacks: Any,
) -> None:
    bump()
    start = current_generation()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        Story.objects.filter(pk=-1).update(title="Nobody")  # the worker's idle periodic jobs
    assert current_generation() == start


def test_recounting_bumps_only_when_a_number_changed(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    from carestory.stories.services import story_counts_store

    StoryFactory(published=True, services=[world.ward])
    with django_capture_on_commit_callbacks(execute=True):
        story_counts_store(service=world.trust)
    start = current_generation()
    with django_capture_on_commit_callbacks(execute=True):
        story_counts_store(service=world.trust)  # the same numbers, a new counted_at
    assert current_generation() == start
    StoryFactory(published=True, services=[world.ward])
    start = current_generation()
    with django_capture_on_commit_callbacks(execute=True):
        story_counts_store(service=world.trust)
    assert current_generation() == start + 1


def test_searches_are_never_cached(page_cache: None) -> None:
    """A hit would tell the next visitor that someone searched for that postcode."""
    client = Client()
    for url in ("/services/?q=TS18+1HU", "/services/suggest?q=shef", "/api/v1/services?q=TS18"):
        for _ in range(2):
            assert "X-Page-Cache" not in client.get(url).headers, url


@pytest.mark.parametrize("url", ["/", "/stories/", "/stories/feed.atom", "/statistics/moderation/"])
def test_every_public_list_is_cached(page_cache: None, url: str) -> None:
    client = Client()
    assert client.get(url).headers["X-Page-Cache"] == "miss", url
    assert client.get(url).headers["X-Page-Cache"] == "hit", url


def test_an_update_of_private_columns_only_does_not_bump(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    from carestory.moderation.services.claims import story_claim

    pending = StoryFactory()
    bump()
    start = current_generation()
    with django_capture_on_commit_callbacks(execute=True):
        story_claim(story=pending, moderator=world.moderator)  # claimed_by, claimed_until
    with django_capture_on_commit_callbacks(execute=True):
        Client().force_login(world.reader)  # last_login
    assert current_generation() == start
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        Story.objects.filter(pk=pending.pk).update(claimed_until=None, title="Public now")
    assert current_generation() == start + 1


def test_no_entry_is_bigger_than_the_budget_however_many_junk_queries(
    page_cache: None, world: World
) -> None:
    import random

    from carestory.pagecache.middleware import STORED_MAX_BYTES

    rng = random.Random(8)
    words = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
        for _ in range(3000)
    ]
    for _ in range(12):  # the longest stories allowed, of words that compress poorly
        text = " ".join(rng.choice(words) for _ in range(3300))[:20_000]
        StoryFactory(published=True, body=text, services=[world.ward])
    client = Client()
    for pad in range(30):
        for limit in (2, 12):  # ~40 KB compressed: kept; ~250 KB: not kept
            got = client.get(f"/api/v1/stories?limit={limit}&pad={pad}")
            assert got.headers.get("X-Page-Cache") == ("miss" if limit == 2 else None)
    entries: dict[str, bytes] = caches["pages"]._cache  # type: ignore[attr-defined]
    assert len(entries) == 30
    assert all(len(value) <= STORED_MAX_BYTES + 4096 for value in entries.values())


def test_the_header_is_off_when_configured(page_cache: None, settings: Any) -> None:
    settings.PAGE_CACHE_HEADER = False
    client = Client()
    client.get("/")
    assert "X-Page-Cache" not in client.get("/").headers


def test_pagecache_bump_command_moves_the_generation_and_audits() -> None:
    from django.core.management import call_command

    start = current_generation()
    call_command("pagecache_bump", stdout=__import__("io").StringIO())
    assert current_generation() == start + 1
    assert AuditEvent.objects.filter(action="pagecache.bump").count() == 1
