"""Who may act on a story in which state, as the moderation services ask it: the decisions
(``stories/lifecycle.can_decide``: held stories, senior moderators only) and the services change
(``can_change_services``: any moderator while the story waits for the author too)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from carestory.accounts.models import User
from carestory.lib.errors import ConflictError, NotAllowed
from carestory.moderation.services import questions, safeguarding
from carestory.moderation.services.checks import require_moderator
from carestory.moderation.services.edits import story_services_change
from carestory.moderation.tests.test_workbench import another_moderator, story_edit
from carestory.stories.lifecycle import (
    DECIDABLE,
    TRANSITIONS,
    can_change_services,
    decidable_statuses,
)
from carestory.stories.models import Story
from conftest import World
from tests.factories import StoryFactory, UserFactory

pytestmark = pytest.mark.django_db

S = Story.Status


def _ask(world: World, story: Story, moderator: User) -> object:
    return questions.story_question_ask(
        story=story, moderator=moderator, edit=story_edit(world, version=1), question="When?"
    )


def _hold(world: World, story: Story, moderator: User) -> object:
    edit = story_edit(world, version=1, note="A concern")
    return safeguarding.story_safeguarding_hold(story=story, moderator=moderator, edit=edit)


DECISIONS: dict[str, tuple[str, Callable[[World, Story, User], object]]] = {
    "ask": ("story.question_ask", _ask),
    "hold": ("story.safeguarding_hold", _hold),
}


@pytest.mark.parametrize("name", sorted(DECISIONS))
def test_asking_and_holding_start_only_where_someone_decides(world: World, name: str) -> None:
    action, decide = DECISIONS[name]
    sources = {source for source, a, _ in TRANSITIONS if a == action}
    assert sources <= set(DECIDABLE)
    if S.HELD in sources:  # then a plain moderator must be refused on a held story
        story = StoryFactory(services=[world.ward], status=S.HELD)
        with pytest.raises(NotAllowed):
            decide(world, story, world.moderator)
    else:  # the diagram has no way out of held by this decision: the story has moved on
        for moderator in (world.moderator, another_moderator(senior=True)):
            story = StoryFactory(services=[world.ward], status=S.HELD)
            with pytest.raises(ConflictError):
                decide(world, story, moderator)


def test_asking_and_holding_are_refused_to_a_non_moderator(world: World) -> None:
    reader = UserFactory()
    for _, decide in DECISIONS.values():
        story = StoryFactory(services=[world.ward], status=S.IN_MODERATION)
        with pytest.raises(NotAllowed):
            decide(world, story, reader)


@pytest.mark.parametrize("status", list(S))
def test_who_may_change_the_services_in_each_state(status: str) -> None:
    moderator = UserFactory(moderator=True)
    senior = UserFactory(moderator=True, is_senior_moderator=True)
    story = Story(status=status)
    assert can_change_services(story, moderator) == (status in (S.IN_MODERATION, S.AWAITING_AUTHOR))
    assert can_change_services(story, senior) == (status in (*DECIDABLE, S.AWAITING_AUTHOR))
    assert not can_change_services(story, UserFactory())
    assert not can_change_services(story, UserFactory(moderator=True, is_active=False))


def test_any_moderator_changes_the_services_while_the_story_waits(world: World) -> None:
    story = StoryFactory(services=[world.ward], status=S.AWAITING_AUTHOR)
    story_services_change(
        story=story, moderator=world.moderator, version=1, services=[world.hospital]
    )
    assert list(story.services.all()) == [world.hospital]


def test_a_plain_moderator_does_not_change_a_held_storys_services(world: World) -> None:
    story = StoryFactory(services=[world.ward], status=S.HELD)
    with pytest.raises(NotAllowed):
        story_services_change(
            story=story, moderator=world.moderator, version=1, services=[world.hospital]
        )
    assert list(story.services.all()) == [world.ward]


def test_a_moderator_is_an_active_user_with_the_flag(client: Client) -> None:
    # The one test of "is a moderator" (User.moderates): the workbench's decorator, the
    # services' require_moderator and the lifecycle's decidable_statuses all ask it.
    inactive = UserFactory(moderator=True, is_active=False)
    assert UserFactory(moderator=True).moderates
    assert not inactive.moderates and not UserFactory(is_senior_moderator=True).moderates
    client.force_login(inactive)
    assert client.get(reverse("moderation:queue")).status_code in (302, 404)
    assert decidable_statuses(inactive) == ()
    with pytest.raises(NotAllowed):
        require_moderator(inactive)
