from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from carestory.accounts.models import User
from carestory.audit.models import AuditEvent
from carestory.lib.errors import ConflictError, NotAllowed
from carestory.moderation.models import ModeratorNote
from carestory.moderation.services.decisions import story_publish, story_reject
from carestory.moderation.services.edits import story_moderate_save
from carestory.outbox.models import OutboxMessage
from carestory.outbox.services import outbox_drain
from carestory.outbox.testing import SmtpSink
from carestory.stories.models import Story
from conftest import World
from tests.concurrency import at_once
from tests.factories import StoryFactory

from .test_workbench import story_edit

pytestmark = pytest.mark.django_db


def publish(story: Story, world: World, moderator: User | None = None, **overrides: Any) -> None:
    """Publish with an edit of the story's current version; ``overrides`` change the edit."""
    edit = story_edit(world, version=story.version, **overrides)
    story_publish(story=story, moderator=moderator or world.moderator, edit=edit)


def test_publish_keeps_original_records_audit_and_queues_work(world: World) -> None:
    story = StoryFactory(
        author=world.author, services=[world.ward], original_body="Nurse Jane was kind"
    )
    publish(story, world, body="The nurse was kind", note="Removed a staff name")

    story.refresh_from_db()
    assert story.status == Story.Status.PUBLISHED
    assert story.published_at is not None and story.moderated_by == world.moderator
    assert story.original_body == "Nurse Jane was kind"  # the author's words are never changed
    assert story.body == "The nurse was kind"
    assert story.criticality == 2
    assert ModeratorNote.objects.get(story=story).text == "Removed a staff name"
    event = AuditEvent.objects.get(action="story.publish", object_id=story.public_id)
    assert event.actor == world.moderator
    assert event.changes["body"] == "edited"
    assert event.changes["status"] == ["in_moderation", "published"]
    assert "Nurse Jane" not in str(event.changes)  # the audit log holds no story text
    keys = set(OutboxMessage.objects.values_list("dedupe_key", flat=True))
    assert f"story-published:{story.pk}:author" in keys
    assert f"alerts.story_published:{story.pk}" in keys


def test_publish_needs_criticality_and_a_moderator(world: World) -> None:
    story = StoryFactory(services=[world.ward])
    with pytest.raises(ValidationError):
        publish(story, world, criticality=None)
    with pytest.raises(NotAllowed):
        publish(story, world, moderator=world.responder)
    story.refresh_from_db()
    assert story.status == Story.Status.IN_MODERATION
    assert not AuditEvent.objects.filter(action="story.publish").exists()


def test_two_moderators_saving_the_same_version_one_wins(world: World) -> None:
    story = StoryFactory(services=[world.ward])
    publish(story, world)
    stale = Story.objects.get(pk=story.pk)
    stale.status = Story.Status.IN_MODERATION  # what the second moderator's page still showed
    stale.version = 1
    with pytest.raises(ConflictError):
        story_reject(
            story=stale, moderator=world.moderator, version=1, reason="duplicate", message="Sorry"
        )
    story.refresh_from_db()
    assert story.status == Story.Status.PUBLISHED
    assert AuditEvent.objects.filter(object_id=story.public_id).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_publish_and_reject_exactly_one_wins() -> None:
    world = World()
    story = StoryFactory(services=[world.ward])
    own = {action: Story.objects.get(pk=story.pk) for action in ("publish", "reject")}

    def run(action: str) -> None:
        if action == "publish":
            publish(own[action], world)
        else:
            story_reject(
                story=own[action],
                moderator=world.moderator,
                version=1,
                reason="duplicate",
                message="x",
            )

    outcomes = at_once(run, ["publish", "reject"])
    raised = [type(outcome) for outcome in outcomes if isinstance(outcome, Exception)]
    assert raised == [ConflictError], outcomes
    story.refresh_from_db()
    assert story.status in (Story.Status.PUBLISHED, Story.Status.REJECTED)
    assert story.version == 2


def test_reject_emails_the_reason(world: World, smtp_sink: SmtpSink) -> None:
    story = StoryFactory(author=world.author, services=[world.ward])
    story_reject(
        story=story,
        moderator=world.moderator,
        version=1,
        reason="too_old",
        message="Your story is about events in 2019.",
    )
    outbox_drain()
    story.refresh_from_db()
    assert story.status == Story.Status.REJECTED and story.rejection_reason == "too_old"
    [email] = smtp_sink.find(to=world.author.email)
    assert "Events more than 3 years ago" in email.text
    assert "events in 2019" in email.text
    assert AuditEvent.objects.filter(action="story.reject", reason="too_old").exists()


def test_reject_needs_a_known_reason(world: World) -> None:
    story = StoryFactory(services=[world.ward])
    with pytest.raises(ValidationError):
        story_reject(story=story, moderator=world.moderator, version=1, reason="bored", message="x")
    story.refresh_from_db()
    assert story.status == Story.Status.IN_MODERATION


def test_save_edits_without_deciding(world: World) -> None:
    story = StoryFactory(services=[world.ward])
    story_moderate_save(
        story=story,
        moderator=world.moderator,
        edit=story_edit(
            world,
            version=1,
            title="Better title",
            body="Better body",
            criticality=None,
            tags=[],
            services=[world.hospital],
        ),
    )
    story.refresh_from_db()
    assert (story.status, story.title, story.version) == (
        Story.Status.IN_MODERATION,
        "Better title",
        2,
    )
    assert list(story.services.all()) == [world.hospital]
    event = AuditEvent.objects.get(action="story.edit")
    assert event.changes["services"] == [["RXX01-W1"], ["RXX01"]]
