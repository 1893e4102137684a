"""Provider review ("advanced moderation"): approved stories about services that have it go to
the provider's administrators first: go ahead, request review, or published after 72 hours."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from carestory.accounts.models import User
from carestory.audit.models import AuditEvent
from carestory.lib.errors import ConflictError, NotAllowed
from carestory.moderation.models import ProviderReview
from carestory.moderation.services.decisions import story_publish
from carestory.moderation.services.provider_review import (
    provider_review_go_ahead,
    provider_reviews_publish_due,
)
from carestory.outbox.models import OutboxMessage
from carestory.outbox.services import outbox_drain
from carestory.outbox.testing import SmtpSink
from carestory.services.models import Service
from carestory.stories.models import Story
from carestory.stories.services import story_withdraw
from carestory.subscriptions.models import Membership
from conftest import World
from tests.factories import MembershipFactory, ServiceFactory, StoryFactory, SubscriptionFactory

from .test_workbench import another_moderator, form_data, review_service, signed_in, story_edit

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.get_default_timezone())
ORIGINAL = "Dr Amir Khan at the surgery ignored my mum. Email me: fred@example.net"
PUBLIC = "The doctor at the surgery did not listen to my parent."
NOTE = "Removed the GP's name and the email address"


@pytest.fixture
def frozen(time_machine: Any) -> Any:
    time_machine.move_to(START, tick=False)
    return time_machine


@pytest.fixture
def gp(world: World) -> Service:
    return review_service(world)


def approve(world: World, gp: Service, **kwargs: Any) -> Story:
    """A story about the GP practice, approved by a moderator: it goes to the provider."""
    story: Story = StoryFactory(
        author=world.author,
        services=[gp],
        original_title="Not listened to",
        original_body=ORIGINAL,
        postcode="ZZ9 9ZZ",
        age_group="75_84",
        **kwargs,
    )
    status = story_publish(
        story=story,
        moderator=world.moderator,
        edit=story_edit(
            world,
            version=story.version,
            note=NOTE,
            title="Not listened to at the surgery",
            body=PUBLIC,
            services=[gp],
        ),
    )
    assert status == Story.Status.PROVIDER_REVIEW
    story.refresh_from_db()
    return story


def review_url(story: Story) -> str:
    return reverse("provider_review:review", args=[story.provider_reviews.get().pk])


def keys() -> set[str]:
    return set(OutboxMessage.objects.values_list("dedupe_key", flat=True))


# --- Approval --------------------------------------------------------------------------------


def test_approving_sends_the_story_to_the_provider_not_the_public(
    world: World, gp: Service, frozen: Any
) -> None:
    story = approve(world, gp)

    assert story.status == Story.Status.PROVIDER_REVIEW
    assert story.approved_at == START and story.published_at is None
    assert story.provider_review_due_at == START + timedelta(hours=72)
    review = ProviderReview.objects.get(story=story)
    assert review.outcome == ProviderReview.Outcome.PENDING
    assert review.due_at == START + timedelta(hours=72)
    event = AuditEvent.objects.get(action="story.approve")
    assert event.actor == world.moderator
    assert event.changes["status"] == ["in_moderation", "provider_review"]
    assert not {k for k in keys() if k.startswith(("story-published", "alerts.story_published"))}
    assert Client().get(f"/stories/{story.public_id}/").status_code == 404


def test_the_review_need_is_inherited_from_a_parent_service(world: World) -> None:
    Service.objects.filter(pk=world.hospital.pk).update(provider_review=True)
    ward = Service.objects.get(pk=world.ward.pk)
    story = StoryFactory(services=[ward])

    status = story_publish(
        story=story, moderator=world.moderator, edit=story_edit(world, version=1, services=[ward])
    )

    assert status == Story.Status.PROVIDER_REVIEW


def test_each_covering_administrator_gets_an_email_with_no_private_data(
    world: World, gp: Service, smtp_sink: SmtpSink, frozen: Any
) -> None:
    commissioners = SubscriptionFactory(name="Riverside Commissioners", scope=[world.trust])
    commissioner_admin = MembershipFactory(
        subscription=commissioners, role=Membership.Role.ADMINISTRATOR
    ).user
    frozen_admin = MembershipFactory(
        subscription=commissioners, role=Membership.Role.ADMINISTRATOR, is_active=False
    ).user
    hilltop_admin = MembershipFactory(
        subscription=world.other_subscription, role=Membership.Role.ADMINISTRATOR
    ).user

    story = approve(world, gp)
    outbox_drain()

    recipients = {r for m in smtp_sink.messages for r in m.rcpt_tos} - {world.author.email}
    assert recipients == {world.admin.email, commissioner_admin.email}
    for user in (world.responder, world.member, frozen_admin, hilltop_admin):
        assert not smtp_sink.find(to=user.email)
    [email] = smtp_sink.find(to=world.admin.email)
    assert "Not listened to at the surgery" in email.subject
    assert settings.SITE_URL + review_url(story) in email.text
    assert "72 hours" in email.text and "Riverside Surgery" in email.text
    for private in (
        world.author.email,
        "Amir Khan",
        "fred@example.net",
        ORIGINAL,
        "ZZ9",
        "75",
        NOTE,
        "Grateful patient",
    ):
        for part in (email.subject, email.text, email.html):
            assert private not in part, private


# --- The review page -------------------------------------------------------------------------


def test_an_administrator_sees_the_approved_public_version_only(world: World, gp: Service) -> None:
    story = approve(world, gp)

    page = signed_in(world.admin).get(review_url(story))

    assert page.status_code == 200
    html = page.content.decode()
    assert "Not listened to at the surgery" in html and PUBLIC in html
    for private in (world.author.email, "Amir Khan", "fred@example.net", "ZZ9", NOTE):
        assert private not in html, private
    assert 'value="go_ahead"' in html and 'value="request_review"' in html


@pytest.mark.parametrize(
    "persona", ["anonymous", "responder", "member", "reader", "author", "moderator", "other_admin"]
)
def test_everyone_else_gets_404_and_changes_nothing(
    world: World, gp: Service, persona: str
) -> None:
    story = approve(world, gp)
    users: dict[str, User | None] = {
        "anonymous": None,
        "responder": world.responder,
        "member": world.member,
        "reader": world.reader,
        "author": world.author,
        "moderator": world.moderator,
        "other_admin": MembershipFactory(
            subscription=world.other_subscription, role=Membership.Role.ADMINISTRATOR
        ).user,
    }
    user = users[persona]
    client = Client() if user is None else signed_in(user)

    assert client.get(review_url(story)).status_code == 404
    assert client.post(review_url(story), {"decision": "go_ahead"}).status_code == 404
    story.refresh_from_db()
    assert story.status == Story.Status.PROVIDER_REVIEW
    assert ProviderReview.objects.get().outcome == ProviderReview.Outcome.PENDING
    if user is not None:
        with pytest.raises(NotAllowed):
            provider_review_go_ahead(review=ProviderReview.objects.get(), user=user)


def test_a_frozen_administrator_gets_404(world: World, gp: Service) -> None:
    story = approve(world, gp)
    Membership.objects.filter(user=world.admin).update(is_active=False)

    assert signed_in(world.admin).get(review_url(story)).status_code == 404


def test_an_unknown_review_is_404(world: World) -> None:
    assert signed_in(world.admin).get("/provider-review/999999/").status_code == 404


# --- Go ahead --------------------------------------------------------------------------------


def test_go_ahead_publishes_at_once(world: World, gp: Service, frozen: Any) -> None:
    story = approve(world, gp)
    frozen.shift(timedelta(hours=5))
    admin = signed_in(world.admin)

    response = admin.post(review_url(story), {"decision": "go_ahead", "reason": ""})

    assert response.status_code == 302
    story.refresh_from_db()
    assert story.status == Story.Status.PUBLISHED
    assert story.published_at == START + timedelta(hours=5)
    review = ProviderReview.objects.get()
    assert review.outcome == ProviderReview.Outcome.GO_AHEAD and review.decided_by == world.admin
    event = AuditEvent.objects.get(action="story.provider_go_ahead")
    assert event.actor == world.admin and event.changes["status"] == [
        "provider_review",
        "published",
    ]
    assert {f"story-published:{story.pk}:author", f"alerts.story_published:{story.pk}"} <= keys()
    assert Client().get(f"/stories/{story.public_id}/").status_code == 200
    after = admin.get(review_url(story)).content.decode()
    assert "said go ahead" in after and 'value="go_ahead"' not in after
    again = admin.post(review_url(story), {"decision": "go_ahead"})
    assert again.status_code == 409
    assert AuditEvent.objects.filter(action="story.provider_go_ahead").count() == 1


def test_go_ahead_sends_the_same_author_email_and_staff_alerts_as_publishing(
    world: World, gp: Service, smtp_sink: SmtpSink
) -> None:
    story = approve(world, gp)
    outbox_drain()
    smtp_sink.messages.clear()

    provider_review_go_ahead(review=ProviderReview.objects.get(), user=world.admin)
    outbox_drain()
    outbox_drain()

    assert smtp_sink.find(to=world.author.email, subject_contains="Your story is published")
    alert = smtp_sink.find(to=world.responder.email, subject_contains="New story")
    assert len(alert) == 1 and PUBLIC in alert[0].text
    assert story.public_id in alert[0].text


# --- Request review --------------------------------------------------------------------------


def test_request_review_needs_a_reason(world: World, gp: Service) -> None:
    story = approve(world, gp)

    response = signed_in(world.admin).post(
        review_url(story), {"decision": "request_review", "reason": "  "}
    )

    assert response.status_code == 400
    assert "Explain why you are asking for a review" in response.content.decode()
    story.refresh_from_db()
    assert story.status == Story.Status.PROVIDER_REVIEW
    assert ProviderReview.objects.get().outcome == ProviderReview.Outcome.PENDING


def test_a_decision_must_be_chosen(world: World, gp: Service) -> None:
    story = approve(world, gp)

    response = signed_in(world.admin).post(review_url(story), {"decision": "publish_it"})

    assert response.status_code == 400
    assert "Choose go ahead or request a review" in response.content.decode()
    assert ProviderReview.objects.get().outcome == ProviderReview.Outcome.PENDING


def test_request_review_holds_the_story_for_a_senior_moderator(world: World, gp: Service) -> None:
    story = approve(world, gp)
    reason = "The story describes a patient our staff will recognise."

    response = signed_in(world.admin).post(
        review_url(story), {"decision": "request_review", "reason": reason}
    )

    assert response.status_code == 302
    story.refresh_from_db()
    assert story.status == Story.Status.HELD and story.published_at is None
    review = ProviderReview.objects.get()
    assert review.outcome == ProviderReview.Outcome.REVIEW_REQUESTED and review.reason == reason
    event = AuditEvent.objects.get(action="story.provider_review_request")
    assert event.actor == world.admin and reason not in str(event.changes)
    queue = signed_in(world.moderator).get(reverse("moderation:queue")).content.decode()
    held = queue[queue.index('id="queue-held"') :]
    assert story.original_title in held[: held.index("</section>")]
    workbench = signed_in(world.moderator).get(reverse("moderation:story", args=[story.public_id]))
    assert reason in workbench.content.decode()
    # The request cannot be repeated, and the command leaves a held story alone.
    with pytest.raises(ConflictError):
        provider_review_go_ahead(review=review, user=world.admin)
    assert provider_reviews_publish_due(now=timezone.now() + timedelta(days=4)) == 0

    # A senior moderator publishes it; it does not go back to the provider.
    senior = another_moderator(senior=True)
    published = signed_in(senior).post(
        reverse("moderation:story", args=[story.public_id]),
        form_data(story, title=story.title, body=story.body, action="publish"),
    )
    assert published.status_code == 302
    story.refresh_from_db()
    assert story.status == Story.Status.PUBLISHED
    assert ProviderReview.objects.count() == 1


# --- 72 hours without an answer --------------------------------------------------------------


def test_publish_due_reviews_publishes_after_72_hours_once(
    world: World, gp: Service, frozen: Any, smtp_sink: SmtpSink
) -> None:
    story = approve(world, gp)
    out = StringIO()

    frozen.shift(timedelta(hours=71, minutes=59))
    call_command("publish_due_reviews", stdout=out)
    story.refresh_from_db()
    assert story.status == Story.Status.PROVIDER_REVIEW
    assert "Published 0" in out.getvalue()

    frozen.shift(timedelta(minutes=1))
    call_command("publish_due_reviews", stdout=out)
    call_command("publish_due_reviews", stdout=out)  # idempotent

    assert "Published 1" in out.getvalue()
    story.refresh_from_db()
    assert story.status == Story.Status.PUBLISHED
    assert story.published_at == START + timedelta(hours=72)
    review = ProviderReview.objects.get()
    assert review.outcome == ProviderReview.Outcome.TIMED_OUT and review.decided_by is None
    [event] = AuditEvent.objects.filter(action="story.provider_review_timeout")
    assert event.actor is None and event.actor_label == "system"
    outbox_drain()
    outbox_drain()
    assert len(smtp_sink.find(to=world.author.email, subject_contains="published")) == 1
    assert len(smtp_sink.find(to=world.responder.email, subject_contains="New story")) == 1
    assert len(smtp_sink.find(to=world.admin.email, subject_contains="New story")) == 1


def test_a_story_withdrawn_during_review_disappears_and_is_skipped(
    world: World, gp: Service, frozen: Any, smtp_sink: SmtpSink
) -> None:
    story = approve(world, gp)
    url = review_url(story)

    story_withdraw(story=story, author=world.author)

    assert signed_in(world.admin).get(url).status_code == 404
    assert signed_in(world.admin).post(url, {"decision": "go_ahead"}).status_code == 404
    outbox_drain()
    assert not smtp_sink.find(to=world.admin.email)  # the queued review email is dropped
    frozen.shift(timedelta(hours=73))
    assert provider_reviews_publish_due() == 0
    story.refresh_from_db()
    assert story.status == Story.Status.WITHDRAWN and story.published_at is None
    assert not AuditEvent.objects.filter(action="story.provider_review_timeout").exists()
    assert not {k for k in keys() if k.startswith("story-published")}


def test_a_story_with_services_not_needing_review_is_published_at_once(world: World) -> None:
    other = ServiceFactory(code="RXX02", name="Riverside Clinic", parent=world.trust)
    story = StoryFactory(services=[other])

    status = story_publish(
        story=story, moderator=world.moderator, edit=story_edit(world, version=1, services=[other])
    )

    assert status == Story.Status.PUBLISHED
    assert not ProviderReview.objects.exists()


def test_provider_review_through_the_workbench_goes_back_to_the_queue(
    world: World, gp: Service
) -> None:
    story = StoryFactory(services=[gp])
    client = signed_in(world.moderator)

    response = client.post(
        reverse("moderation:story", args=[story.public_id]),
        form_data(story, service_codes=gp.code, action="publish"),
    )

    assert response.status_code == 302 and response["Location"] == reverse("moderation:queue")
    story.refresh_from_db()
    assert story.status == Story.Status.PROVIDER_REVIEW
    page = client.get(reverse("moderation:story", args=[story.public_id])).content.decode()
    assert "Approved and with the provider" in page
