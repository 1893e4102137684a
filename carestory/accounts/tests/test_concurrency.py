"""Races between processes: two first stories from one new address, and the rate limiter's
shared count. Run on PostgreSQL (SQLite serialises writers, so the first race cannot happen
there); the limiter's count is checked on both."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from carestory.accounts.models import User, UserManager
from carestory.lib.ratelimit import RateLimit, rate_limit_hit
from carestory.stories.models import Story
from carestory.stories.services import story_submit
from conftest import World
from tests.factories import story_draft

NEW_ADDRESS = "first.timer@example.org"


def _run_together(count: int, work: Callable[[int], Any]) -> list[Any]:
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        try:
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the race needs concurrent writers (PostgreSQL)"
)
@pytest.mark.django_db(transaction=True)
def test_two_first_stories_from_one_new_address_are_both_kept(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    world = World()
    # Both requests look the address up before either creates the account: the race, every time.
    both_looked = threading.Barrier(2, timeout=10)
    original = UserManager.get_by_email
    seen: set[int] = set()

    def get_by_email(self: UserManager, email: str) -> User | None:
        found = original(self, email)
        me = threading.get_ident()
        if me not in seen:
            seen.add(me)
            both_looked.wait()
        return found

    monkeypatch.setattr(UserManager, "get_by_email", get_by_email)

    def submit(i: int) -> Story:
        draft = story_draft(
            email=NEW_ADDRESS if i == 0 else NEW_ADDRESS.upper(),
            services=[world.ward],
            title=f"Story {i}",
        )
        return story_submit(draft=draft, idempotency_key=uuid.uuid4()).story

    with caplog.at_level(logging.DEBUG):
        results = _run_together(2, submit)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert User.objects.filter(email=NEW_ADDRESS).count() == 1
    author = User.objects.get(email=NEW_ADDRESS)
    assert sorted(Story.objects.filter(author=author).values_list("title", flat=True)) == [
        "Story 0",
        "Story 1",
    ]
    assert NEW_ADDRESS not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_the_rate_limit_count_is_shared_and_exact(settings: Any) -> None:
    settings.RATE_LIMIT_TEST_PER_HOUR = 5
    limit = RateLimit("test", "RATE_LIMIT_TEST_PER_HOUR", 3600)
    start = threading.Barrier(8, timeout=10)

    def hit(i: int) -> int:
        start.wait()
        return sum(rate_limit_hit(limit=limit, client="198.51.100.1").allowed for _ in range(3))

    results = _run_together(8, hit)
    # 24 requests from one client at once: exactly five allowed, whatever the interleaving.
    assert sum(results) == 5, results
    later = [rate_limit_hit(limit=limit, client="198.51.100.1").allowed for _ in range(3)]
    assert later == [False, False, False]
    from carestory.accounts.models import RateLimitBucket

    assert sum(RateLimitBucket.objects.values_list("hits", flat=True)) == 27
