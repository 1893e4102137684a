"""The moderation queues; shared helpers for the other workbench tests."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from carestory.accounts.models import User
from carestory.moderation.models import AuthorQuestion, ProviderReview
from carestory.moderation.selectors import moderation_queues
from carestory.moderation.services.edits import StoryEdit
from carestory.services.models import Service
from carestory.stories.models import Story, Tag
from conftest import World
from tests.factories import ReplyFactory, ResponseFactory, ServiceFactory, StoryFactory, UserFactory

pytestmark = pytest.mark.django_db


# --- Helpers shared by the workbench tests ---------------------------------------------------


def another_moderator(*, full_name: str = "Pat Second", senior: bool = False) -> User:
    user: User = UserFactory(moderator=True, full_name=full_name, is_senior_moderator=senior)
    return user


def story_edit(world: World, *, version: int, **overrides: Any) -> StoryEdit:
    """A moderator's edit of ``version`` for the service functions that save the public
    version; ``tags`` and ``services`` may be given as lists."""
    values: dict[str, Any] = {
        "title": "Public title",
        "body": "Public body",
        "criticality": 2,
        "tags": [(Tag.objects.get(slug="communication"), 1)],
        "services": [world.ward],
    }
    values.update(overrides)
    values["tags"], values["services"] = tuple(values["tags"]), tuple(values["services"])
    return StoryEdit(version=version, **values)


def form_data(story: Story, **overrides: Any) -> dict[str, Any]:
    """What the workbench form posts."""
    data: dict[str, Any] = {
        "version": str(story.version),
        "title": "Public title",
        "body": "Public body",
        "criticality": "2",
        "service_codes": ", ".join(story.services.values_list("code", flat=True)) or "RXX01-W1",
        "note": "",
        "question": "",
        "reason": "",
        "message": "",
        "action": "save",
    }
    data.update(overrides)
    return data


def review_service(world: World, *, code: str = "RXX-GP1") -> Service:
    """A GP practice in the Riverside subscription's scope that has provider review."""
    gp: Service = ServiceFactory(code=code, name="Riverside Surgery", parent=world.trust)
    Service.objects.filter(pk=gp.pk).update(provider_review=True)
    gp.refresh_from_db()
    return gp


def section(html: str, key: str) -> str:
    """The HTML of one queue's section on the queue page."""
    start = html.index(f'<section aria-labelledby="queue-{key}">')
    return html[start : html.index("</section>", start)]


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- Queues ----------------------------------------------------------------------------------


def test_each_queue_holds_its_own_items(world: World) -> None:
    new = StoryFactory(services=[world.ward], original_title="New one")
    waiting = StoryFactory(
        services=[world.ward], status=Story.Status.AWAITING_AUTHOR, original_title="Asked one"
    )
    with_provider = StoryFactory(
        services=[world.ward],
        status=Story.Status.PROVIDER_REVIEW,
        provider_review_due_at=timezone.now() + timedelta(hours=72),
        original_title="Provider one",
    )
    held = StoryFactory(
        services=[world.ward],
        status=Story.Status.HELD,
        safeguarding_level=2,
        original_title="Held one",
    )
    StoryFactory(services=[world.ward], published=True, original_title="Published one")
    StoryFactory(services=[world.ward], withdrawn=True, original_title="Withdrawn one")
    StoryFactory(services=[world.ward], unverified=True, original_title="Unconfirmed one")
    response = ResponseFactory(
        story=StoryFactory(published=True, services=[world.ward]), subscription=world.subscription
    )
    reply = ReplyFactory()

    html = signed_in(world.moderator).get(reverse("moderation:queue")).content.decode()

    expected = {
        "new": new.original_title,
        "awaiting_author": waiting.original_title,
        "provider_review": with_provider.original_title,
        "held": held.original_title,
    }
    for key, title in expected.items():
        assert title in section(html, key), key
        for other_key in expected.keys() - {key}:
            assert title not in section(html, other_key)
    assert reverse("moderation:response", args=[response.pk]) in section(html, "responses")
    assert reverse("moderation:reply", args=[reply.pk]) in section(html, "replies")
    for absent in ("Published one", "Withdrawn one", "Unconfirmed one"):
        assert absent not in html


