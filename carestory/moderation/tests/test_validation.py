"""What a moderation decision needs is checked once, by the decision (issue 9, part 2): each
rule here was also written in a moderation form, with its own message. The messages are keyed
by the form's field names, every problem of one decision comes at once, and nothing changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError

from carestory.audit.models import AuditEvent
from carestory.moderation.models import AuthorQuestion, ProviderReview
from carestory.moderation.services.decisions import story_publish, story_reject
from carestory.moderation.services.edits import story_moderate_save, story_services_change
from carestory.moderation.services.provider_review import provider_review_request
from carestory.moderation.services.questions import story_question_answer, story_question_ask
from carestory.moderation.services.safeguarding import story_safeguarding_hold
from carestory.stories.models import Story
from conftest import World
from tests.factories import StoryFactory

from .test_provider_review import approve
from .test_workbench import review_service, story_edit

pytestmark = pytest.mark.django_db

TOO_LONG_BODY = "x" * (settings.STORY_MAX_CHARACTERS + 1)


def refused(action: Callable[[], Any]) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as refusal:
        action()
    return refusal.value.message_dict


def unchanged(story: Story, status: str = Story.Status.IN_MODERATION) -> None:
    story.refresh_from_db()
    assert (story.status, story.version) == (status, 1)
    assert not AuditEvent.objects.filter(object_id=story.public_id).exists()


PUBLISH_PROBLEMS: list[tuple[dict[str, Any], Any]] = [
    ({"title": " "}, {"title": ["Enter the public title"]}),
    ({"title": "x" * 201}, {"title": ["The title must be 200 characters or fewer"]}),
    ({"body": "\n"}, {"body": ["Enter the public text"]}),
    (
        {"body": TOO_LONG_BODY},
        {
            "body": [
                f"The public text has {len(TOO_LONG_BODY)} characters: "
                f"the limit is {settings.STORY_MAX_CHARACTERS}"
            ]
        },
    ),
    ({"services": []}, {"service_codes": ["A story must be about at least one service"]}),
    ({"criticality": 9}, {"criticality": ["Choose the story's criticality from the list"]}),
    ({"note": "x" * 4001}, {"note": ["The note must be 4,000 characters or fewer"]}),
    (
        {"criticality": None},
        {"criticality": ["Rate the story's criticality before publishing"]},
    ),
    (
        {"title": "", "criticality": None, "services": []},
        {
            "title": ["Enter the public title"],
            "criticality": ["Rate the story's criticality before publishing"],
            "service_codes": ["A story must be about at least one service"],
        },
    ),
]


@pytest.mark.parametrize(
    ("decide", "edit", "expected"),
    [
        *((story_publish, edit, expected) for edit, expected in PUBLISH_PROBLEMS),
        # Saving checks the edit but needs no criticality.
        (
            story_moderate_save,
            {"title": "", "criticality": None},
            {"title": ["Enter the public title"]},
        ),
        # A hold needs the concern in the note.
        (
            story_safeguarding_hold,
            {"note": " "},
            {"note": ["Describe the safeguarding concern in a private note"]},
        ),
    ],
)
def test_each_decision_with_an_edit_checks_it(
    world: World, decide: Callable[..., Any], edit: dict[str, Any], expected: Any
) -> None:
    story = StoryFactory(services=[world.ward])
    errors = refused(
        lambda: decide(
            story=story, moderator=world.moderator, edit=story_edit(world, version=1, **edit)
        )
    )
    assert errors == expected
    unchanged(story)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"reason": ""}, {"reason": ["Choose a reason for not publishing"]}),
        ({"reason": "not_a_reason"}, {"reason": ["Choose a reason for not publishing"]}),
        ({"message": " "}, {"message": ["Write a message to the author explaining why"]}),
        ({"message": "x" * 4001}, {"message": ["The message must be 4,000 characters or fewer"]}),
        ({"note": "x" * 4001}, {"note": ["The note must be 4,000 characters or fewer"]}),
        (
            {"reason": "", "message": ""},
            {
                "reason": ["Choose a reason for not publishing"],
                "message": ["Write a message to the author explaining why"],
            },
        ),
    ],
)
def test_reject_needs_a_reason_and_a_message(
    world: World, given: dict[str, str], expected: Any
) -> None:
    story = StoryFactory(services=[world.ward])
    values = {"reason": "duplicate", "message": "Sorry.", "note": "", **given}
    errors = refused(
        lambda: story_reject(story=story, moderator=world.moderator, version=1, **values)
    )
    assert errors == expected
    unchanged(story)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("", {"question": ["Write the question for the author"]}),
        ("x" * 2001, {"question": ["The question must be 2,000 characters or fewer"]}),
    ],
)
def test_asking_needs_a_question(world: World, question: str, expected: Any) -> None:
    story = StoryFactory(services=[world.ward])
    errors = refused(
        lambda: story_question_ask(
            story=story,
            moderator=world.moderator,
            edit=story_edit(world, version=1),
            question=question,
        )
    )
    assert errors == expected
    unchanged(story)
    assert not AuthorQuestion.objects.exists()


def test_changing_services_needs_one(world: World) -> None:
    story = StoryFactory(services=[world.ward], status=Story.Status.AWAITING_AUTHOR)
    errors = refused(
        lambda: story_services_change(
            story=story, moderator=world.moderator, version=1, services=[]
        )
    )
    assert errors == {"service_codes": ["A story must be about at least one service"]}
    unchanged(story, Story.Status.AWAITING_AUTHOR)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (" \n ", {"answer": ["Write your answer"]}),
        ("x" * 5001, {"answer": ["Your answer must be 5,000 characters or fewer"]}),
    ],
)
def test_an_answer_is_checked_before_the_link_is_used(answer: str, expected: Any) -> None:
    # Checked before the link is even looked up: a bad answer uses nothing up.
    assert refused(lambda: story_question_answer(raw_token="any", answer=answer)) == expected


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("", {"reason": ["Explain why you are asking for a review"]}),
        ("x" * 4001, {"reason": ["The reason must be 4,000 characters or fewer"]}),
    ],
)
def test_a_review_request_needs_a_reason(world: World, reason: str, expected: Any) -> None:
    story = approve(world, review_service(world))
    review = story.provider_reviews.get()
    errors = refused(
        lambda: provider_review_request(review=review, user=world.admin, reason=reason)
    )
    assert errors == expected
    review.refresh_from_db()
    story.refresh_from_db()
    assert review.outcome == ProviderReview.Outcome.PENDING
    assert story.status == Story.Status.PROVIDER_REVIEW
