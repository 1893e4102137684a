"""The moderation statistics' snapshot: the worker's periodic task stores what a direct
computation gives, the page shows the stored snapshot (not a new count), and before the first
one it computes them on a small database or says they are being prepared on a large one."""

from __future__ import annotations

import random
import statistics
from datetime import datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from carestory.moderation.models import RejectionReason
from carestory.outbox.registry import periodic_tasks
from carestory.reports import selectors
from carestory.reports.models import ModerationSnapshot, ModerationSnapshotWindow
from carestory.reports.selectors import (
    WAITING_STATUSES,
    WINDOWS_DAYS,
    moderation_statistics,
    moderation_statistics_for_page,
    moderation_statistics_stored,
)
from carestory.reports.services import REFRESH_SECONDS, moderation_statistics_refresh
from carestory.reports.tests.test_moderation_statistics import (  # noqa: F401  (known_set: a fixture)
    NOW,
    h,
    known_set,
    story,
)
from carestory.stories.models import Story

pytestmark = pytest.mark.django_db

PAGE = "/statistics/moderation/"


def reference(now: datetime) -> dict[int, tuple[int, int, int, int, dict[str, int], object]]:
    """The definitions, applied one story at a time in Python (as the page did before the
    snapshot): {days: (received, published, rejected, waiting, {reason: n}, median)}."""
    rows = list(
        Story.objects.values(
            "status", "submitted_at", "published_at", "rejected_at", "rejection_reason"
        )
    )
    out: dict[int, tuple[int, int, int, int, dict[str, int], object]] = {}
    for days in WINDOWS_DAYS:
        start = now - timedelta(days=days)
        received = [
            r
            for r in rows
            if start <= r["submitted_at"] <= now
            and r["status"] != Story.Status.AWAITING_VERIFICATION
        ]
        published = [
            r for r in rows if r["published_at"] is not None and start <= r["published_at"] <= now
        ]
        rejected = [
            r
            for r in rows
            if r["status"] == Story.Status.REJECTED
            and r["rejected_at"] is not None
            and start <= r["rejected_at"] <= now
        ]
        reasons: dict[str, int] = {}
        for r in rejected:
            reasons[r["rejection_reason"]] = reasons.get(r["rejection_reason"], 0) + 1
        durations = [
            max((at - r["submitted_at"]).total_seconds(), 0.0)
            for r in published
            if (at := r["published_at"]) is not None
        ]
        out[days] = (
            len(received),
            len(published),
            len(rejected),
            sum(r["status"] in WAITING_STATUSES for r in received),
            reasons,
            timedelta(seconds=statistics.median(durations)) if durations else None,
        )
    return out


@pytest.fixture
def varied_set(db: None) -> None:
    """Eighty stories at random (a fixed seed): every status, times to the microsecond,
    some published "before" they were submitted (clamped to zero), an unknown reason, and
    stories on the windows' edges."""
    rng = random.Random(8)
    statuses = list(Story.Status.values)
    reasons = [*RejectionReason.values, "retired_reason"]
    with time_machine.travel(NOW, tick=False):
        for _ in range(80):
            status = rng.choice(statuses)
            submitted = rng.uniform(0, 420)
            published = status in (Story.Status.PUBLISHED, Story.Status.WITHDRAWN)
            story(
                status,
                submitted_days_ago=submitted,
                published_after_hours=rng.uniform(-3, 24 * 20) if published else None,
                rejected_days_ago=(
                    rng.uniform(0, submitted) if status == Story.Status.REJECTED else None
                ),
                reason=rng.choice(reasons),
            )
        story(
            Story.Status.REJECTED,
            submitted_days_ago=12,
            rejected_days_ago=10,
            reason="retired_reason",  # a reason no longer offered
        )
        for days in WINDOWS_DAYS:  # exactly on a window's start
            story(Story.Status.PUBLISHED, submitted_days_ago=days, published_after_hours=0)
            story(
                Story.Status.REJECTED,
                submitted_days_ago=days + 1,
                rejected_days_ago=days,
                reason="duplicate",
            )


@pytest.mark.usefixtures("varied_set")
def test_the_computation_follows_the_definitions_story_by_story() -> None:
    expected = reference(NOW)
    assert any(m for *_c, m in expected.values())  # the set has medians to compare
    for w in moderation_statistics(now=NOW).windows:
        received, published, rejected, waiting, reasons, median = expected[w.days]
        assert (w.received, w.published, w.rejected, w.waiting) == (
            received,
            published,
            rejected,
            waiting,
        ), w.days
        assert {r.reason: r.count for r in w.rejected_by_reason if r.count} == reasons
        assert w.median_to_publication == median, w.days  # to the microsecond


@pytest.mark.usefixtures("varied_set")
def test_the_stored_snapshot_equals_the_direct_computation() -> None:
    assert moderation_statistics_refresh(now=NOW) == 1
    stored = moderation_statistics_stored()
    assert stored is not None
    assert stored == moderation_statistics(now=NOW)
    assert "retired_reason" in {r.reason for r in stored.windows[-1].rejected_by_reason}


