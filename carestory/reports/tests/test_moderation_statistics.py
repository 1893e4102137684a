"""Public moderation statistics: known numbers on a known set of stories, and a page that
shows them without anything private."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from carestory.reports.selectors import ModerationStatistics, moderation_statistics
from carestory.reports.services import moderation_statistics_refresh
from carestory.reports.templatetags.reports_tags import duration_words
from carestory.stories.models import Story
from tests.factories import StoryFactory

pytestmark = pytest.mark.django_db

NOW = datetime.fromisoformat("2030-06-01T12:00:00+00:00")
CANARY_EMAIL = "canary-author-"
CANARY_POSTCODE = "ZZ9 9ZZ"
CANARY_TITLE = "Canary title that must not appear"


def h(hours: float) -> timedelta:
    return timedelta(hours=hours)


def story(
    status: str,
    *,
    submitted_days_ago: float,
    published_after_hours: float | None = None,
    rejected_days_ago: float | None = None,
    reason: str = "",
) -> Story:
    s: Story = StoryFactory(
        status=status,
        author__email=f"{CANARY_EMAIL}{Story.objects.count()}@example.org",
        postcode=CANARY_POSTCODE,
        original_title=CANARY_TITLE,
        published_at=NOW if status == Story.Status.PUBLISHED else None,
    )
    submitted = NOW - timedelta(days=submitted_days_ago)
    fields: dict[str, Any] = {"submitted_at": submitted}
    if published_after_hours is not None:
        fields["published_at"] = submitted + h(published_after_hours)
    if rejected_days_ago is not None:
        fields["rejected_at"] = NOW - timedelta(days=rejected_days_ago)
        fields["rejection_reason"] = reason
    Story.objects.filter(pk=s.pk).update(**fields)
    return s


@pytest.fixture
def known_set(db: None) -> Iterator[None]:
    """Published (submitted days ago, hours to publish):
    30 days:  A 10d 2h, B 20d 4h, C 25d 30h, W 5d 6h (withdrawn since), H 31d 48h (published
              29 days ago: published in the window, received before it)
    90 days:  + D 60d 10h
    365 days: + E 200d 100h, F 300d 50h
    outside:  G 400d
    Medians: 30 days {2,4,6,30,48} = 6h; 90 days {2,4,6,10,30,48} = 8h;
             365 days {2,4,6,10,30,48,50,100} = 20h.
    """
    P, R = Story.Status.PUBLISHED, Story.Status.REJECTED
    with time_machine.travel(NOW, tick=False):
        story(P, submitted_days_ago=10, published_after_hours=2)
        story(P, submitted_days_ago=20, published_after_hours=4)
        story(P, submitted_days_ago=25, published_after_hours=30)
        story(Story.Status.WITHDRAWN, submitted_days_ago=5, published_after_hours=6)
        story(P, submitted_days_ago=31, published_after_hours=48)
        story(P, submitted_days_ago=60, published_after_hours=10)
        story(P, submitted_days_ago=200, published_after_hours=100)
        story(P, submitted_days_ago=300, published_after_hours=50)
        story(P, submitted_days_ago=400, published_after_hours=1)
        story(R, submitted_days_ago=4, rejected_days_ago=3, reason="duplicate")
        story(R, submitted_days_ago=46, rejected_days_ago=45, reason="offensive")
        story(R, submitted_days_ago=101, rejected_days_ago=100, reason="duplicate")
        story(R, submitted_days_ago=501, rejected_days_ago=500, reason="duplicate")
        story(Story.Status.IN_MODERATION, submitted_days_ago=1)
        story(Story.Status.AWAITING_AUTHOR, submitted_days_ago=40)
        story(Story.Status.PROVIDER_REVIEW, submitted_days_ago=2)
        story(Story.Status.HELD, submitted_days_ago=200)
        story(Story.Status.IN_MODERATION, submitted_days_ago=400)
        story(Story.Status.AWAITING_VERIFICATION, submitted_days_ago=1)  # not received yet
        yield


def stats_now() -> ModerationStatistics:
    return moderation_statistics(now=NOW)


def test_counts_by_window(known_set: None) -> None:
    windows = {w.days: w for w in stats_now().windows}
    assert list(windows) == [30, 90, 365]
    assert [windows[d].received for d in (30, 90, 365)] == [7, 11, 15]
    assert [windows[d].published for d in (30, 90, 365)] == [5, 6, 8]
    assert [windows[d].rejected for d in (30, 90, 365)] == [1, 2, 3]
    assert [windows[d].waiting for d in (30, 90, 365)] == [2, 3, 4]


def test_medians_by_window(known_set: None) -> None:
    windows = {w.days: w for w in stats_now().windows}
    assert windows[30].median_to_publication == h(6)
    assert windows[90].median_to_publication == h(8)
    assert windows[365].median_to_publication == h(20)


def test_rejections_by_reason_with_labels(known_set: None) -> None:
    windows = {w.days: w for w in stats_now().windows}
    by_reason = {
        d: {r.reason: (r.label, r.count) for r in windows[d].rejected_by_reason}
        for d in (30, 90, 365)
    }
    assert by_reason[30]["duplicate"] == ("Duplicate of another story", 1)
    assert by_reason[30]["offensive"] == ("Offensive", 0)
    assert by_reason[90]["offensive"] == ("Offensive", 1)
    assert by_reason[365]["duplicate"] == ("Duplicate of another story", 2)
    assert by_reason[365]["legal_risk"] == ("Legal risk", 0)  # every reason is listed
    assert sum(count for _label, count in by_reason[365].values()) == 3


def test_waiting_now_by_stage(known_set: None) -> None:
    waiting = stats_now().waiting_now
    assert waiting.total == 5
    assert [(status, n) for status, _label, n in waiting.by_status] == [
        ("in_moderation", 2),
        ("awaiting_author", 1),
        ("provider_review", 1),
        ("held", 1),
    ]


def test_no_stories_no_median() -> None:
    stats = stats_now()
    assert all(w.median_to_publication is None for w in stats.windows)
    assert all(w.received == 0 for w in stats.windows)


def test_an_even_count_takes_the_mean_of_the_middle_two() -> None:
    with time_machine.travel(NOW, tick=False):
        story(Story.Status.PUBLISHED, submitted_days_ago=3, published_after_hours=1)
        story(Story.Status.PUBLISHED, submitted_days_ago=3, published_after_hours=4)
    assert stats_now().windows[0].median_to_publication == h(2.5)


def test_a_publication_dated_before_its_submission_counts_as_no_time() -> None:
    with time_machine.travel(NOW, tick=False):
        for hours in (-3, -2, -1, 5):
            story(Story.Status.PUBLISHED, submitted_days_ago=3, published_after_hours=hours)
    assert stats_now().windows[0].median_to_publication == timedelta(0)


@pytest.mark.parametrize(
    ("stored", "queries"),
    [
        # The worker's snapshot: one query, whatever the number of stories.
        (True, 1),
        # No snapshot yet on a small database: the snapshot lookup, the bounded size
        # probe, and the computation (received, published, rejections, waiting, a median
        # per window).
        (False, 9),
    ],
)
def test_the_page_shows_the_numbers_and_nothing_private(
    client: Client,
    known_set: None,
    django_assert_num_queries: DjangoAssertNumQueries,
    stored: bool,
    queries: int,
) -> None:
    if stored:
        moderation_statistics_refresh(now=NOW)
    with time_machine.travel(NOW, tick=False), django_assert_num_queries(queries):
        page = client.get(reverse("reports:moderation"))
    assert page.status_code == 200
    body = page.content.decode()
    for stat, value in [
        ("received-30", "7"),
        ("received-365", "15"),
        ("published-90", "6"),
        ("rejected-365", "3"),
        ("waiting-90", "3"),
        ("median-30", "6 hours"),
        ("median-90", "8 hours"),
        ("median-365", "20 hours"),
        ("now-total", "<strong>5</strong>"),
    ]:
        assert f'data-stat="{stat}">{value}</td>' in body, stat
    assert "Duplicate of another story" in body
    assert "Held for a senior moderator" in body
    for private in (CANARY_EMAIL, CANARY_POSTCODE, CANARY_TITLE, "@example.org"):
        assert private not in body


def test_the_page_is_public_and_at_the_documented_address(client: Client) -> None:
    assert reverse("reports:moderation") == "/statistics/moderation/"
    assert client.get("/statistics/moderation").status_code == 301
    assert client.get("/statistics/moderation/").status_code == 200
    assert client.post("/statistics/moderation/").status_code == 405


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (None, "No stories published"),
        (timedelta(minutes=45), "45 minutes"),
        (timedelta(minutes=1), "1 minute"),
        (timedelta(hours=5, minutes=10), "5 hours"),
        (timedelta(hours=84), "3.5 days"),
        (timedelta(days=3), "3 days"),
    ],
)
def test_duration_words(value: timedelta | None, words: str) -> None:
    assert duration_words(value) == words
