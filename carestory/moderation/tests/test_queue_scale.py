"""The moderation queue at national scale: a fixed number of queries however long the queues
are, counts of the whole queue when only the first items are listed, and rows that show the
same as before they were read as plain values (services, workbench link, claim)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from carestory.moderation import selectors
from carestory.moderation.models import AuthorQuestion
from carestory.moderation.selectors import moderation_queues
from carestory.responses.models import Response
from carestory.stories.models import Story
from conftest import World
from tests.factories import ReplyFactory, ResponseFactory, ServiceFactory, StoryFactory

from .test_workbench import another_moderator, section, signed_in

pytestmark = pytest.mark.django_db

# One for the four story counts, two for each of the four story queues (rows, their
# services), one each for the response and reply queues (rows with their count).
QUEUE_QUERIES = 11


def _one_of_everything(world: World) -> None:
    """A row for every queue, each with what makes a row cost more to read: several services,
    a running claim, an answered question, a response with a change, a reply."""
    now = timezone.now()
    claimer = another_moderator(full_name="Pat Second")
    for status in Story.Status.IN_MODERATION, Story.Status.AWAITING_AUTHOR, Story.Status.HELD:
        story = StoryFactory(
            services=[world.ward, world.hospital],
            status=status,
            urgent=True,
            claimed_by=claimer,
            claimed_until=now + timedelta(minutes=10),
        )
        AuthorQuestion.objects.create(
            story=story, moderator=claimer, question="Which ward?", answer="1", answered_at=now
        )
    StoryFactory(
        services=[world.ward],
        status=Story.Status.PROVIDER_REVIEW,
        provider_review_due_at=now + timedelta(hours=70),
    )
    ResponseFactory(
        story=StoryFactory(published=True, services=[world.ward]),
        subscription=world.subscription,
        change=Response.Change.PLANNED,
    )
    ReplyFactory()


def test_the_queues_take_a_fixed_number_of_queries_however_long_they_are(
    world: World, django_assert_num_queries: Any
) -> None:
    _one_of_everything(world)
    with django_assert_num_queries(QUEUE_QUERIES):
        few = moderation_queues(limit=2)
    for _ in range(4):
        _one_of_everything(world)
    with django_assert_num_queries(QUEUE_QUERIES):
        many = moderation_queues(limit=2)

    assert {key: queue.count for key, queue in few.items()} == dict.fromkeys(few, 1)
    assert {key: queue.count for key, queue in many.items()} == dict.fromkeys(many, 5)
    assert {key: len(queue.items) for key, queue in many.items()} == dict.fromkeys(many, 2)


def test_the_queue_page_makes_the_same_queries_with_full_queues(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the page (middleware, session and template included): no template reads
    anything per row that the selectors did not fetch."""
    monkeypatch.setattr(selectors, "QUEUE_LIMIT", 3)
    client = signed_in(world.moderator)
    _one_of_everything(world)
    client.get(reverse("moderation:queue"))  # the session and anything cached once

    def queries() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("moderation:queue")).status_code == 200
        return [q["sql"] for q in captured.captured_queries]

    few = queries()
    for _ in range(5):
        _one_of_everything(world)
    many = queries()

    assert len(many) == len(few)
    html = client.get(reverse("moderation:queue")).content.decode()
    assert "Showing the first 3 of 6." in section(html, "new")


def test_empty_queues_count_nothing_and_skip_the_services_query(
    world: World, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(7):  # the count, four story queues, responses, replies
        queues = moderation_queues()
    assert all(queue.count == 0 and queue.items == [] for queue in queues.values())


def test_response_and_reply_counts_are_the_whole_queue(world: World) -> None:
    for _ in range(3):
        ResponseFactory(
            story=StoryFactory(published=True, services=[world.ward]),
            subscription=world.subscription,
        )
        ReplyFactory()
    ResponseFactory(story=StoryFactory(withdrawn=True), subscription=world.subscription)
    ResponseFactory(
        story=StoryFactory(published=True, services=[world.ward]),
        subscription=world.subscription,
        published=True,
    )

    queues = moderation_queues(limit=2)

    assert (queues["responses"].count, len(queues["responses"].items)) == (3, 2)
    assert (queues["replies"].count, len(queues["replies"].items)) == (3, 2)


def test_a_row_lists_its_services_alphabetically_and_links_to_the_workbench(
    world: World,
) -> None:
    zebra = ServiceFactory(code="RXX02", name="Zebra Unit", parent=world.trust)
    story = StoryFactory(
        services=[zebra, world.ward, world.hospital], original_title="Three services"
    )
    other = StoryFactory(services=[world.other_ward], original_title="One service")

    html = section(
        signed_in(world.moderator).get(reverse("moderation:queue")).content.decode(), "new"
    )

    row = html[html.index("Three services") : html.index("</tr>", html.index("Three services"))]
    assert "Riverside Hospital, Ward 1, Zebra Unit" in row
    assert "Hilltop Ward" not in row
    assert f'href="{reverse("moderation:story", args=[story.public_id])}"' in html
    assert f'href="{reverse("moderation:story", args=[other.public_id])}"' in html


def test_a_claim_by_a_moderator_without_a_name_still_says_who(world: World) -> None:
    nameless = another_moderator(full_name="")
    StoryFactory(
        services=[world.ward],
        original_title="Claimed one",
        claimed_by=nameless,
        claimed_until=timezone.now() + timedelta(minutes=10),
    )

    html = signed_in(world.moderator).get(reverse("moderation:queue")).content.decode()

    assert f"Being moderated by user {nameless.pk} until" in html
