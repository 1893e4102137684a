"""Claims: opening a story claims it for 15 minutes; others see who has it; it runs out."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from carestory.audit.models import AuditEvent
from carestory.moderation.services.claims import story_claim
from carestory.moderation.services.decisions import story_publish
from carestory.moderation.services.edits import story_moderate_save
from carestory.stories.models import Story
from conftest import World
from tests.concurrency import at_once
from tests.factories import StoryFactory

from .test_workbench import another_moderator, form_data, signed_in, story_edit

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 14, 0, tzinfo=timezone.get_default_timezone())


@pytest.fixture
def frozen(time_machine: Any) -> Any:
    time_machine.move_to(START, tick=False)
    return time_machine


def hhmm(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%H:%M")


def test_opening_a_story_claims_it_for_15_minutes(world: World, frozen: Any) -> None:
    story = StoryFactory(services=[world.ward])

    page = signed_in(world.moderator).get(reverse("moderation:story", args=[story.public_id]))

    assert page.status_code == 200
    story.refresh_from_db()
    assert story.claimed_by == world.moderator
    assert story.claimed_until == START + timedelta(minutes=15)
    assert "You are moderating this story until 14:15" in page.content.decode()
    assert AuditEvent.objects.filter(action="story.claim", object_id=story.public_id).count() == 1


def test_another_moderator_sees_who_has_it_and_can_still_read_it(world: World, frozen: Any) -> None:
    story = StoryFactory(services=[world.ward], original_body="The private original words")
    signed_in(world.moderator).get(reverse("moderation:story", args=[story.public_id]))
    frozen.shift(timedelta(minutes=5))
    other = another_moderator(full_name="Pat Second")

    page = signed_in(other).get(reverse("moderation:story", args=[story.public_id]))

    html = page.content.decode()
    assert page.status_code == 200
    assert "Being moderated by Mo Derator until 14:15" in html
    assert "The private original words" in html
    assert 'name="action" value="publish"' in html  # still able to act
    story.refresh_from_db()
    assert story.claimed_by == world.moderator  # the claim did not move


def test_a_claim_runs_out_after_15_minutes(world: World, frozen: Any) -> None:
    story = StoryFactory(services=[world.ward])
    signed_in(world.moderator).get(reverse("moderation:story", args=[story.public_id]))
    other = another_moderator()

    frozen.shift(timedelta(minutes=14, seconds=59))
    signed_in(other).get(reverse("moderation:story", args=[story.public_id]))
    story.refresh_from_db()
    assert story.claimed_by == world.moderator

    frozen.shift(timedelta(seconds=1))
    page = signed_in(other).get(reverse("moderation:story", args=[story.public_id]))
    story.refresh_from_db()
    assert story.claimed_by == other
    assert story.claimed_until == START + timedelta(minutes=30)
    assert "You are moderating this story until 14:30" in page.content.decode()


def test_saving_refreshes_the_claim(world: World, frozen: Any) -> None:
    story = StoryFactory(services=[world.ward])
    client = signed_in(world.moderator)
    client.get(reverse("moderation:story", args=[story.public_id]))
    frozen.shift(timedelta(minutes=10))

    response = client.post(
        reverse("moderation:story", args=[story.public_id]), form_data(story, action="save")
    )

    assert response.status_code == 302
    story.refresh_from_db()
    assert story.claimed_by == world.moderator
    assert story.claimed_until == START + timedelta(minutes=25)
    # Refreshing one's own claim is not a new claim.
    assert AuditEvent.objects.filter(action="story.claim").count() == 1


def test_saving_does_not_take_someone_elses_running_claim(world: World, frozen: Any) -> None:
    story = StoryFactory(services=[world.ward])
    signed_in(world.moderator).get(reverse("moderation:story", args=[story.public_id]))
    other = another_moderator()

    story_moderate_save(story=story, moderator=other, edit=story_edit(world, version=1))

    story.refresh_from_db()
    assert story.version == 2
    assert story.claimed_by == world.moderator
    assert story.claimed_until == START + timedelta(minutes=15)


def test_a_decision_ends_the_claim(world: World, frozen: Any) -> None:
    story = StoryFactory(services=[world.ward])
    story_claim(story=story, moderator=world.moderator)

    story_publish(story=story, moderator=world.moderator, edit=story_edit(world, version=1))

    story.refresh_from_db()
    assert story.status == Story.Status.PUBLISHED
    assert story.claimed_by is None and story.claimed_until is None


def test_releasing_gives_the_story_back(world: World, frozen: Any) -> None:
    story = StoryFactory(services=[world.ward])
    client = signed_in(world.moderator)
    client.get(reverse("moderation:story", args=[story.public_id]))

    response = client.post(reverse("moderation:story_release", args=[story.public_id]))

    assert response.status_code == 302
    story.refresh_from_db()
    assert story.claimed_by is None
    assert AuditEvent.objects.filter(action="story.release").count() == 1
    # Someone else's claim cannot be released.
    story_claim(story=story, moderator=another_moderator())
    client.post(reverse("moderation:story_release", args=[story.public_id]))
    story.refresh_from_db()
    assert story.claimed_by is not None


def test_a_get_claims_only_stories_the_moderator_can_decide(world: World, frozen: Any) -> None:
    held = StoryFactory(services=[world.ward], status=Story.Status.HELD)
    published = StoryFactory(services=[world.ward], published=True)
    client = signed_in(world.moderator)  # not a senior moderator

    for story in (held, published):
        assert client.get(reverse("moderation:story", args=[story.public_id])).status_code == 200
        story.refresh_from_db()
        assert story.claimed_by is None

    senior = another_moderator(senior=True)
    signed_in(senior).get(reverse("moderation:story", args=[held.public_id]))
    held.refresh_from_db()
    assert held.claimed_by == senior


def test_a_head_request_claims_nothing(world: World) -> None:
    story = StoryFactory(services=[world.ward])

    signed_in(world.moderator).head(reverse("moderation:story", args=[story.public_id]))

    story.refresh_from_db()
    assert story.claimed_by is None


@pytest.mark.django_db(transaction=True)
def test_two_moderators_opening_at_once_exactly_one_claims() -> None:
    world = World()
    story = StoryFactory(services=[world.ward])
    moderators = [world.moderator, another_moderator()]
    own = {moderator.pk: Story.objects.get(pk=story.pk) for moderator in moderators}

    outcomes = at_once(lambda m: story_claim(story=own[m.pk], moderator=m), moderators)

    assert outcomes in ([True, False], [False, True]), outcomes  # one claims, no error
    winner = next(m.pk for m, won in zip(moderators, outcomes, strict=True) if won is True)
    story.refresh_from_db()
    assert story.claimed_by_id == winner
    assert AuditEvent.objects.filter(action="story.claim").count() == 1
