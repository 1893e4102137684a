"""Attacks on the public page cache (carestory/pagecache).

The first tests pin what holds: every public surface forgets a withdrawn story at the next
request, and language and cookies keep visitors' pages apart. The others reproduce weaknesses
found by attacking a running server (see each docstring), fixed since: INSERT-only commits on
SQLite, private activity emptying every cache, the hit header as an oracle, the memory budget.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client

from carestory.pagecache.invalidation import current_generation
from carestory.stories.models import StoryTag, Tag
from carestory.stories.services import story_withdraw
from conftest import World
from tests.factories import ResponseFactory, StoryFactory


@pytest.fixture
def page_cache(settings: Any) -> None:
    settings.PAGE_CACHE_SECONDS = 60
    settings.RATE_LIMIT_API_PER_MINUTE = 0
    caches["pages"].clear()


def _surfaces(story_id: str, service_code: str) -> list[str]:
    return [
        "/",
        "/stories/",
        "/stories/feed.atom",
        f"/services/{service_code}/",
        "/api/v1/stories",
        f"/api/v1/stories?service={service_code}",
        f"/api/v1/stories/{story_id}",
        f"/stories/{story_id}/",
    ]


@pytest.mark.django_db(transaction=True)
def test_every_surface_forgets_a_withdrawn_story_at_once(page_cache: None, world: World) -> None:
    """Real commits, no captured callbacks: the bump runs as it does in production."""
    story = StoryFactory(published=True, title="Cached then withdrawn", services=[world.ward])
    ResponseFactory(story=story, published=True, body="A cached answer")
    client = Client()
    urls = _surfaces(story.public_id, world.ward.code)
    for url in urls:
        client.get(url)
        warm = client.get(url)
        assert warm.headers.get("X-Page-Cache") == "hit", url
        assert b"Cached then withdrawn" in warm.content, url
    story_withdraw(story=story, author=story.author)
    for url in urls:
        got = client.get(url)
        assert got.headers.get("X-Page-Cache") != "hit", url
        assert b"Cached then withdrawn" not in got.content, url
        assert b"A cached answer" not in got.content, url
    assert client.get(f"/stories/{story.public_id}/").status_code == 404
    assert client.get(f"/api/v1/stories/{story.public_id}").status_code == 404
    assert client.head(f"/stories/{story.public_id}/").status_code == 404


@pytest.mark.django_db
def test_welsh_and_cookie_variants_never_share_a_page(page_cache: None) -> None:
    StoryFactory(published=True)
    english, welsh_cookie, welsh_header = Client(), Client(), Client()
    welsh_cookie.cookies["django_language"] = "cy"
    assert english.get("/stories/").headers["Content-Language"] == "en-gb"
    for got in (
        welsh_cookie.get("/stories/"),
        welsh_header.get("/stories/", headers={"accept-language": "cy-GB,cy;q=0.9"}),
    ):
        assert got.headers["Content-Language"] == "cy"
        assert b'<html lang="cy"' in got.content
    assert b'<html lang="en-gb"' in english.get("/stories/").content
    # A session, a flash message or credentials: never served from memory, never stored.
    for cookie in ("sessionid", "messages"):
        visitor = Client()
        visitor.cookies[cookie] = "x"
        assert "X-Page-Cache" not in visitor.get("/stories/").headers, cookie
    assert "X-Page-Cache" not in english.get("/stories/", HTTP_AUTHORIZATION="Bearer x").headers


@pytest.mark.django_db(transaction=True)
def test_a_commit_that_only_inserts_invalidates(page_cache: None, world: World) -> None:
    """Django uses ``INSERT ... RETURNING`` on SQLite >= 3.35, and Python 3.11's sqlite3 sets
    ``cursor.rowcount`` only once the rows are fetched: ``_changed_rows`` sees 0 and the write
    is treated as a no-op. A commit whose only public write is an INSERT (``create()``,
    ``bulk_create()``) leaves every cached page in place for up to PAGE_CACHE_SECONDS.
    Current services always UPDATE a row as well, so this is latent for today's flows."""
    story = StoryFactory(published=True, services=[world.ward])
    tag = Tag.objects.create(slug="attack-tag", name="Attack tag", group=Tag.Group.ASPECT)
    client = Client()
    url = f"/api/v1/stories/{story.public_id}"
    client.get(url)
    assert client.get(url).headers["X-Page-Cache"] == "hit"
    before = current_generation()
    StoryTag.objects.create(story=story, tag=tag, polarity=1)  # autocommit: committed now
    assert current_generation() > before
    assert "Attack tag" in client.get(url).content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("action", ["moderator opens a story", "someone signs in"])
def test_private_activity_does_not_empty_every_cache(
    page_cache: None, world: World, action: str
) -> None:
    """``stories_story`` and ``accounts_user`` are public tables, so a moderator opening or
    refreshing a story in the queue (``_claim`` updates ``claimed_until``) and every sign-in
    (``last_login``) bump the generation: each empties the page cache of every web process.
    Any visitor can see it happen (a page that was a hit becomes a miss), so the cache also
    reports when moderators are working and when someone has just signed in."""
    from carestory.moderation.services.claims import story_claim

    pending = StoryFactory()
    client = Client()
    client.get("/")
    assert client.get("/").headers["X-Page-Cache"] == "hit"
    before = current_generation()
    if action == "moderator opens a story":
        story_claim(story=pending, moderator=world.moderator)
    else:
        Client().force_login(world.reader)
    assert current_generation() == before
    assert client.get("/").headers["X-Page-Cache"] == "hit"


@pytest.mark.django_db
def test_a_hit_does_not_tell_one_visitor_what_another_viewed(
    page_cache: None, world: World, settings: Any
) -> None:
    """Searches are not cached because a hit would tell the next visitor what someone
    searched for. But the search leads to a service page, and ``X-Page-Cache: hit`` on the
    first request a new visitor makes tells them that someone viewed that service (a small
    clinic, a sexual health service) or that story in the last minute."""
    settings.PAGE_CACHE_HEADER = False  # production's default (the header is for tests, bench)
    victim, attacker = Client(), Client()
    victim.get(f"/services/{world.ward.code}/")
    first_look = attacker.get(f"/services/{world.ward.code}/")
    assert first_look.headers.get("X-Page-Cache") != "hit"


@pytest.mark.django_db
def test_junk_query_strings_stay_within_the_documented_memory_budget(
    page_cache: None, world: World
) -> None:
    """docs/operations.md: 'about 50 KB a page ... 400 pages is ~20 MB for each gunicorn
    worker'. But MAX_BYTES is 256 KB and any unknown query parameter makes a new key, so
    one anonymous client fills each worker with the largest pages the API makes
    (measured on gunicorn: +110 MB resident per worker, from 68 MB to 180 MB)."""
    body = "word " * 4000  # 20,000 characters, the longest story allowed
    for _ in range(12):
        StoryFactory(published=True, body=body, services=[world.ward])
    client = Client()
    for pad in range(100):  # a quarter of PAGE_CACHE_ENTRIES
        got = client.get(f"/api/v1/stories?limit=12&pad={pad}")
        assert got.headers.get("X-Page-Cache") == "miss"
    entries: dict[str, bytes] = caches["pages"]._cache  # type: ignore[attr-defined]
    stored = sum(len(value) for value in entries.values())
    assert stored <= 20 * 1024 * 1024 // 4
