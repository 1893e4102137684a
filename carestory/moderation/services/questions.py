"""Asking the author: the moderator saves the edits so far and emails the author a
single-use link; the author answers through it (the story goes back to the queue), or the
moderator stops waiting. The question and the answer are private (author and moderators only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from carestory.accounts.models import SignInToken, User
from carestory.accounts.services import (
    sign_in_token_issue,
    sign_in_token_peek,
    sign_in_token_redeem,
)
from carestory.lib.errors import ConflictError, Problems
from carestory.lib.text import clean_text
from carestory.lib.tokens import secret_link
from carestory.moderation.models import AuthorQuestion
from carestory.moderation.services.checks import (
    require_may_decide,
    require_moderator,
    require_status,
)
from carestory.moderation.services.claims import _NO_CLAIM
from carestory.moderation.services.edits import StoryEdit, _after_edit, _story_edit_fields
from carestory.stories.lifecycle import starts_from, story_transition
from carestory.stories.models import Story
from carestory.stories.services import story_author_email

ANSWER_LINK_DAYS = 7
QUESTION_MAX_LENGTH = 2000
ANSWER_MAX_LENGTH = 5000

_S = Story.Status


def _clean_question(question: str) -> str:
    return clean_text(
        question,
        field="question",
        limit=QUESTION_MAX_LENGTH,
        missing=_("Write the question for the author"),
        too_long=_("The question must be %(limit)s characters or fewer"),
    )


@transaction.atomic
def story_question_ask(
    *, story: Story, moderator: User, edit: StoryEdit, question: str
) -> AuthorQuestion:
    """Save the edits so far, put the story aside and email the author a single-use link to
    answer. The question and the answer are private (author and moderators only)."""
    require_may_decide(story, moderator, *starts_from("story.question_ask"))
    problems = Problems()
    question = problems.check(lambda: _clean_question(question), default="")
    fields, changes = _story_edit_fields(story=story, edit=edit, problems=problems)
    # The question first, so the audit event names it; a conflict below rolls it back.
    asked = AuthorQuestion.objects.create(story=story, moderator=moderator, question=question)
    story_transition(
        story=story,
        to=_S.AWAITING_AUTHOR,
        action="story.question_ask",
        actor=moderator,
        version=edit.version,
        fields={**_NO_CLAIM, **fields},
        changes={**changes, "question_id": asked.pk},
    )
    _after_edit(story, moderator, fields, edit)
    token, seed = sign_in_token_issue(
        user=story.author, purpose=SignInToken.Purpose.ANSWER_QUESTION, story_id=story.pk
    )
    # Authors may take a few days to see the email: the link lasts longer than a sign-in link.
    SignInToken.objects.filter(pk=token.pk).update(
        expires_at=timezone.now() + timedelta(days=ANSWER_LINK_DAYS)
    )
    story_author_email(
        story,
        "moderation_question",
        dedupe_key=f"story-question:{asked.pk}",
        question=question,
        link=secret_link("author_answer:answer", seed),
        days=ANSWER_LINK_DAYS,
    )
    return asked


@dataclass(frozen=True)
class OpenQuestion:
    story: Story
    question: AuthorQuestion


def open_question_for_token(*, raw_token: str) -> OpenQuestion | None:
    """The story and the unanswered question behind an answer link, without using the link."""
    token = sign_in_token_peek(raw=raw_token, purpose=SignInToken.Purpose.ANSWER_QUESTION)
    if token is None or token.story_id is None:
        return None
    story = Story.objects.filter(
        pk=token.story_id, author=token.user, status=_S.AWAITING_AUTHOR
    ).first()
    if story is None:
        return None
    question = story.questions.filter(answered_at__isnull=True).order_by("-asked_at", "-id").first()
    if question is None:
        return None
    return OpenQuestion(story=story, question=question)


@transaction.atomic
def story_question_answer(*, raw_token: str, answer: str) -> Story | None:
    """The author answers through the emailed link (once): the story goes back to the queue.

    None when the link is expired, used, or the story is no longer waiting for an answer.
    Nothing changes and the link stays usable when the answer is empty or too long.
    """
    answer = clean_text(
        answer,
        field="answer",
        limit=ANSWER_MAX_LENGTH,
        missing=_("Write your answer"),
        too_long=_("Your answer must be %(limit)s characters or fewer"),
    )
    found = open_question_for_token(raw_token=raw_token)
    if found is None:
        return None
    token = sign_in_token_redeem(raw=raw_token, purpose=SignInToken.Purpose.ANSWER_QUESTION)
    if token is None:
        return None
    story, question = found.story, found.question
    try:
        story_transition(
            story=story,
            to=_S.IN_MODERATION,
            action="story.question_answer",
            actor=token.user,
            changes={"question_id": question.pk},
        )
    except ConflictError:
        transaction.set_rollback(True)  # the link stays usable
        return None
    now = timezone.now()
    AuthorQuestion.objects.filter(pk=question.pk).update(answer=answer, answered_at=now)
    story.refresh_from_db()
    return story


@transaction.atomic
def story_question_cancel(*, story: Story, moderator: User, version: int) -> None:
    """Stop waiting for the author: the story goes back to the queue; old links stop working.
    Any moderator (``stories/lifecycle``: nobody decides while the story waits, so this is not
    ``can_decide``, and the diagram has no cancel from ``held``)."""
    require_moderator(moderator)
    require_status(story, *starts_from("story.question_cancel"))
    story_transition(
        story=story,
        to=_S.IN_MODERATION,
        action="story.question_cancel",
        actor=moderator,
        version=version,
    )
    SignInToken.objects.filter(
        story=story, purpose=SignInToken.Purpose.ANSWER_QUESTION, used_at__isnull=True
    ).update(used_at=timezone.now())
