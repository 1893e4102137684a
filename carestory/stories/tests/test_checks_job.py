"""The automated checks run in the worker after the story is saved: a failing or slow check can
never lose a story or keep the author waiting."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from carestory.outbox.models import OutboxMessage
from carestory.outbox.services import outbox_drain
from carestory.stories.models import Story
from carestory.stories.services import story_author_edit, story_submit
from carestory.stories.tests.test_services import draft
from carestory.stories.tests.test_views import TELL, form_data
from conftest import World

pytestmark = pytest.mark.django_db

AT_RISK = "Sometimes I think everyone would be better off without me."


def _explode(**kwargs: Any) -> None:
    raise RuntimeError("the checks are broken")


def test_a_story_is_saved_and_acknowledged_when_the_checks_fail(
    client: Client, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("carestory.stories.services.analyse", _explode)
    response = client.post(TELL, form_data(world, body=AT_RISK))
    assert response.status_code == 302  # "check your email", not a 500
    story = Story.objects.get()
    assert story.original_body == AT_RISK
    assert story.checked_at is None
    job = OutboxMessage.objects.get(job_name="stories.check")

    outbox_drain()
    job.refresh_from_db()
    # The worker keeps trying with backoff; the story waits, unchecked, and is still there.
    assert job.status == OutboxMessage.Status.PENDING
    assert job.attempts == 1 and "RuntimeError" in job.last_error
    assert AT_RISK not in job.last_error
    assert Story.objects.get().checked_at is None

    monkeypatch.undo()
    OutboxMessage.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    outbox_drain()
    story.refresh_from_db()
    assert story.checked_at is not None
    assert story.urgent and "SAFEGUARDING" in story.automod_flags


def test_the_checks_do_not_run_while_the_author_waits(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def analyse(**kw: object) -> None:
        calls.append("ran")
        pytest.fail("analysed in the request")

    monkeypatch.setattr("carestory.stories.services.analyse", analyse)
    story_submit(draft=draft(world, body=AT_RISK), idempotency_key=uuid.uuid4())
    assert calls == []


def test_an_author_edit_queues_the_checks_again(world: World) -> None:
    story = story_submit(
        draft=draft(world, email=world.author.email), idempotency_key=uuid.uuid4()
    ).story
    outbox_drain()
    story.refresh_from_db()
    assert story.checked_at is not None and not story.urgent

    story_author_edit(
        story=story, author=story.author, title=story.title, body=AT_RISK, version=story.version
    )
    story.refresh_from_db()
    assert story.checked_at is None  # the new words are not checked yet
    outbox_drain()
    story.refresh_from_db()
    assert story.checked_at is not None and story.urgent


def test_the_workbench_says_when_a_story_is_not_checked_yet(world: World) -> None:
    story = story_submit(
        draft=draft(world, email=world.author.email),
        idempotency_key=uuid.uuid4(),
        signed_in=world.author,
    ).story
    world.author.email_verified_at = timezone.now()
    moderator = Client()
    moderator.force_login(world.moderator)
    Story.objects.filter(pk=story.pk).update(status=Story.Status.IN_MODERATION)
    url = reverse("moderation:story", args=[story.public_id])
    page = moderator.get(url).content.decode()
    assert "have not run on this version yet" in page
    assert "Not checked yet" in moderator.get(reverse("moderation:queue")).content.decode()
    outbox_drain()
    page = moderator.get(url).content.decode()
    assert "have not run on this version yet" not in page


def test_a_checks_job_for_a_deleted_story_does_nothing(world: World) -> None:
    story = story_submit(draft=draft(world), idempotency_key=uuid.uuid4()).story
    Story.objects.filter(pk=story.pk).delete()
    outbox_drain()
    job = OutboxMessage.objects.get(job_name="stories.check")
    assert job.status == OutboxMessage.Status.SENT
