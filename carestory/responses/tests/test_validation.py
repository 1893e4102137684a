"""What a response or a reply may be is checked once, by the use case (issue 9, part 2): each
rule here was also written in a form (the response, reply and item moderation forms), some with
a second message. The messages are keyed by the form's field names, every problem comes at
once, and nothing changes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from carestory.responses.forms import Written
from carestory.responses.models import AuthorReply, ModerationStatus, Response
from carestory.responses.moderation import (
    reply_publish,
    reply_reject,
    response_publish,
    response_reject,
)
from carestory.responses.services import reply_post, response_edit, response_post
from carestory.stories.models import Story
from conftest import World
from tests.factories import ReplyFactory, ResponseFactory, StoryFactory

pytestmark = pytest.mark.django_db

RESPONSE_PROBLEMS: list[tuple[dict[str, str], dict[str, list[str]]]] = [
    ({"body": " \n "}, {"body": ["Enter your response"]}),
    ({"body": "x" * 10_001}, {"body": ["Your response must be 10,000 characters or fewer"]}),
    ({"change": ""}, {"change": ["Choose whether your response describes a change"]}),
    (
        {"change": "planned", "change_description": " "},
        {"change_description": ["Describe the change you are planning or have made"]},
    ),
    (
        {"change": "made", "change_description": "x" * 2001},
        {"change_description": ["Describe the change in 2,000 characters or fewer"]},
    ),
    (
        {"body": "", "change": "planned", "change_description": ""},
        {
            "body": ["Enter your response"],
            "change_description": ["Describe the change you are planning or have made"],
        },
    ),
]


def refused(action: Callable[[], Any]) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as refusal:
        action()
    return refusal.value.message_dict


def published_story(world: World) -> Story:
    story: Story = StoryFactory(published=True, services=[world.ward], author=world.author)
    return story


def response_values(**given: str) -> Written:
    values = {"body": "Thank you.", "change": "none", "change_description": "", **given}
    return Written(
        body=values["body"],
        change=values["change"],
        change_description=values["change_description"],
    )


@pytest.mark.parametrize(("given", "expected"), RESPONSE_PROBLEMS)
def test_a_response_is_checked_when_sent(
    world: World, given: dict[str, str], expected: Any
) -> None:
    story = published_story(world)
    values = response_values(**given)
    errors = refused(
        lambda: response_post(
            story=story, responder=world.responder, idempotency_key=uuid.uuid4(), **values
        )
    )
    assert errors == expected
    assert not Response.objects.exists()


@pytest.mark.parametrize(("given", "expected"), RESPONSE_PROBLEMS)
def test_a_response_is_checked_when_changed(
    world: World, given: dict[str, str], expected: Any
) -> None:
    response = response_post(
        story=published_story(world),
        responder=world.responder,
        idempotency_key=uuid.uuid4(),
        **response_values(),
    )
    values = response_values(**given)
    errors = refused(
        lambda: response_edit(
            response=response,
            responder=world.responder,
            version=response.version,
            body=values["body"],
            change=values["change"],
            change_description=values["change_description"],
        )
    )
    assert errors == expected
    kept = Response.objects.get()
    assert (kept.body, kept.version) == ("Thank you.", response.version)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("", {"body": ["Enter your reply"]}),
        ("x" * 10_001, {"body": ["Your reply must be 10,000 characters or fewer"]}),
    ],
)
def test_a_reply_is_checked_when_sent(world: World, body: str, expected: Any) -> None:
    response = ResponseFactory(
        story=published_story(world),
        published=True,
        responder=world.responder,
        subscription=world.subscription,
    )
    errors = refused(
        lambda: reply_post(
            response=response, author=world.author, body=body, idempotency_key=uuid.uuid4()
        )
    )
    assert errors == expected
    assert not AuthorReply.objects.exists()


# A moderator's decision on a response and on a reply: the function for each, and the field
# holding the text the decision needs.
DECISIONS: dict[str, tuple[Callable[..., None], Callable[..., None], str]] = {
    "publish": (response_publish, reply_publish, "body"),
    "reject": (response_reject, reply_reject, "reason"),
}


@pytest.mark.parametrize(
    ("decision", "text", "response_message", "reply_message"),
    [
        ("publish", "", "The response needs some text", "The reply needs some text"),
        ("publish", " ", "The response needs some text", "The reply needs some text"),
        (
            "publish",
            "x" * 10_001,
            "The public text must be 10,000 characters or fewer",
            "The public text must be 10,000 characters or fewer",
        ),
        (
            "reject",
            "",
            "Explain to the responder why it was not published",
            "Explain to the author why it was not published",
        ),
        (
            "reject",
            "x" * 4001,
            "The reason must be 4,000 characters or fewer",
            "The reason must be 4,000 characters or fewer",
        ),
    ],
)
def test_a_moderators_decision_needs_its_text(
    world: World, decision: str, text: str, response_message: str, reply_message: str
) -> None:
    on_response, on_reply, field = DECISIONS[decision]
    response = ResponseFactory(story=published_story(world), subscription=world.subscription)
    reply = ReplyFactory()
    assert refused(
        lambda: on_response(
            response=response, moderator=world.moderator, version=1, **{field: text}
        )
    ) == {field: [response_message]}
    assert refused(
        lambda: on_reply(reply=reply, moderator=world.moderator, version=1, **{field: text})
    ) == {field: [reply_message]}
    for item in (response, reply):
        item.refresh_from_db()
        assert (item.status, item.version) == (ModerationStatus.IN_MODERATION, 1)
