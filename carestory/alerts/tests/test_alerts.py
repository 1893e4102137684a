from __future__ import annotations

import pytest

from carestory.alerts.services import alert_default_create, alerts_story_published
from carestory.moderation.services.decisions import story_publish
from carestory.moderation.services.edits import StoryEdit
from carestory.outbox.models import OutboxMessage
from carestory.outbox.services import outbox_drain
from carestory.outbox.testing import SmtpSink
from carestory.stories.services import story_withdraw
from carestory.subscriptions.models import Membership
from conftest import World
from tests.factories import MembershipFactory, StoryFactory, SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _story_alerts(alerts_cleared: None) -> None:
    """Every responder and administrator has the alert the data migration gave the existing
    ones (and a new one gets from ``alert_default_create``): new stories, immediately."""
    for membership in Membership.objects.all():
        alert_default_create(membership=membership)


def test_alerts_go_to_responders_and_admins_in_scope_only(
    world: World, smtp_sink: SmtpSink
) -> None:
    story = StoryFactory(author=world.author, services=[world.ward], postcode="ZZ9 9ZZ")
    story_publish(
        story=story,
        moderator=world.moderator,
        edit=StoryEdit(
            version=1,
            title="Published title",
            body="Published body",
            criticality=3,
            tags=(),
            services=(world.ward,),
        ),
    )
    outbox_drain()
    recipients = sorted(r for e in smtp_sink.messages for r in e.rcpt_tos)
    assert recipients == sorted([world.author.email, world.responder.email, world.admin.email])
    [alert] = smtp_sink.find(to=world.responder.email)
    assert "Published title" in alert.text and "Published body" in alert.text
    assert "Moderately critical" in alert.text  # staff-only rating
    assert f"/stories/{story.public_id}/" in alert.text
    assert world.author.email not in alert.raw.decode()
    assert "ZZ9 9ZZ" not in alert.raw.decode()
    assert story.original_body not in alert.text


def test_alerts_are_idempotent(world: World) -> None:
    story = StoryFactory(published=True, services=[world.ward])
    assert alerts_story_published(story=story) == 2
    assert alerts_story_published(story=story) == 0
    assert OutboxMessage.objects.filter(dedupe_key__startswith="staff-alert:").count() == 2


def test_overlapping_scopes_alert_each_person_once(world: World) -> None:
    commissioner = SubscriptionFactory(scope=[world.trust])
    MembershipFactory(subscription=commissioner, user=world.responder, role="administrator")
    other = MembershipFactory(subscription=commissioner, role="responder").user
    MembershipFactory(subscription=commissioner, role="member", user=UserFactory(staff=True))
    for membership in Membership.objects.filter(subscription=commissioner):
        alert_default_create(membership=membership)  # the member's role gets none
    story = StoryFactory(published=True, services=[world.ward])
    alerts_story_published(story=story)
    to = sorted(OutboxMessage.objects.values_list("to_email", flat=True))
    assert to == sorted([world.responder.email, world.admin.email, other.email])


def test_withdrawn_before_sending_sends_nothing(world: World, smtp_sink: SmtpSink) -> None:
    story = StoryFactory(author=world.author, published=True, services=[world.ward])
    alerts_story_published(story=story)
    story_withdraw(story=story, author=world.author)
    outbox_drain()
    assert smtp_sink.messages == []
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"cancelled"}
