"""Decisions on the workbench: publish, reject, ask the author, safeguarding, held stories,
services. Every decision is in the audit log."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from carestory.accounts.models import SignInToken
from carestory.audit.models import AuditEvent
from carestory.lib.errors import ConflictError, NotAllowed
from carestory.moderation.models import AuthorQuestion, ModeratorNote
from carestory.moderation.services.decisions import story_publish, story_reject
from carestory.moderation.services.edits import story_moderate_save, story_services_change
from carestory.moderation.services.questions import story_question_ask
from carestory.moderation.services.safeguarding import story_safeguarding_hold
from carestory.moderation.views import _actions_for
from carestory.outbox.models import OutboxMessage
from carestory.outbox.services import outbox_drain, outbox_render
from carestory.outbox.testing import SmtpSink
from carestory.stories.models import Story
from carestory.stories.services import story_withdraw
from conftest import World
from tests.factories import StoryFactory, SubscriptionFactory

from .test_workbench import another_moderator, form_data, section, signed_in, story_edit

pytestmark = pytest.mark.django_db

ORIGINAL = "My dad, Fred Bloggs of 12 Acacia Avenue, was frightened on Ward 1."
PUBLIC = "My parent was frightened on the ward."
POSTCODE = "ZZ9 9ZZ"


def new_story(world: World, **kwargs: Any) -> Story:
    values: dict[str, Any] = {
        "author": world.author,
        "services": [world.ward],
        "original_title": "Frightened on Ward 1",
        "original_body": ORIGINAL,
        "postcode": POSTCODE,
        "age_group": "65_74",
    }
    values.update(kwargs)
    story: Story = StoryFactory(**values)
    return story


def post(client: Client, story: Story, **overrides: Any) -> Any:
    return client.post(
        reverse("moderation:story", args=[story.public_id]),
        form_data(story, title="Frightened", body=PUBLIC, **overrides),
    )


def actions_for(story: Story) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_id=story.public_id)
        .exclude(action__in=["story.claim", "story.note"])
        .order_by("id")
        .values_list("action", flat=True)
    )


# --- Publish and reject ----------------------------------------------------------------------


def test_publish_from_the_workbench(world: World) -> None:
    story = new_story(world)

    response = post(signed_in(world.moderator), story, action="publish")

    assert response.status_code == 302 and response["Location"] == reverse("moderation:queue")
    story.refresh_from_db()
    assert story.status == Story.Status.PUBLISHED and story.body == PUBLIC
    assert story.published_at is not None and story.approved_at is not None
    assert actions_for(story) == ["story.publish"]
    keys = set(OutboxMessage.objects.values_list("dedupe_key", flat=True))
    assert {f"story-published:{story.pk}:author", f"alerts.story_published:{story.pk}"} <= keys


def test_reject_with_a_reason_and_a_message(world: World, smtp_sink: SmtpSink) -> None:
    story = new_story(world)

    response = post(
        signed_in(world.moderator),
        story,
        action="reject",
        reason="too_old",
        message="Your story is about events in 2019.",
        note="Checked the dates",
    )

    assert response.status_code == 302
    story.refresh_from_db()
    assert story.status == Story.Status.REJECTED and story.rejection_reason == "too_old"
    assert AuditEvent.objects.get(action="story.reject").reason == "too_old"
    assert ModeratorNote.objects.get(story=story).text == "Checked the dates"
    outbox_drain()
    [email] = smtp_sink.find(to=world.author.email)
    assert "Events more than 3 years ago" in email.text and "events in 2019" in email.text
    assert "Checked the dates" not in email.text  # notes are private to moderators


# --- Asking the author -----------------------------------------------------------------------


def answer_path() -> str:
    message = OutboxMessage.objects.get(dedupe_key__startswith="story-question:")
    match = re.search(r"/answer/[^/\s]+/", outbox_render(message).body_text)
    assert match, outbox_render(message).body_text
    return match.group(0)


def test_ask_the_author_answer_and_back_in_the_queue(world: World, smtp_sink: SmtpSink) -> None:
    story = new_story(world)
    moderator = signed_in(world.moderator)

    asked = post(
        moderator,
        story,
        action="ask",
        question="Which ward were you on? The story names two.",
        criticality="",
    )

    assert asked.status_code == 302
    story.refresh_from_db()
    assert story.status == Story.Status.AWAITING_AUTHOR
    assert story.body == PUBLIC  # the edits so far were saved
    question = AuthorQuestion.objects.get(story=story)
    assert question.moderator == world.moderator and not question.answer
    queue = moderator.get(reverse("moderation:queue")).content.decode()
    assert story.original_title in section(queue, "awaiting_author")
    assert story.original_title not in section(queue, "new")
    path = answer_path()  # rendered from the queued row, as the worker will send it
    outbox_drain()
    [email] = smtp_sink.find(to=world.author.email, subject_contains="A question about")
    assert "Which ward were you on?" in email.text
    assert settings.SITE_URL + path in email.text

    author = Client()
    for _ in range(2):  # a mail scanner fetching the link uses nothing up
        page = author.get(path)
        assert page.status_code == 200
        assert "Which ward were you on?" in page.content.decode()
    assert SignInToken.objects.get(purpose="answer_question").used_at is None

    empty = author.post(path, {"answer": "   "})
    assert empty.status_code == 400
    assert "Write your answer" in empty.content.decode()
    story.refresh_from_db()
    assert story.status == Story.Status.AWAITING_AUTHOR

    answered = author.post(path, {"answer": "It was Ward 1, the second one was a mistake."})
    assert answered.status_code == 200
    assert "Thank you for your answer" in answered.content.decode()
    story.refresh_from_db()
    assert story.status == Story.Status.IN_MODERATION
    question.refresh_from_db()
    assert question.answer == "It was Ward 1, the second one was a mistake."
    assert question.answered_at is not None
    answer_event = AuditEvent.objects.get(action="story.question_answer")
    assert answer_event.actor == world.author
    assert "Ward 1" not in str(answer_event.changes)  # no private text in the audit log

    assert author.get(path).status_code == 404  # single use
    again = author.post(path, {"answer": "Another answer"})
    assert again.status_code == 404
    question.refresh_from_db()
    assert question.answer.startswith("It was Ward 1")

    queue = moderator.get(reverse("moderation:queue")).content.decode()
    assert story.original_title in section(queue, "new")
    assert "Author answered" in section(queue, "new")
    workbench = moderator.get(reverse("moderation:story", args=[story.public_id]))
    assert "It was Ward 1, the second one was a mistake." in workbench.content.decode()
    assert actions_for(story) == ["story.question_ask", "story.question_answer"]

    # The question and the answer stay private after publication.
    post(moderator, story, action="publish", version=str(story.version))
    story.refresh_from_db()
    assert story.status == Story.Status.PUBLISHED
    public = Client().get(story.get_absolute_url()).content.decode()
    assert "Which ward were you on?" not in public and "second one was a mistake" not in public


def test_asking_needs_a_question(world: World) -> None:
    story = new_story(world)

    response = post(signed_in(world.moderator), story, action="ask", question=" ")

    assert response.status_code == 400
    assert "Write the question for the author" in response.content.decode()
    story.refresh_from_db()
    assert (story.status, story.version) == (Story.Status.IN_MODERATION, 1)
    assert not AuthorQuestion.objects.exists() and not OutboxMessage.objects.exists()


def test_the_answer_link_expires_after_seven_days(world: World, time_machine: Any) -> None:
    time_machine.move_to(timezone.now(), tick=False)
    story = new_story(world)
    post(signed_in(world.moderator), story, action="ask", question="Which ward?")
    path = answer_path()

    time_machine.shift(timedelta(days=7, minutes=-1))
    assert Client().get(path).status_code == 200
    time_machine.shift(timedelta(minutes=2))
    assert Client().get(path).status_code == 404
    assert Client().post(path, {"answer": "Ward 1"}).status_code == 404
    story.refresh_from_db()
    assert story.status == Story.Status.AWAITING_AUTHOR


def test_a_withdrawn_story_cannot_be_answered(world: World) -> None:
    story = new_story(world)
    post(signed_in(world.moderator), story, action="ask", question="Which ward?")
    path = answer_path()
    story_withdraw(story=story, author=world.author)

    assert Client().get(path).status_code == 404
    assert Client().post(path, {"answer": "Ward 1"}).status_code == 404
    story.refresh_from_db()
    assert story.status == Story.Status.WITHDRAWN
    assert AuthorQuestion.objects.get().answer == ""


def test_stop_waiting_returns_the_story_and_kills_the_link(world: World) -> None:
    story = new_story(world)
    moderator = signed_in(world.moderator)
    post(moderator, story, action="ask", question="Which ward?")
    path = answer_path()
    story.refresh_from_db()

    response = moderator.post(
        reverse("moderation:story_question_cancel", args=[story.public_id]),
        {"version": str(story.version)},
    )

    assert response.status_code == 302
    story.refresh_from_db()
    assert story.status == Story.Status.IN_MODERATION
    assert Client().get(path).status_code == 404
    assert actions_for(story) == ["story.question_ask", "story.question_cancel"]


# --- Safeguarding ----------------------------------------------------------------------------


def test_level_1_publishes_and_signposts_the_author(world: World, smtp_sink: SmtpSink) -> None:
    story = new_story(world)

    response = post(signed_in(world.moderator), story, action="publish_signpost")

    assert response.status_code == 302
    story.refresh_from_db()
    assert story.status == Story.Status.PUBLISHED and story.safeguarding_level == 1
    event = AuditEvent.objects.get(action="story.publish")
    assert event.changes["safeguarding_level"] == [0, 1]
    outbox_drain()
    outbox_drain()
    [support] = smtp_sink.find(to=world.author.email, subject_contains="Support if you need it")
    assert "116 123" in support.text and "999" in support.text
    assert smtp_sink.find(to=world.author.email, subject_contains="Your story is published")
    assert smtp_sink.find(to=world.responder.email, subject_contains="New story")


def test_level_2_holds_and_tells_each_covering_safeguarding_contact(
    world: World, smtp_sink: SmtpSink
) -> None:
    world.subscription.safeguarding_email = "safeguarding@riverside.example\nlead@riverside.example"
    world.subscription.save()
    SubscriptionFactory(
        name="Riverside Commissioners",
        scope=[world.hospital],
        safeguarding_email="safeguarding@commissioners.example",
    )
    SubscriptionFactory(name="No contact set", scope=[world.trust], safeguarding_email="")
    world.other_subscription.safeguarding_email = "safeguarding@hilltop.example"
    world.other_subscription.save()
    story = new_story(world)
    moderator = signed_in(world.moderator)

    missing_note = post(moderator, story, action="hold", note="")
    assert missing_note.status_code == 400
    assert "Describe the safeguarding concern" in missing_note.content.decode()
    held = post(moderator, story, action="hold", note="Mentions a risk of harm at home.")

    assert held.status_code == 302
    story.refresh_from_db()
    assert story.status == Story.Status.HELD and story.safeguarding_level == 2
    assert story.published_at is None
    assert actions_for(story) == ["story.safeguarding_hold"]
    assert not OutboxMessage.objects.filter(dedupe_key__startswith="story-published").exists()
    outbox_drain()
    received = {rcpt for m in smtp_sink.messages for rcpt in m.rcpt_tos}
    assert received == {
        "safeguarding@riverside.example",
        "lead@riverside.example",
        "safeguarding@commissioners.example",
    }
    for email in smtp_sink.messages:
        assert "Frightened" in email.text  # the public version's title
        assert "Ward 1" in email.text  # the service
        assert "senior moderator" in email.text
        for private in (
            world.author.email,
            "Fred Bloggs",
            "Acacia",
            ORIGINAL,
            PUBLIC,
            POSTCODE,
            "Mentions a risk of harm",
            settings.SITE_URL,
        ):
            assert private not in email.text, private
            assert private not in email.html, private
            assert private not in email.subject, private
    # Public surfaces know nothing of it.
    assert Client().get(f"/stories/{story.public_id}/").status_code == 404


def test_only_a_senior_moderator_decides_on_a_held_story(world: World) -> None:
    story = new_story(world, status=Story.Status.HELD, safeguarding_level=2)
    junior = signed_in(world.moderator)

    page = junior.get(reverse("moderation:story", args=[story.public_id]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Only a senior moderator can publish or reject a held story." in html
    assert 'name="action" value="publish"' not in html
    for action in ("publish", "save"):
        assert post(junior, story, action=action).status_code == 404
    assert post(junior, story, action="reject", reason="duplicate", message="x").status_code == 404
    with pytest.raises(NotAllowed):
        story_publish(story=story, moderator=world.moderator, edit=story_edit(world, version=1))
    story.refresh_from_db()
    assert (story.status, story.version) == (Story.Status.HELD, 1)

    senior_user = another_moderator(full_name="Sam Senior", senior=True)
    senior = signed_in(senior_user)
    not_here = post(senior, story, action="ask", question="Are you safe?")
    assert not_here.status_code == 400
    assert "That decision is not available for this story" in not_here.content.decode()
    assert post(senior, story, action="publish").status_code == 302
    story.refresh_from_db()
    assert story.status == Story.Status.PUBLISHED and story.moderated_by == senior_user
    event = AuditEvent.objects.get(action="story.publish", object_id=story.public_id)
    assert event.actor == senior_user and event.changes["status"] == ["held", "published"]


@pytest.mark.parametrize("status", list(Story.Status))
def test_the_buttons_follow_the_lifecycle(status: Story.Status) -> None:
    """Which decisions the workbench offers comes from stories/lifecycle.TRANSITIONS: a held
    story is published or rejected, not held again or questioned; who may press is can_decide."""
    decisions = {
        Story.Status.IN_MODERATION: ("publish", "publish_signpost", "hold", "ask", "reject"),
        Story.Status.HELD: ("publish", "publish_signpost", "reject"),
    }
    expected = ("save", *decisions[status]) if status in decisions else ()
    assert _actions_for(Story(status=status)) == expected


def test_a_senior_moderator_can_reject_a_held_story(world: World) -> None:
    story = new_story(world, status=Story.Status.HELD, safeguarding_level=2)
    senior = another_moderator(senior=True)

    story_reject(story=story, moderator=senior, version=1, reason="legal_risk", message="Sorry.")

    story.refresh_from_db()
    assert story.status == Story.Status.REJECTED
    assert AuditEvent.objects.get(action="story.reject").changes["status"] == [
        "held",
        "rejected",
    ]


# --- Services --------------------------------------------------------------------------------


def test_changing_services_while_editing(world: World) -> None:
    story = new_story(world)

    response = post(signed_in(world.moderator), story, action="save", service_codes="rxx01, RYY-W1")

    assert response.status_code == 302
    story.refresh_from_db()
    assert sorted(story.services.values_list("code", flat=True)) == ["RXX01", "RYY-W1"]
    event = AuditEvent.objects.get(action="story.edit")
    assert event.changes["services"] == [["RXX01-W1"], ["RXX01", "RYY-W1"]]


def test_changing_services_while_waiting_for_the_author(world: World) -> None:
    story = new_story(world, status=Story.Status.AWAITING_AUTHOR)
    moderator = signed_in(world.moderator)
    url = reverse("moderation:story_services", args=[story.public_id])

    page = moderator.get(reverse("moderation:story", args=[story.public_id])).content.decode()
    assert 'action="' + url + '"' in page
    bad = moderator.post(url, {"version": "1", "service_codes": "NOPE"})
    assert bad.status_code == 400
    assert "No service has the code NOPE" in bad.content.decode()
    good = moderator.post(url, {"version": "1", "service_codes": "RXX01"})
    assert good.status_code == 302
    stale = moderator.post(url, {"version": "1", "service_codes": "RXX"})
    assert stale.status_code == 409

    story.refresh_from_db()
    assert list(story.services.values_list("code", flat=True)) == ["RXX01"]
    assert story.status == Story.Status.AWAITING_AUTHOR and story.version == 2
    assert AuditEvent.objects.get(action="story.services").changes["services"] == [
        ["RXX01-W1"],
        ["RXX01"],
    ]


def test_services_cannot_change_after_a_decision(world: World) -> None:
    story = new_story(world, published=True)
    with pytest.raises(ConflictError):
        story_services_change(
            story=story, moderator=world.moderator, version=1, services=[world.hospital]
        )
    with pytest.raises(ValidationError):
        story_services_change(
            story=new_story(world), moderator=world.moderator, version=1, services=[]
        )


# --- Audit -----------------------------------------------------------------------------------


def test_every_decision_is_audited_with_the_moderator_and_no_private_text(world: World) -> None:
    senior = another_moderator(senior=True)
    kinds: dict[str, Callable[[Story], object]] = {
        "story.publish": lambda s: story_publish(
            story=s, moderator=world.moderator, edit=story_edit(world, version=1)
        ),
        "story.reject": lambda s: story_reject(
            story=s, moderator=world.moderator, version=1, reason="duplicate", message="Sorry."
        ),
        "story.question_ask": lambda s: story_question_ask(
            story=s,
            moderator=world.moderator,
            question="Which ward?",
            edit=story_edit(world, version=1),
        ),
        "story.safeguarding_hold": lambda s: story_safeguarding_hold(
            story=s, moderator=world.moderator, edit=story_edit(world, version=1, note="Risk.")
        ),
        "story.edit": lambda s: story_moderate_save(
            story=s, moderator=world.moderator, edit=story_edit(world, version=1)
        ),
        "story.services": lambda s: story_services_change(
            story=s, moderator=senior, version=1, services=[world.hospital]
        ),
    }
    for action, decide in kinds.items():
        story = new_story(world)
        decide(story)
        event = AuditEvent.objects.get(action=action, object_id=story.public_id)
        assert event.actor in (world.moderator, senior)
        for private in (ORIGINAL, PUBLIC, "Fred", POSTCODE, world.author.email, "Which ward"):
            assert private not in str(event.changes), (action, private)