@pytest.mark.usefixtures("known_set")
def test_the_snapshot_has_the_known_figures() -> None:
    moderation_statistics_refresh(now=NOW)
    stored = moderation_statistics_stored()
    assert stored is not None
    assert stored.now == NOW
    windows = {w.days: w for w in stored.windows}
    assert [windows[d].received for d in WINDOWS_DAYS] == [7, 11, 15]
    assert [windows[d].median_to_publication for d in WINDOWS_DAYS] == [h(6), h(8), h(20)]
    assert stored.waiting_now.total == 5


def test_the_worker_refreshes_the_snapshot_every_ten_minutes() -> None:
    every, task = periodic_tasks()["reports.moderation_statistics"]
    assert every == REFRESH_SECONDS == 600
    with time_machine.travel(NOW, tick=False):
        assert task() == 1  # first run, at the worker's start
        assert task() == 0  # another worker's snapshot is fresh: nothing recomputed
        story(Story.Status.PUBLISHED, submitted_days_ago=1, published_after_hours=3)
    first = moderation_statistics_stored()
    assert first is not None and first.windows[0].published == 0
    later = NOW + timedelta(seconds=REFRESH_SECONDS)
    with time_machine.travel(later, tick=False):
        assert task() == 1
    second = moderation_statistics_stored()
    assert second is not None
    assert second.now == later
    assert second.windows[0].published == 1
    assert second.windows[0].median_to_publication == h(3)
    assert ModerationSnapshot.objects.count() == 1  # the older one is gone
    assert ModerationSnapshotWindow.objects.count() == len(WINDOWS_DAYS)


def test_an_older_computation_finishing_last_does_not_replace_a_newer_one() -> None:
    moderation_statistics_refresh(now=NOW)
    moderation_statistics_refresh(now=NOW - timedelta(minutes=1))
    stored = moderation_statistics_stored()
    assert stored is not None and stored.now == NOW


def test_the_command_stores_a_snapshot() -> None:
    out = StringIO()
    call_command("refresh_moderation_statistics", stdout=out)
    assert ModerationSnapshot.objects.count() == 1
    assert moderation_statistics_stored() is not None
    assert "stored" in out.getvalue()


@pytest.mark.usefixtures("known_set")
def test_the_page_shows_the_stored_snapshot_not_a_new_count(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    moderation_statistics_refresh(now=NOW)
    # A stale snapshot: the stories changed since, and one stored figure is not what a
    # count would give now.
    ModerationSnapshotWindow.objects.filter(days=30).update(received=4321)
    later = NOW + timedelta(hours=3)
    with time_machine.travel(later, tick=False):
        story(Story.Status.PUBLISHED, submitted_days_ago=1, published_after_hours=1)
        with django_assert_num_queries(1):
            body = client.get(PAGE).content.decode()
    assert 'data-stat="received-30">4321</td>' in body
    assert 'data-stat="published-30">5</td>' in body  # not 6: the new story is not counted
    # When the snapshot was computed (12:00 UTC, in the site's time, Europe/London).
    assert "Figures as of 1 June 2030 13:00." in body


def test_before_the_first_snapshot_a_small_database_is_counted_on_the_request(
    client: Client,
) -> None:
    with time_machine.travel(NOW, tick=False):
        story(Story.Status.PUBLISHED, submitted_days_ago=2, published_after_hours=5)
        body = client.get(PAGE).content.decode()
    assert 'data-stat="published-30">1</td>' in body
    assert 'data-stat="median-30">5 hours</td>' in body
    assert "Figures as of 1 June 2030 13:00." in body
    assert not ModerationSnapshot.objects.exists()  # a GET writes nothing


def test_with_no_stories_and_no_snapshot_the_page_shows_zeros(client: Client) -> None:
    body = client.get(PAGE).content.decode()
    assert 'data-stat="received-365">0</td>' in body
    assert 'data-stat="median-30">No stories published</td>' in body
    assert 'data-stat="now-total"><strong>0</strong></td>' in body
    assert 'data-stat="preparing"' not in body


@pytest.mark.usefixtures("known_set")
def test_before_the_first_snapshot_a_large_database_is_being_prepared(
    client: Client,
    monkeypatch: pytest.MonkeyPatch,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    monkeypatch.setattr(selectors, "LIVE_MAX_STORIES", 10)  # the known set has 19 stories
    with django_assert_num_queries(2):  # the snapshot lookup and the bounded size probe
        page = client.get(PAGE)
    assert page.status_code == 200
    body = page.content.decode()
    assert "These figures are being prepared" in body
    assert 'data-stat="received-30"' not in body
    assert "Figures as of" not in body
    assert "How these figures are counted" in body
    assert not ModerationSnapshot.objects.exists()
    # Once the worker has run, the figures are there.
    moderation_statistics_refresh(now=NOW)
    body = client.get(PAGE).content.decode()
    assert 'data-stat="received-30">7</td>' in body
    assert "being prepared" not in body


def test_a_snapshot_of_other_windows_counts_as_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    moderation_statistics_refresh(now=NOW)
    assert moderation_statistics_stored() is not None
    monkeypatch.setattr(selectors, "WINDOWS_DAYS", (7, 30, 90, 365))  # a release adds one
    assert moderation_statistics_stored() is None
    assert moderation_statistics_for_page() is not None  # small: computed instead
