"""Choosing alerts and who hears about what, immediately."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from carestory.alerts.digests import alerts_digests_send, digest_period
from carestory.alerts.models import Alert
from carestory.alerts.services import (
    AlertChoice,
    alert_delete,
    alert_update,
    alerts_reply_published,
    alerts_response_published,
    alerts_story_published,
)
from carestory.alerts.tests.helpers import alert_for, membership_of, tag
from carestory.audit.models import AuditEvent
from carestory.lib.errors import NotAllowed, ValidationError
from carestory.outbox.models import OutboxMessage
from carestory.responses.models import Response
from conftest import World
from tests.factories import (
    MembershipFactory,
    ReplyFactory,
    ResponseFactory,
    StoryFactory,
    SubscriptionFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("alerts_cleared")]


def _told(story_id: int) -> set[str]:
    return set(
        OutboxMessage.objects.filter(
            dedupe_key__startswith=f"staff-alert:story:{story_id}:"
        ).values_list("to_email", flat=True)
    )


@pytest.mark.parametrize(
    ("choice", "story", "told"),
    [
        ({"min_criticality": 4}, {"criticality": 3}, False),
        ({"min_criticality": 4}, {"criticality": 4}, True),
        ({"min_criticality": 4}, {"criticality": 5}, True),
        ({"tag_slugs": ["communication"]}, {"tag": "waiting-times"}, False),
        ({"tag_slugs": ["communication", "staff-attitude"]}, {"tag": "communication"}, True),
        ({"author_roles": ["carer"]}, {"author_role": "patient"}, False),
        ({"author_roles": ["carer", "relative"]}, {"author_role": "carer"}, True),
        ({"service_codes": ["RXX01"]}, {}, True),  # the ward is inside the hospital
        ({"service_codes": ["RXX99"]}, {}, False),  # another part of the trust
        ({"events": ["responses"]}, {}, False),  # not about new stories
    ],
)
def test_alert_filters(
    world: World, choice: dict[str, Any], story: dict[str, Any], told: bool
) -> None:
    alert_for(world.member, world.subscription, **choice)
    slug = story.pop("tag", None)
    published = StoryFactory(published=True, services=[world.ward], **story)
    if slug:
        tag(published, slug)
    alerts_story_published(story=published)
    assert (world.member.email in _told(published.pk)) is told
    assert world.responder.email not in _told(published.pk)  # no alert of their own


def test_several_matching_alerts_make_one_email_and_overlapping_subscriptions_both_hear(
    world: World,
) -> None:
    commissioner = SubscriptionFactory(name="Commissioner", scope=[world.trust])
    MembershipFactory(subscription=commissioner, user=world.member, role="member")
    alert_for(world.member, world.subscription)
    alert_for(world.member, world.subscription, service_codes=["RXX01"])
    alert_for(world.member, commissioner)
    commissioner_member = MembershipFactory(subscription=commissioner, role="member").user
    alert_for(commissioner_member, commissioner)
    story = StoryFactory(published=True, services=[world.ward])
    assert alerts_story_published(story=story) == 2
    assert _told(story.pk) == {world.member.email, commissioner_member.email}
    assert alerts_story_published(story=story) == 0


def test_an_alert_outside_the_story_scope_is_not_asked(world: World) -> None:
    alert_for(world.other_responder, world.other_subscription)
    story = StoryFactory(published=True, services=[world.ward])
    alerts_story_published(story=story)
    assert _told(story.pk) == set()


def test_digest_alerts_are_not_sent_immediately(world: World) -> None:
    alert_for(world.member, world.subscription, frequency="daily")
    story = StoryFactory(published=True, services=[world.ward])
    assert alerts_story_published(story=story) == 0


def test_a_switched_off_or_frozen_alert_is_not_sent(world: World) -> None:
    alert = alert_for(world.member, world.subscription)
    Alert.objects.filter(pk=alert.pk).update(is_active=False)
    alert_for(world.responder, world.subscription)
    type(membership_of(world.responder, world.subscription)).objects.filter(
        user=world.responder
    ).update(is_active=False)
    story = StoryFactory(published=True, services=[world.ward])
    assert alerts_story_published(story=story) == 0


@pytest.mark.parametrize(
    ("choice", "field", "message"),
    [
        ({"events": []}, "events", "Choose at least one thing to be told about"),
        ({"service_codes": ["RYY-W1"]}, "services", "Hilltop Ward (RYY-W1) is outside"),
        ({"service_codes": ["NOPE"]}, "services", "No service has the code NOPE"),
        ({"min_criticality": 9}, "min_criticality", "Choose a criticality"),
        ({"tag_slugs": ["nope"]}, "tags", "Choose only from the tags listed"),
        ({"author_roles": ["robot"]}, "author_roles", "Choose only from the roles listed"),
        ({"frequency": "hourly"}, "frequency", "Choose how often"),
    ],
)
def test_a_bad_choice_is_refused_with_a_clear_message(
    world: World, choice: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        alert_for(world.member, world.subscription, **choice)
    assert message in " ".join(refused.value.message_dict[field])
    assert not Alert.objects.exists()


def test_every_problem_shows_at_once(world: World) -> None:
    with pytest.raises(ValidationError) as refused:
        alert_for(world.member, world.subscription, events=[], service_codes=["RYY"])
    assert set(refused.value.message_dict) == {"events", "services"}


def test_who_may_manage_an_alert_and_every_change_is_audited(world: World) -> None:
    alert = alert_for(world.member, world.subscription)
    choice = AlertChoice(events=["stories", "replies"], frequency="weekly")
    for outsider in (world.responder, world.other_responder, world.reader):
        with pytest.raises(NotAllowed):
            alert_update(actor=outsider, alert=alert, choice=choice)
    alert_update(actor=world.admin, alert=alert, choice=choice)
    alert.refresh_from_db()
    assert (alert.events, alert.frequency) == (["stories", "replies"], "weekly")
    alert_id = alert.pk
    alert_delete(actor=world.member, alert=alert)
    assert not Alert.objects.filter(pk=alert_id).exists()
    events = AuditEvent.objects.filter(object_type="alert", object_id=str(alert_id))
    assert [(e.action, e.actor_id) for e in events.order_by("id")] == [
        ("alert.create", world.member.pk),
        ("alert.change", world.admin.pk),
        ("alert.delete", world.member.pk),
    ]
    change = events.get(action="alert.change").changes
    assert change == {
        "events": [["stories"], ["stories", "replies"]],
        "frequency": ["immediate", "weekly"],
    }


def test_responses_and_change_claims_and_replies(world: World) -> None:
    alert_for(world.member, world.subscription, events=["changes"])
    alert_for(world.admin, world.subscription, events=["responses"])
    alert_for(world.responder, world.subscription, events=["responses", "replies"])
    story = StoryFactory(published=True, services=[world.ward], postcode="ZZ9 9ZZ")
    plain = ResponseFactory(
        published=True, story=story, subscription=world.subscription, responder=world.responder
    )
    change = ResponseFactory(
        published=True,
        story=story,
        subscription=world.subscription,
        change=Response.Change.PLANNED,
        change_description="New chairs",
    )
    assert alerts_response_published(response=plain) == 1  # the admin; not its responder
    assert alerts_response_published(response=change) == 3  # member (change), admin, responder
    reply = ReplyFactory(response=plain, author=story.author, body="Thank you")
    assert alerts_reply_published(reply=reply) == 0  # the responder answered hears anyway
    reply_to_other = ReplyFactory(response=change, author=story.author)
    assert alerts_reply_published(reply=reply_to_other) == 1
    keys = set(OutboxMessage.objects.values_list("dedupe_key", "to_email"))
    assert (f"staff-alert:response:{change.pk}:{world.member.pk}", world.member.email) in keys
    message = OutboxMessage.objects.get(
        dedupe_key=f"staff-alert:response:{change.pk}:{world.member.pk}"
    )
    text = str(message.context)
    assert "New chairs" in text and "ZZ9 9ZZ" not in text and story.author.email not in text


def test_only_subscriptions_in_term_with_the_full_level_are_alerted(world: World) -> None:
    alert_for(world.member, world.subscription)
    alert_for(world.responder, world.subscription, frequency="daily")
    story = StoryFactory(published=True, services=[world.ward])
    yesterday = digest_period("daily", timezone.now())[0] + timedelta(hours=1)
    StoryFactory(published=True, services=[world.ward], published_at=yesterday)
    type(world.subscription).objects.filter(pk=world.subscription.pk).update(level="registration")
    assert alerts_story_published(story=story) == 0
    type(world.subscription).objects.filter(pk=world.subscription.pk).update(
        level="full", ends_on=date(2020, 1, 1)
    )
    assert alerts_story_published(story=story) == 0
    assert alerts_digests_send() == 0
    type(world.subscription).objects.filter(pk=world.subscription.pk).update(ends_on=None)
    assert alerts_story_published(story=story) == 1
    assert alerts_digests_send() == 1
