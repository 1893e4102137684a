"""Public story lists and the staff dashboard: newest first by keyset (no COUNT, no OFFSET),
the response count per story without a JOIN over every response, never a private column."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from carestory.responses.models import ModerationStatus
from carestory.stories.models import Story
from carestory.stories.selectors import stories_published
from conftest import World
from tests.factories import ResponseFactory, StoryFactory

pytestmark = pytest.mark.django_db


def _publish(world: World, n: int, **kwargs: object) -> list[Story]:
    now = timezone.now()
    return [
        StoryFactory(
            services=kwargs.get("services", [world.ward]),
            published=True,
            published_at=now - timedelta(minutes=i),
            title=f"Story number {i}",
        )
        for i in range(n)
    ]


def _titles(page: str) -> list[str]:
    import re

    return re.findall(r"Story number \d+", page)


def test_the_story_list_pages_by_keyset_newest_first(client: Client, world: World) -> None:
    _publish(world, 45)
    first = client.get("/stories/").content.decode()
    assert _titles(first) == [f"Story number {i}" for i in range(20)]
    assert "?page=" not in first
    older = first.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    second = client.get(f"/stories/{older}").content.decode()
    assert _titles(second) == [f"Story number {i}" for i in range(20, 40)]
    newer = second.split('rel="prev" href="')[1].split('"')[0].replace("&amp;", "&")
    assert _titles(client.get(f"/stories/{newer}").content.decode()) == _titles(first)


def test_a_broken_page_link_shows_the_newest_with_a_message(client: Client, world: World) -> None:
    _publish(world, 3)
    response = client.get("/stories/", {"after": "not-a-cursor"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "This page link is not valid" in body
    assert _titles(body) == ["Story number 0", "Story number 1", "Story number 2"]


def test_the_story_list_costs_the_same_queries_for_any_page(client: Client, world: World) -> None:
    _publish(world, 45)
    with CaptureQueriesContext(connection) as first:
        client.get("/stories/")
    body = client.get("/stories/").content.decode()
    older = body.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    with CaptureQueriesContext(connection) as second:
        client.get(f"/stories/{older}")
    assert len(first) == len(second)
    sql = " ".join(q["sql"] for q in first.captured_queries).upper()
    assert "OFFSET" not in sql and "COUNT(*)" not in sql
    assert "COUNT(DISTINCT" not in sql  # responses are counted per listed row, not joined


def test_public_lists_never_read_the_private_original(world: World) -> None:
    _publish(world, 2)
    with CaptureQueriesContext(connection) as queries:
        stories = list(stories_published()[:6])
    assert stories
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "original_body" not in sql and "original_title" not in sql


def test_the_response_count_counts_published_responses_only(world: World) -> None:
    [story] = _publish(world, 1)
    ResponseFactory(story=story, status=ModerationStatus.PUBLISHED)
    ResponseFactory(story=story, status=ModerationStatus.PUBLISHED)
    ResponseFactory(story=story, status=ModerationStatus.IN_MODERATION)
    [listed] = list(stories_published()[:1])
    assert listed.published_response_count == 2  # type: ignore[attr-defined]


def test_the_staff_dashboard_shows_its_scope_by_keyset(world: World) -> None:
    ours = _publish(world, 25)
    StoryFactory(services=[world.other_ward], published=True, title="Not ours at all")
    client = Client()
    client.force_login(world.responder)
    first = client.get("/staff/").content.decode()
    assert "Not ours at all" not in first
    assert len(_titles(first)) == 20
    older = first.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    second = client.get(f"/staff/{older}").content.decode()
    assert len(_titles(second)) == len(ours) - 20


@pytest.mark.parametrize("large", [False, True])
def test_a_service_page_is_the_same_whichever_way_it_is_found(
    world: World, monkeypatch: pytest.MonkeyPatch, large: bool
) -> None:
    """A large subtree is paged by walking the newest-first index (tested here by calling a
    tiny subtree large); the pages must be exactly those of the direct query."""
    from carestory.stories import selectors

    ours = _publish(world, 30)
    _publish(world, 30, services=[world.other_ward])  # interleaved, in another subtree
    monkeypatch.setattr(selectors, "LARGE_SUBTREE_LINKS", 1 if large else 10**9)
    monkeypatch.setattr(selectors, "_WALK_FIRST_BATCH", 4)
    trust = world.trust
    pages = []
    page = selectors.stories_published_page(service=trust, size=7)
    while True:
        pages.append([s.pk for s in page.stories])
        if page.older is None:
            break
        page = selectors.stories_published_page(service=trust, size=7, after=page.older)

    def published_at(pk: int) -> datetime:
        when = Story.objects.get(pk=pk).published_at
        assert when is not None
        return when

    expected = sorted((s.pk for s in ours), key=published_at, reverse=True)
    assert [pk for chunk in pages for pk in chunk] == expected
    back = selectors.stories_published_page(service=trust, size=7, before=page.newer)
    assert [s.pk for s in back.stories] == pages[-2]
    assert back.stories[0].published_response_count == 0  # type: ignore[attr-defined]


def test_a_large_subtree_shows_the_workers_counts(
    client: Client, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time_machine

    from carestory.outbox.models import OutboxMessage
    from carestory.outbox.services import outbox_drain
    from carestory.stories import selectors

    [story] = _publish(world, 1)
    ResponseFactory(story=story, status=ModerationStatus.PUBLISHED)
    _publish(world, 2)
    monkeypatch.setattr(selectors, "LARGE_SUBTREE_LINKS", 1)
    url = f"/services/{world.trust.code}/"

    first = client.get(url).content.decode()
    assert "being counted" in first  # never counted: no live count of a large subtree
    client.get(url)
    assert OutboxMessage.objects.filter(job_name="stories.recount").count() == 1  # once
    outbox_drain()
    page = client.get(url).content.decode()
    assert "3 stories published" in page and "1 response published" in page
    assert "33% of stories have a published response" in page and "Counted at" in page

    _publish(world, 1)
    assert "3 stories published" in client.get(url).content.decode()  # not yet recounted
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        client.get(url)  # stale: ask again
        outbox_drain()
        assert "4 stories published" in client.get(url).content.decode()