def test_urgent_stories_come_first_then_the_oldest(world: World) -> None:
    now = timezone.now()
    oldest = StoryFactory(services=[world.ward], verified_at=now - timedelta(days=3))
    urgent_new = StoryFactory(services=[world.ward], verified_at=now, urgent=True)
    middle = StoryFactory(services=[world.ward], verified_at=now - timedelta(days=1))
    urgent_old = StoryFactory(
        services=[world.ward], verified_at=now - timedelta(days=2), urgent=True
    )

    queue = moderation_queues()["new"]

    assert [s.pk for s in queue.items] == [urgent_old.pk, urgent_new.pk, oldest.pk, middle.pk]
    html = signed_in(world.moderator).get(reverse("moderation:queue")).content.decode()
    new_section = section(html, "new")
    positions = [
        new_section.index(s.original_title) for s in (urgent_old, urgent_new, oldest, middle)
    ]
    assert positions == sorted(positions)
    assert new_section.count(">Urgent</strong>") == 2


def test_held_queue_puts_urgent_first_and_provider_queue_the_soonest_due(world: World) -> None:
    now = timezone.now()
    held_old = StoryFactory(
        services=[world.ward], status=Story.Status.HELD, verified_at=now - timedelta(days=5)
    )
    held_urgent = StoryFactory(
        services=[world.ward], status=Story.Status.HELD, verified_at=now, urgent=True
    )
    later = StoryFactory(
        services=[world.ward],
        status=Story.Status.PROVIDER_REVIEW,
        provider_review_due_at=now + timedelta(hours=70),
    )
    sooner = StoryFactory(
        services=[world.ward],
        status=Story.Status.PROVIDER_REVIEW,
        provider_review_due_at=now + timedelta(hours=2),
    )

    queues = moderation_queues()

    assert [s.pk for s in queues["held"].items] == [held_urgent.pk, held_old.pk]
    assert [s.pk for s in queues["provider_review"].items] == [sooner.pk, later.pk]


def test_each_queue_shows_its_count(world: World) -> None:
    for _ in range(3):
        StoryFactory(services=[world.ward])
    StoryFactory(services=[world.ward], status=Story.Status.HELD)
    ReplyFactory()
    ReplyFactory()

    html = signed_in(world.moderator).get(reverse("moderation:queue")).content.decode()

    assert re.search(r"New stories \(3\)</h2>", html)
    assert re.search(r"Held: safeguarding and review requests \(1\)</h2>", html)
    assert re.search(r"Author replies \(2\)</h2>", html)
    assert re.search(r"Staff responses \(0\)</h2>", html)
    assert re.search(r"Waiting for the author \(0\)</h2>", html)
    assert re.search(r"With the provider \(0\)</h2>", html)
    start = html.index('aria-label="Queues"')
    nav = html[start : html.index("</nav>", start)]
    assert re.search(r'New stories <span class="nhsuk-tag">3</span>', nav)


def test_the_count_is_the_whole_queue_even_when_only_the_first_items_are_listed(
    world: World,
) -> None:
    for _ in range(4):
        StoryFactory(services=[world.ward])

    queue = moderation_queues(limit=2)["new"]

    assert queue.count == 4
    assert len(queue.items) == 2


def test_an_answered_story_is_back_in_the_new_queue_marked_as_answered(world: World) -> None:
    story = StoryFactory(services=[world.ward], original_title="Answered one")
    AuthorQuestion.objects.create(
        story=story,
        moderator=world.moderator,
        question="Which ward?",
        answer="Ward 1",
        answered_at=timezone.now(),
    )

    html = signed_in(world.moderator).get(reverse("moderation:queue")).content.decode()

    assert "Author answered" in section(html, "new")


