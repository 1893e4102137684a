"""Fast track: who skips moderation, what the responder is told before sending, and what
happens when a fast-tracked response is released (published, author emailed, audited)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from carestory.audit.models import AuditEvent
from carestory.outbox.services import outbox_drain
from carestory.outbox.testing import SmtpSink
from carestory.responses.models import ModerationStatus, Response
from carestory.responses.selectors import (
    FAST_TRACK_BAR,
    FastTrackReason,
    responder_record,
    response_fast_track_decision,
)
from carestory.responses.services import (
    reply_post,
    response_mark_published,
    response_post,
)
from carestory.responses.tests.helpers import START, edit_text, make_history
from carestory.stories.models import Criticality, Story
from conftest import World
from tests.factories import ResponseFactory, StoryFactory

pytestmark = pytest.mark.django_db

FAST = "Your response will be published after 30 minutes without moderation."
MODERATED = "your response will be checked by a moderator before it is published."


def story_of(world: World, criticality: int | None) -> Story:
    story: Story = StoryFactory(
        published=True, services=[world.ward], author=world.author, criticality=criticality
    )
    return story


def decide(world: World, story: Story, change: str = "none") -> FastTrackReason:
    decision = response_fast_track_decision(responder=world.responder, story=story, change=change)
    assert decision.fast_track == (decision.reason == FastTrackReason.ELIGIBLE)
    return decision.reason


def trusted_response(
    world: World,
    criticality: int,
    *,
    body: str = "Thank you.",
    change: str = "none",
    description: str = "",
) -> tuple[Story, Response]:
    """A response sent by a responder with ten unedited responses behind them."""
    make_history(responder=world.responder, subscription=world.subscription, unedited=10)
    story = story_of(world, criticality)
    response = response_post(
        story=story,
        responder=world.responder,
        body=body,
        change=change,
        change_description=description,
        idempotency_key=uuid.uuid4(),
    )
    return story, response


# The record ------------------------------------------------------------------------------


def test_the_record_counts_the_last_ten_decided_and_scores_edits_as_half(world: World) -> None:
    make_history(
        responder=world.responder,
        subscription=world.subscription,
        older_unedited=5,  # too old to be among the last ten
        unedited=4,
        edited=3,
        rejected=3,
    )
    # Not decided: never counted.
    ResponseFactory(responder=world.responder, subscription=world.subscription)
    ResponseFactory(
        responder=world.responder,
        subscription=world.subscription,
        status=ModerationStatus.EDITABLE,
    )
    # Flagged by the moderator although the text is unchanged: edited.
    ResponseFactory(
        responder=world.responder,
        subscription=world.subscription,
        published=True,
        edited_by_moderator=True,
    )
    record = responder_record(responder=world.responder)
    assert record.published == 5 + 4 + 3 + 1
    assert (record.recent_unedited, record.recent_edited, record.recent_rejected) == (3, 4, 3)
    assert record.score == 3 + 4 * 0.5


def test_someone_elses_responses_do_not_count(world: World) -> None:
    make_history(
        responder=world.other_responder, subscription=world.other_subscription, unedited=12
    )
    assert responder_record(responder=world.responder).published == 0
    assert decide(world, story_of(world, Criticality.NOT_CRITICAL)) == (
        FastTrackReason.TOO_FEW_PUBLISHED
    )


# Eligibility -----------------------------------------------------------------------------


def test_exactly_ten_published_is_enough_and_nine_is_not(world: World) -> None:
    story = story_of(world, Criticality.MINIMALLY)
    make_history(responder=world.responder, subscription=world.subscription, unedited=9)
    assert decide(world, story) == FastTrackReason.TOO_FEW_PUBLISHED
    make_history(responder=world.responder, subscription=world.subscription, unedited=1)
    assert decide(world, story) == FastTrackReason.ELIGIBLE


def test_rejections_do_not_count_towards_the_ten_published(world: World) -> None:
    story = story_of(world, Criticality.NOT_CRITICAL)
    make_history(responder=world.responder, subscription=world.subscription, unedited=9)
    make_history(responder=world.responder, subscription=world.subscription, rejected=1)
    assert decide(world, story) == FastTrackReason.TOO_FEW_PUBLISHED


@pytest.mark.parametrize(
    ("criticality", "bar"),
    [
        (Criticality.NOT_CRITICAL, 6),
        (Criticality.MINIMALLY, 6),
        (Criticality.MILDLY, 7),
        (Criticality.MODERATELY, 8),
        (Criticality.STRONGLY, 9),
    ],
)
def test_the_bar_rises_with_criticality(world: World, criticality: int, bar: int) -> None:
    assert FAST_TRACK_BAR[criticality] == bar
    story = story_of(world, criticality)
    # Ten published long ago, then a recent ten scoring exactly the bar...
    make_history(
        responder=world.responder,
        subscription=world.subscription,
        older_unedited=10,
        unedited=bar,
        rejected=10 - bar,
    )
    assert responder_record(responder=world.responder).score == bar
    assert decide(world, story) == FastTrackReason.ELIGIBLE
    # ...then half a point short: one of those unedited becomes an edited one.
    newest_unedited = (
        Response.objects.filter(responder=world.responder, status=ModerationStatus.PUBLISHED)
        .order_by("-created_at")
        .first()
    )
    assert newest_unedited is not None
    Response.objects.filter(pk=newest_unedited.pk).update(body="Edited by a moderator")
    assert responder_record(responder=world.responder).score == bar - 0.5
    assert decide(world, story) == FastTrackReason.SCORE_BELOW_BAR


@pytest.mark.parametrize("criticality", [Criticality.SEVERELY, None])
def test_severe_or_unrated_stories_are_always_moderated(
    world: World, criticality: int | None
) -> None:
    make_history(responder=world.responder, subscription=world.subscription, unedited=20)
    assert decide(world, story_of(world, criticality)) == FastTrackReason.CRITICAL_STORY


@pytest.mark.parametrize("change", ["planned", "made"])
def test_a_change_claim_is_always_moderated(world: World, change: str) -> None:
    make_history(responder=world.responder, subscription=world.subscription, unedited=20)
    story = story_of(world, Criticality.NOT_CRITICAL)
    assert decide(world, story) == FastTrackReason.ELIGIBLE
    assert decide(world, story, change) == FastTrackReason.CHANGE_CLAIM


# What the responder is told before sending -----------------------------------------------


def test_the_respond_page_predicts_moderation_for_a_new_responder(
    client: Client, world: World
) -> None:
    story = story_of(world, Criticality.NOT_CRITICAL)
    client.force_login(world.responder)
    body = client.get(reverse("responses:respond", args=[story.public_id])).content.decode()
    assert MODERATED in body
    assert FAST not in body
    assert "once 10 of yours have been published. So far 0 have been published." in body


def test_the_respond_page_predicts_fast_track_for_a_trusted_responder(
    client: Client, world: World
) -> None:
    make_history(responder=world.responder, subscription=world.subscription, unedited=10)
    client.force_login(world.responder)
    mild = story_of(world, Criticality.MILDLY)
    body = client.get(reverse("responses:respond", args=[mild.public_id])).content.decode()
    assert FAST in body
    assert MODERATED not in body
    assert "If you say that your response describes a change" in body

    severe = story_of(world, Criticality.SEVERELY)
    body = client.get(reverse("responses:respond", args=[severe.public_id])).content.decode()
    assert MODERATED in body
    assert "Responses to this story are always checked by a moderator." in body


def test_the_edit_page_follows_the_change_claim(
    client: Client, world: World, clock: time_machine.Traveller
) -> None:
    story, response = trusted_response(
        world, Criticality.NOT_CRITICAL, change="planned", description="New signs"
    )
    client.force_login(world.responder)
    url = reverse("responses:edit", args=[story.public_id, response.pk])
    body = client.get(url).content.decode()
    assert "Responses that describe a change are always checked by a moderator." in body
    assert MODERATED in body
    edit_text(response, "Thank you.")
    assert FAST in client.get(url).content.decode()


# Release on the fast track ---------------------------------------------------------------


def test_a_fast_tracked_response_is_published_at_the_end_of_the_window_and_the_author_told(
    world: World, smtp_sink: SmtpSink, clock: time_machine.Traveller
) -> None:
    story, response = trusted_response(
        world, Criticality.MILDLY, body="Thank you for telling us about the night staff."
    )
    outbox_drain()
    assert smtp_sink.find(to=world.author.email) == []

    clock.shift(timedelta(minutes=30))
    outbox_drain()

    response.refresh_from_db()
    assert response.status == ModerationStatus.PUBLISHED
    assert response.fast_tracked and not response.edited_by_moderator
    assert response.published_at == START + timedelta(minutes=30)
    event = AuditEvent.objects.get(action="response.publish", object_id=str(response.pk))
    assert event.actor is None and event.actor_label == "system"
    assert event.reason == "fast track"
    assert event.changes == {"status": ["editable", "published"], "fast_tracked": True}
    emails = smtp_sink.find(to=world.author.email, subject_contains="has responded")
    assert len(emails) == 1
    assert f"/stories/{story.public_id}/#response-{response.pk}" in emails[0].text
    assert "Riverside NHS Trust" in emails[0].text
    page = Client().get(reverse("stories:detail", args=[story.public_id])).content.decode()
    assert "Thank you for telling us about the night staff." in page


def test_a_change_claim_from_a_trusted_responder_goes_to_moderation(
    world: World, clock: time_machine.Traveller
) -> None:
    _, response = trusted_response(
        world, Criticality.NOT_CRITICAL, change="made", description="We fixed the heating."
    )
    clock.shift(timedelta(minutes=30))
    outbox_drain()
    response.refresh_from_db()
    assert response.status == ModerationStatus.IN_MODERATION
    assert not response.fast_tracked
    assert AuditEvent.objects.get(action="response.release").reason.endswith("change_claim")


def test_the_decision_is_taken_again_at_release_time(
    world: World, clock: time_machine.Traveller
) -> None:
    """Told "fast track" when sending, but the story was rated severe meanwhile: moderated."""
    story, response = trusted_response(world, Criticality.NOT_CRITICAL)
    Story.objects.filter(pk=story.pk).update(criticality=Criticality.SEVERELY)
    clock.shift(timedelta(minutes=30))
    outbox_drain()
    response.refresh_from_db()
    assert response.status == ModerationStatus.IN_MODERATION


def test_author_replies_are_always_moderated(world: World) -> None:
    make_history(responder=world.responder, subscription=world.subscription, unedited=10)
    response = ResponseFactory(
        story=story_of(world, Criticality.NOT_CRITICAL),
        responder=world.responder,
        subscription=world.subscription,
        published=True,
        fast_tracked=True,
    )
    reply = reply_post(
        response=response, author=world.author, body="Thank you!", idempotency_key=uuid.uuid4()
    )
    assert reply.status == ModerationStatus.IN_MODERATION


def test_publishing_with_a_moderators_change_marks_the_response_edited(
    world: World, smtp_sink: SmtpSink
) -> None:
    """The shared publication step, as the moderator's decision would call it."""
    response = ResponseFactory(
        story=story_of(world, Criticality.MILDLY),
        responder=world.responder,
        subscription=world.subscription,
    )
    response_mark_published(
        response=response,
        version=response.version,
        from_status=ModerationStatus.IN_MODERATION,
        body="Thank you for your story (edited).",
        actor=world.moderator,
    )
    response.refresh_from_db()
    assert response.status == ModerationStatus.PUBLISHED
    assert response.edited_by_moderator and not response.fast_tracked
    assert response.original_body == "Thank you for your story."
    event = AuditEvent.objects.get(action="response.publish")
    assert event.actor == world.moderator
    assert event.changes == {"status": ["in_moderation", "published"], "body": "edited"}
    outbox_drain()
    assert len(smtp_sink.find(to=world.author.email, subject_contains="has responded")) == 1
    record = responder_record(responder=world.responder)
    assert (record.recent_unedited, record.recent_edited) == (0, 1)
