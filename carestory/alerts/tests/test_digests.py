"""Daily and weekly digests: what goes in, in which order, once per period, and never a story
withdrawn after it was queued."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from carestory.alerts.digests import alerts_digests_send, digest_period
from carestory.alerts.tests.helpers import alert_for
from carestory.outbox.models import OutboxMessage
from carestory.outbox.services import outbox_drain
from carestory.outbox.testing import SmtpSink
from carestory.stories.models import Story
from carestory.stories.services import story_withdraw
from conftest import World
from tests.factories import ResponseFactory, StoryFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("alerts_cleared")]

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 3, 11, 9, 0, tzinfo=LONDON)  # a Wednesday
YESTERDAY = datetime(2026, 3, 10, 10, 0, tzinfo=LONDON)
LAST_WEEK = datetime(2026, 3, 4, 10, 0, tzinfo=LONDON)


def _story(world: World, title: str, criticality: int, at: datetime, *services: object) -> Story:
    return StoryFactory(
        published=True,
        title=title,
        criticality=criticality,
        published_at=at,
        services=list(services) or [world.ward],
        author=world.author,
    )


def _digests() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(dedupe_key__startswith="alert-digest:"))


def test_periods_are_yesterday_and_last_week() -> None:
    assert digest_period("daily", NOW) == (
        datetime(2026, 3, 10, tzinfo=LONDON),
        datetime(2026, 3, 11, tzinfo=LONDON),
    )
    assert digest_period("weekly", NOW) == (
        datetime(2026, 3, 2, tzinfo=LONDON),
        datetime(2026, 3, 9, tzinfo=LONDON),
    )


def test_a_daily_digest_groups_by_service_most_critical_first_once_per_period(
    world: World, smtp_sink: SmtpSink
) -> None:
    alert_for(world.member, world.subscription, frequency="daily")
    _story(world, "Mild on the ward", 2, YESTERDAY)
    _story(world, "Severe at the hospital", 5, YESTERDAY, world.hospital)
    _story(world, "Strong on the ward", 4, YESTERDAY)
    _story(world, "Too old", 5, LAST_WEEK)
    _story(world, "Elsewhere", 5, YESTERDAY, world.other_ward)
    assert alerts_digests_send(now=NOW) == 1
    assert alerts_digests_send(now=NOW) == 0  # run twice: still one email
    outbox_drain()
    assert alerts_digests_send(now=NOW) == 0  # and after it was sent
    [email] = smtp_sink.find(to=world.member.email)
    assert "daily digest" in email.subject
    text = email.text
    order = [
        text.index(s) for s in ("Riverside Hospital", "Severe at", "Ward 1", "Strong on", "Mild on")
    ]
    assert order == sorted(order)
    assert "Too old" not in text and "Elsewhere" not in text
    assert world.author.email not in email.raw.decode()
    assert email.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    assert "/staff/alerts/unsubscribe/" in email.header("List-Unsubscribe")


def test_a_weekly_digest_covers_last_week_and_responses(world: World) -> None:
    alert_for(world.member, world.subscription, frequency="weekly", events=["responses"])
    alert_for(world.admin, world.subscription, frequency="daily")
    story = _story(world, "Last week", 3, LAST_WEEK)
    ResponseFactory(
        published=True, story=story, subscription=world.subscription, published_at=LAST_WEEK
    )
    assert alerts_digests_send(now=NOW) == 1
    [digest] = _digests()
    assert digest.to_email == world.member.email
    assert digest.dedupe_key.endswith(":20260302")
    assert digest.context["story_ids"] == [] and len(digest.context["response_ids"]) == 1


def test_a_story_withdrawn_after_the_digest_was_queued_is_never_sent(
    world: World, smtp_sink: SmtpSink
) -> None:
    alert_for(world.member, world.subscription, frequency="daily")
    kept = _story(world, "Still published", 3, YESTERDAY)
    gone = _story(world, "Withdrawn later", 5, YESTERDAY)
    alerts_digests_send(now=NOW)
    story_withdraw(story=gone, author=world.author)
    outbox_drain()
    [email] = smtp_sink.find(to=world.member.email)
    assert kept.title in email.text
    assert gone.title not in email.text and gone.title not in email.raw.decode()


def test_a_digest_with_nothing_left_is_cancelled(world: World, smtp_sink: SmtpSink) -> None:
    alert_for(world.member, world.subscription, frequency="daily")
    gone = _story(world, "Withdrawn later", 5, YESTERDAY)
    alerts_digests_send(now=NOW)
    story_withdraw(story=gone, author=world.author)
    outbox_drain()
    assert smtp_sink.find(to=world.member.email) == []
    assert [m.status for m in _digests()] == [OutboxMessage.Status.CANCELLED]


def test_an_alert_unsubscribed_after_queueing_sends_no_digest(
    world: World, smtp_sink: SmtpSink
) -> None:
    alert = alert_for(world.member, world.subscription, frequency="daily")
    _story(world, "Published", 3, YESTERDAY)
    alerts_digests_send(now=NOW)
    type(alert).objects.filter(pk=alert.pk).update(is_active=False)
    outbox_drain()
    assert smtp_sink.find(to=world.member.email) == []


def test_a_digest_makes_its_stories_heard_by_the_members_subscription(world: World) -> None:
    from carestory.workspace.models import StoryHeard

    alert_for(world.member, world.subscription, frequency="daily")
    told = _story(world, "Told in the digest", 3, YESTERDAY)
    untold = _story(world, "Elsewhere", 5, YESTERDAY, world.other_ward)
    assert alerts_digests_send(now=NOW) == 1
    heard = set(StoryHeard.objects.values_list("story_id", "subscription_id"))
    assert (told.pk, world.subscription.pk) in heard
    assert not any(story_id == untold.pk for story_id, _sub in heard)
