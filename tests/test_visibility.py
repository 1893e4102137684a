"""A story that a user may not see answers 404 on every surface, and says nothing about itself."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client
from django.utils import timezone

from carestory.accounts.models import User
from carestory.moderation.services.decisions import story_publish
from carestory.moderation.services.edits import StoryEdit
from carestory.outbox.models import OutboxMessage
from carestory.outbox.services import outbox_drain, outbox_run_once
from carestory.outbox.testing import SmtpSink
from carestory.responses.models import ModerationStatus, Response
from carestory.responses.moderation import response_publish
from carestory.responses.services import response_post, response_release
from carestory.stories.models import Criticality, Story
from carestory.stories.services import story_withdraw
from conftest import World
from tests.factories import ReplyFactory, ResponseFactory, StoryFactory

pytestmark = pytest.mark.django_db

# Every state but published, from the model: a new status is in the matrix by construction
# (and needs a trait of its name in tests/factories.py to be made).
STATES = [status.value for status in Story.Status if status != Story.Status.PUBLISHED]
USERS = ["anonymous", "reader", "responder", "admin", "other_responder", "member", "author"]
STAFF = ("responder", "admin", "member", "other_responder")
LOGIN_PAGES = ("/staff/login/", "/sign-in/")


def _user(world: World, name: str) -> User | None:
    return None if name == "anonymous" else getattr(world, name)


def _client(world: World, name: str) -> Client:
    client = Client()
    user = _user(world, name)
    if user is not None:
        client.force_login(user)
    return client


def _hidden_story(world: World, state: str) -> tuple[Story, Response]:
    story = StoryFactory(
        author=world.author,
        services=[world.ward],
        title=f"Hidden story title {uuid.uuid4().hex}",
        **{state: True},  # the factory's trait of that name: the state as the services leave it
    )
    story.refresh_from_db()
    assert story.status == state
    # A published response on it (as if the story was published, then withdrawn), so the
    # reply URL is one that would work if the story were visible.
    response: Response = ResponseFactory(
        story=story, responder=world.responder, subscription=world.subscription, published=True
    )
    return story, response


@dataclass(frozen=True)
class Hidden:
    """A story in a state that is not published, and one persona's client (anonymous or
    signed in) asking for it."""

    story: Story
    response: Response  # published, on that story
    user_name: str
    client: Client

    @property
    def anonymous(self) -> bool:
        return self.user_name == "anonymous"


@pytest.fixture(params=[(state, user) for state in STATES for user in USERS], ids="-".join)
def hidden(request: pytest.FixtureRequest, world: World) -> Hidden:
    """Every state but published, for every persona."""
    state, user_name = request.param
    story, response = _hidden_story(world, state)
    return Hidden(story, response, user_name, _client(world, user_name))


def _assert_hidden(response: object, title: str, *, login_redirect_allowed: bool) -> None:
    status = response.status_code  # type: ignore[attr-defined]
    if login_redirect_allowed and status == 302:
        location = response["Location"]  # type: ignore[index]
        assert location.startswith(LOGIN_PAGES), location
    else:
        assert status == 404
    assert title not in response.content.decode()  # type: ignore[attr-defined]


def test_a_story_that_is_not_published_is_404_everywhere(hidden: Hidden) -> None:
    story, response, client = hidden.story, hidden.response, hidden.client

    _assert_hidden(
        client.get(f"/stories/{story.public_id}/"), story.title, login_redirect_allowed=False
    )
    _assert_hidden(
        client.get(f"/stories/{story.public_id}/respond/"),
        story.title,
        login_redirect_allowed=hidden.anonymous,
    )
    _assert_hidden(
        client.get(f"/stories/{story.public_id}/responses/{response.pk}/reply/"),
        story.title,
        login_redirect_allowed=hidden.anonymous,
    )
    _assert_hidden(
        client.get(f"/api/v1/stories/{story.public_id}"), story.title, login_redirect_allowed=False
    )


def test_posting_to_a_story_that_is_not_published_is_404_and_changes_nothing(
    hidden: Hidden,
) -> None:
    story, response, client = hidden.story, hidden.response, hidden.client

    respond = client.post(
        f"/stories/{story.public_id}/respond/",
        {"body": "A response", "change": "none", "idempotency_key": str(uuid.uuid4())},
    )
    reply = client.post(
        f"/stories/{story.public_id}/responses/{response.pk}/reply/",
        {"body": "A reply", "idempotency_key": str(uuid.uuid4())},
    )

    _assert_hidden(respond, story.title, login_redirect_allowed=hidden.anonymous)
    _assert_hidden(reply, story.title, login_redirect_allowed=hidden.anonymous)
    assert Response.objects.filter(story=story).count() == 1
    assert not response.replies.exists()


def test_lists_and_feeds_do_not_show_a_story_that_is_not_published(
    world: World, hidden: Hidden
) -> None:
    story, user_name = hidden.story, hidden.user_name
    visible: Story = StoryFactory(published=True, services=[world.ward], title="Visible story")

    urls = [
        "/",
        "/stories/",
        "/stories/feed.atom",
        "/services/RXX01-W1/",
        "/services/RXX01/",
        "/services/RXX/",
        "/api/v1/stories",
        "/api/v1/stories?service=RXX",
    ]
    if user_name in STAFF:
        urls.append("/staff/")
    for url in urls:
        response = hidden.client.get(url)
        assert response.status_code == 200, url
        text = response.content.decode()
        assert story.title not in text, url
        assert story.public_id not in text, url
        if url != "/staff/" or user_name != "other_responder":
            assert visible.title in text, url


# Withdrawal -----------------------------------------------------------------------------------


def _publish(world: World, story: Story) -> Story:
    story_publish(
        story=story,
        moderator=world.moderator,
        edit=StoryEdit(
            version=story.version,
            title=story.title,
            body=story.body,
            criticality=Criticality.NOT_CRITICAL,
            tags=(),
            services=(world.ward,),
        ),
    )
    return Story.objects.get(pk=story.pk)


@pytest.mark.parametrize("page_cache", [False, True], ids=["no-page-cache", "page-cache"])
def test_withdrawing_a_published_story_makes_every_surface_404_at_once(
    world: World, page_cache: bool, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # With the public page cache on (as in production), the anonymous pages below are stored
    # on the first look and must still be gone once the withdrawal commits.
    settings.PAGE_CACHE_SECONDS = 60 if page_cache else 0
    caches["pages"].clear()
    story = _publish(
        world, StoryFactory(author=world.author, services=[world.ward], title="Soon to go")
    )
    response = ResponseFactory(
        story=story, responder=world.responder, subscription=world.subscription, published=True
    )
    ReplyFactory(
        response=response,
        body="An update",
        status=ModerationStatus.PUBLISHED,
        published_at=timezone.now(),
    )
    anonymous = Client()
    responder = _client(world, "responder")
    author = _client(world, "author")
    surfaces = [
        (anonymous, f"/stories/{story.public_id}/"),
        (anonymous, f"/api/v1/stories/{story.public_id}"),
        (responder, f"/stories/{story.public_id}/"),
        (responder, f"/stories/{story.public_id}/respond/"),
        (author, f"/stories/{story.public_id}/"),
        (author, f"/stories/{story.public_id}/responses/{response.pk}/reply/"),
    ]
    lists = [
        (anonymous, "/"),
        (anonymous, "/stories/"),
        (anonymous, "/stories/feed.atom"),
        (anonymous, "/services/RXX01-W1/"),
        (anonymous, "/services/RXX/"),
        (anonymous, "/api/v1/stories"),
        (anonymous, "/api/v1/stories?service=RXX01-W1"),
        (responder, "/staff/"),
    ]
    for client, url in surfaces + lists:
        got = client.get(url)
        assert got.status_code == 200, url
        # The reply page shows the response it answers rather than the story.
        marker = response.body if url.endswith("/reply/") else "Soon to go"
        assert marker in got.content.decode(), url

    if page_cache:  # the anonymous pages were stored, and a second look is served from memory
        assert anonymous.get("/").headers["X-Page-Cache"] == "hit"
    with django_capture_on_commit_callbacks(execute=True):  # the test's stand-in for COMMIT
        story_withdraw(story=story, author=world.author)

    for client, url in surfaces:
        got = client.get(url)
        assert got.status_code == 404, url
        assert "Soon to go" not in got.content.decode(), url
        assert response.body not in got.content.decode(), url
    for client, url in lists:
        got = client.get(url)
        assert got.status_code == 200, url
        assert "Soon to go" not in got.content.decode(), url
        assert story.public_id not in got.content.decode(), url
    # Nothing can be added to it either.
    posted = responder.post(
        f"/stories/{story.public_id}/respond/",
        {"body": "Too late", "change": "none", "idempotency_key": str(uuid.uuid4())},
    )
    assert posted.status_code == 404
    assert not Response.objects.filter(body="Too late").exists()
    # The author still sees it among their own stories, as withdrawn.
    mine = author.get(f"/my-stories/{story.public_id}/")
    assert mine.status_code == 200
    assert "Withdrawn" in mine.content.decode()


def test_a_staff_alert_queued_before_withdrawal_is_not_sent_after_it(
    world: World, smtp_sink: SmtpSink
) -> None:
    story = _publish(
        world, StoryFactory(author=world.author, services=[world.ward], title="Alert me not")
    )
    # One round: the author's email is sent and the alert job queues the staff emails.
    outbox_run_once(worker_id="test")
    alert = OutboxMessage.objects.get(
        dedupe_key=f"staff-alert:story:{story.pk}:{world.responder.pk}"
    )
    assert alert.status == OutboxMessage.Status.PENDING
    assert alert.to_email == "responder@riverside.example"

    story_withdraw(story=story, author=world.author)
    outbox_drain()

    alert.refresh_from_db()
    assert alert.status == OutboxMessage.Status.CANCELLED
    assert alert.sent_at is None
    assert smtp_sink.find(to="responder@riverside.example") == []
    assert smtp_sink.find(to="admin@riverside.example") == []
    assert not OutboxMessage.objects.filter(
        dedupe_key__startswith="staff-alert:", status=OutboxMessage.Status.SENT
    ).exists()


def test_withdrawal_before_the_alert_job_runs_sends_nothing_to_staff_or_author(
    world: World, smtp_sink: SmtpSink
) -> None:
    story = _publish(
        world, StoryFactory(author=world.author, services=[world.ward], title="Gone quickly")
    )

    story_withdraw(story=story, author=world.author)
    outbox_drain()

    assert smtp_sink.messages == []
    assert not OutboxMessage.objects.filter(dedupe_key__startswith="staff-alert:").exists()
    statuses = set(OutboxMessage.objects.values_list("status", flat=True))
    assert statuses == {OutboxMessage.Status.CANCELLED}


def test_a_response_published_email_is_not_sent_once_the_story_is_withdrawn(
    world: World, smtp_sink: SmtpSink
) -> None:
    story = _publish(
        world, StoryFactory(author=world.author, services=[world.ward], title="Response then go")
    )
    outbox_drain()
    smtp_sink.clear()
    response = response_post(
        story=story,
        responder=world.responder,
        body="Thank you",
        change="none",
        change_description="",
        idempotency_key=uuid.uuid4(),
    )
    response_release(response_id=response.pk, now=response.editable_until)  # end the window
    response.refresh_from_db()
    response_publish(
        response=response, moderator=world.moderator, version=response.version, body="Thank you"
    )

    story_withdraw(story=story, author=world.author)
    outbox_drain()

    assert smtp_sink.messages == []
    message = OutboxMessage.objects.get(dedupe_key=f"response-published:{response.pk}:author")
    assert message.status == OutboxMessage.Status.CANCELLED


# The reply page belongs to the author of a published story and a published response ----------


def test_reply_page_for_a_response_that_is_not_published_is_404(world: World) -> None:
    story: Story = StoryFactory(author=world.author, published=True, services=[world.ward])
    in_moderation = ResponseFactory(
        story=story, subscription=world.subscription, body="Response still in moderation"
    )
    rejected = ResponseFactory(
        story=story,
        subscription=world.subscription,
        body="Rejected response",
        status=ModerationStatus.REJECTED,
    )
    author = _client(world, "author")

    for response in (in_moderation, rejected):
        got = author.get(f"/stories/{story.public_id}/responses/{response.pk}/reply/")
        assert got.status_code == 404
        assert response.body not in got.content.decode()
        posted = author.post(
            f"/stories/{story.public_id}/responses/{response.pk}/reply/",
            {"body": "A reply", "idempotency_key": str(uuid.uuid4())},
        )
        assert posted.status_code == 404
        assert not response.replies.exists()


def test_reply_page_with_a_response_from_another_story_is_404(world: World) -> None:
    mine: Story = StoryFactory(author=world.author, published=True, services=[world.ward])
    theirs: Story = StoryFactory(published=True, services=[world.ward])
    their_response = ResponseFactory(
        story=theirs, subscription=world.subscription, published=True, body="Their response"
    )
    author = _client(world, "author")

    got = author.get(f"/stories/{mine.public_id}/responses/{their_response.pk}/reply/")

    assert got.status_code == 404
    assert "Their response" not in got.content.decode()


@pytest.mark.parametrize("user_name", ["reader", "responder", "member", "other_responder"])
def test_reply_page_of_a_published_story_is_404_for_anyone_but_its_author(
    world: World, user_name: str
) -> None:
    story: Story = StoryFactory(author=world.author, published=True, services=[world.ward])
    response = ResponseFactory(story=story, subscription=world.subscription, published=True)
    client = _client(world, user_name)

    got = client.get(f"/stories/{story.public_id}/responses/{response.pk}/reply/")
    posted = client.post(
        f"/stories/{story.public_id}/responses/{response.pk}/reply/",
        {"body": "Not mine to reply to", "idempotency_key": str(uuid.uuid4())},
    )

    assert got.status_code == 404
    assert posted.status_code == 404
    assert not response.replies.exists()
    assert (
        _client(world, "author")
        .get(f"/stories/{story.public_id}/responses/{response.pk}/reply/")
        .status_code
        == 200
    )


@pytest.mark.parametrize("user_name", ["reader", "member", "other_responder", "author"])
def test_respond_page_of_a_published_story_is_404_for_anyone_who_may_not_respond(
    world: World, user_name: str
) -> None:
    story: Story = StoryFactory(published=True, services=[world.ward])
    client = _client(world, user_name)

    got = client.get(f"/stories/{story.public_id}/respond/")
    posted = client.post(
        f"/stories/{story.public_id}/respond/",
        {"body": "Not mine to answer", "change": "none", "idempotency_key": str(uuid.uuid4())},
    )

    assert got.status_code == 404
    assert posted.status_code == 404
    assert not Response.objects.exists()
    assert (
        _client(world, "responder").get(f"/stories/{story.public_id}/respond/").status_code == 200
    )