def test_rows_show_who_is_moderating_each_story(world: World, time_machine: Any) -> None:
    time_machine.move_to(timezone.now(), tick=False)
    other = another_moderator(full_name="Pat Second")
    now = timezone.now()
    claimed = StoryFactory(
        services=[world.ward], claimed_by=other, claimed_until=now + timedelta(minutes=10)
    )
    mine = StoryFactory(
        services=[world.ward],
        claimed_by=world.moderator,
        claimed_until=now + timedelta(minutes=5),
    )
    expired = StoryFactory(
        services=[world.ward], claimed_by=other, claimed_until=now - timedelta(minutes=1)
    )

    html = signed_in(world.moderator).get(reverse("moderation:queue")).content.decode()

    until = timezone.localtime(claimed.claimed_until).strftime("%H:%M")
    row = _row(html, claimed)
    assert f"Being moderated by Pat Second until {until}" in row
    assert "You, until " + timezone.localtime(mine.claimed_until).strftime("%H:%M") in _row(
        html, mine
    )
    assert "Free" in _row(html, expired)
    assert "Pat Second" not in _row(html, expired)


def _row(html: str, story: Story) -> str:
    start = html.index(story.original_title)
    return html[start : html.index("</tr>", start)]


def test_the_queue_page_makes_a_fixed_number_of_queries(world: World) -> None:
    client = signed_in(world.moderator)

    def one_of_each() -> None:
        StoryFactory(services=[world.ward, world.hospital])
        for status in ("awaiting_author", "provider_review", "held"):
            StoryFactory(services=[world.ward, world.hospital], status=status)
        ResponseFactory(
            story=StoryFactory(published=True, services=[world.ward]),
            subscription=world.subscription,
        )
        ReplyFactory()

    one_of_each()
    client.get(reverse("moderation:queue"))  # warm up the session

    def count_queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("moderation:queue")).status_code == 200
        return len(captured)

    few = count_queries()
    for _ in range(5):
        one_of_each()
    assert count_queries() == few  # no query per row


@pytest.mark.parametrize("persona", ["author", "responder", "admin", "member", "reader"])
def test_the_queue_and_workbench_are_404_for_everyone_but_moderators(
    world: World, persona: str
) -> None:
    story = StoryFactory(services=[world.ward])
    client = signed_in(getattr(world, persona))

    for url in (
        reverse("moderation:queue"),
        reverse("moderation:story", args=[story.public_id]),
    ):
        assert client.get(url).status_code == 404
    for name in ("story_release", "story_services", "story_question_cancel"):
        url = reverse(f"moderation:{name}", args=[story.public_id])
        assert client.post(url, {"version": "1", "service_codes": "RXX01"}).status_code == 404
    story.refresh_from_db()
    assert story.claimed_by is None and story.version == 1


def test_a_withdrawn_story_is_404_on_the_workbench(world: World) -> None:
    story = StoryFactory(services=[world.ward], withdrawn=True)
    client = signed_in(world.moderator)

    assert client.get(reverse("moderation:story", args=[story.public_id])).status_code == 404
    response = client.post(
        reverse("moderation:story", args=[story.public_id]), form_data(story, action="publish")
    )
    assert response.status_code == 404
    story.refresh_from_db()
    assert story.status == Story.Status.WITHDRAWN


def test_provider_review_rows_show_when_they_will_be_published(world: World) -> None:
    due = timezone.now() + timedelta(hours=30)
    story = StoryFactory(
        services=[world.ward], status=Story.Status.PROVIDER_REVIEW, provider_review_due_at=due
    )
    ProviderReview.objects.create(story=story, due_at=due)

    html = signed_in(world.moderator).get(reverse("moderation:queue")).content.decode()

    assert timezone.localtime(due).strftime("%H:%M") in _row(html, story)
