"""Moderation decisions. One function per transition: check who may make it and the state,
move the story through ``stories/lifecycle.story_transition`` (a conditional UPDATE under the
version lock and the audit event), and queue the emails, all in one transaction.

The story's states, every transition and who may make it are drawn in one place: the
docstring of ``carestory/stories/lifecycle.py``. Every path to "published" goes through
``_publish_now``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from carestory.accounts.models import SignInToken, User
from carestory.accounts.services import (
    sign_in_token_issue,
    sign_in_token_peek,
    sign_in_token_redeem,
)
from carestory.audit.services import audit_record
from carestory.lib.locking import ConflictError, update_if_version
from carestory.lib.text import normalise_text
from carestory.lib.tokens import secret_link
from carestory.lib.urls import absolute_url
from carestory.moderation.models import (
    AuthorQuestion,
    ModeratorNote,
    ProviderReview,
    RejectionReason,
)
from carestory.moderation.selectors import (
    analyse_safely,
    is_provider_review_admin,
    provider_review_admins,
)
from carestory.outbox.services import email_enqueue, job_enqueue
from carestory.responses.models import AuthorReply, ModerationStatus, Response
from carestory.responses.services import NotAllowed, response_mark_published
from carestory.services.models import Service
from carestory.stories.lifecycle import can_decide, decidable_statuses, story_transition
from carestory.stories.models import Story, StoryRevision, StoryService, StoryTag, Tag
from carestory.subscriptions.selectors import subscriptions_covering

CLAIM_MINUTES = 15
PROVIDER_REVIEW_HOURS = 72
ANSWER_LINK_DAYS = 7

_S = Story.Status
_NO_CLAIM: dict[str, Any] = {"claimed_by": None, "claimed_until": None}


def _require_moderator(user: User) -> None:
    if not (user.is_authenticated and user.is_moderator and user.is_active):
        raise PermissionError("Moderators only")


def _require_can_decide(story: Story, moderator: User) -> None:
    """Who may decide in which state is ``stories/lifecycle.can_decide`` (held: senior
    moderators only). Called after ``_require_status``, so a story that has moved on is a
    conflict rather than a refusal."""
    if not can_decide(story, moderator):
        raise PermissionError("Senior moderators only")


def _require_status(obj: Story | Response | AuthorReply, *allowed: str) -> None:
    if obj.status not in allowed:
        raise ConflictError(obj.version)


def moderator_note_add(*, story: Story, moderator: User, text: str) -> ModeratorNote | None:
    _require_moderator(moderator)
    text = normalise_text(text)
    if not text:
        return None
    note = ModeratorNote.objects.create(story=story, moderator=moderator, text=text)
    audit_record(actor=moderator, action="story.note", obj=story, changes={"note_id": note.pk})
    return note


# --- Claims ---------------------------------------------------------------------------------


def _claim(story: Story, moderator: User, now: datetime) -> bool:
    """Take or refresh the claim if it is free, expired or already this moderator's.

    One conditional UPDATE, so of two moderators opening the story at once exactly one gets it.
    """
    until = now + timedelta(minutes=CLAIM_MINUTES)
    statuses = decidable_statuses(moderator)  # claim only what this moderator may decide
    refreshed = Story.objects.filter(
        pk=story.pk, status__in=statuses, claimed_by=moderator, claimed_until__gt=now
    ).update(claimed_until=until)
    if not refreshed:
        free = (
            Q(claimed_by__isnull=True) | Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)
        )
        taken = Story.objects.filter(free, pk=story.pk, status__in=statuses).update(
            claimed_by=moderator, claimed_until=until
        )
        if not taken:
            return False
        audit_record(actor=moderator, action="story.claim", obj=story)
    story.claimed_by, story.claimed_until = moderator, until
    return True


@transaction.atomic
def story_claim(*, story: Story, moderator: User, now: datetime | None = None) -> bool:
    """Opening a story claims it for 15 minutes. True when this moderator holds the claim.

    A claim tells other moderators who is working on the story; it does not stop them reading
    it or saving (the version column decides between two saves).
    """
    _require_moderator(moderator)
    claimed = _claim(story, moderator, now or timezone.now())
    if not claimed:
        story.refresh_from_db(fields=["claimed_by", "claimed_until", "status", "version"])
    return claimed


@transaction.atomic
def story_claim_release(*, story: Story, moderator: User) -> bool:
    """Give the story back before the claim runs out."""
    _require_moderator(moderator)
    released = Story.objects.filter(pk=story.pk, claimed_by=moderator).update(**_NO_CLAIM)
    if released:
        audit_record(actor=moderator, action="story.release", obj=story)
        story.claimed_by, story.claimed_until = None, None
    return bool(released)


# --- Editing --------------------------------------------------------------------------------


def _story_edit_fields(
    *,
    story: Story,
    title: str,
    body: str,
    criticality: int | None,
    tags: Sequence[tuple[Tag, int]],
    services: Sequence[Service],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fields to update and the audit diff (field names and values of public metadata; the
    text itself is not copied into the audit log)."""
    title = normalise_text(title)
    body = normalise_text(body)
    if not title or not body:
        raise ValidationError(_("The story needs a title and text"))
    if not services:
        raise ValidationError(_("A story must be about at least one service"))
    fields: dict[str, Any] = {"title": title, "body": body, "criticality": criticality}
    changes: dict[str, Any] = {}
    if title != story.title:
        changes["title"] = "edited"
    if body != story.body:
        changes["body"] = "edited"
    if criticality != story.criticality:
        changes["criticality"] = [story.criticality, criticality]
    old_services = sorted(story.services.values_list("code", flat=True))
    new_services = sorted({s.code for s in services})
    if old_services != new_services:
        changes["services"] = [old_services, new_services]
    old_tags = sorted(f"{t}:{p}" for t, p in story.story_tags.values_list("tag__slug", "polarity"))
    new_tags = sorted({f"{t.slug}:{p}" for t, p in tags})
    if old_tags != new_tags:
        changes["tags"] = [old_tags, new_tags]
    return fields, changes


def _record_revision(story: Story, moderator: User, fields: dict[str, Any]) -> None:
    if fields["title"] != story.title or fields["body"] != story.body:
        StoryRevision.objects.create(
            story=story,
            kind=StoryRevision.Kind.MODERATOR_EDIT,
            editor=moderator,
            title=fields["title"],
            body=fields["body"],
        )


def _replace_services(story: Story, services: Sequence[Service]) -> None:
    StoryService.objects.filter(story=story).delete()
    StoryService.objects.bulk_create(
        [StoryService(story=story, service=s) for s in dict.fromkeys(services)]
    )


def _replace_links(
    story: Story, tags: Sequence[tuple[Tag, int]], services: Sequence[Service]
) -> None:
    _replace_services(story, services)
    StoryTag.objects.filter(story=story).delete()
    StoryTag.objects.bulk_create(
        [StoryTag(story=story, tag=t, polarity=p) for t, p in dict.fromkeys(tags)]
    )


def _after_edit(
    story: Story,
    moderator: User,
    fields: dict[str, Any],
    tags: Sequence[tuple[Tag, int]],
    services: Sequence[Service],
    note: str,
) -> None:
    _record_revision(story, moderator, fields)
    _replace_links(story, tags, services)
    moderator_note_add(story=story, moderator=moderator, text=note)


@transaction.atomic
def story_moderate_save(
    *,
    story: Story,
    moderator: User,
    version: int,
    title: str,
    body: str,
    criticality: int | None,
    tags: Sequence[tuple[Tag, int]],
    services: Sequence[Service],
    note: str = "",
) -> None:
    """Save the moderator's edits without deciding; saving refreshes the moderator's claim."""
    _require_moderator(moderator)
    _require_status(story, _S.IN_MODERATION, _S.HELD)
    _require_can_decide(story, moderator)
    fields, changes = _story_edit_fields(
        story=story, title=title, body=body, criticality=criticality, tags=tags, services=services
    )
    update_if_version(
        Story, pk=story.pk, expected_version=version, from_status=story.status, **fields
    )
    _after_edit(story, moderator, fields, tags, services, note)
    audit_record(actor=moderator, action="story.edit", obj=story, changes=changes)
    _claim(story, moderator, timezone.now())


def _splice(text: str, start: int, end: int, replacement: str) -> str:
    before, after = text[:start], text[end:]
    if not replacement and before.endswith(" ") and (not after or after[0] in " .,;:!?)\n"):
        before = before[:-1]  # removing a word should not leave a double space behind
    return before + replacement + after


@transaction.atomic
def story_suggestion_apply(
    *, story: Story, moderator: User, version: int, field: str, start: int, end: int, label: str
) -> str:
    """Apply one automated suggestion to the saved public text, at its span.

    The suggestion is found again on the saved text of ``version``: if the story has changed
    since, it is a conflict; if the checks no longer make that suggestion, a validation error.
    Returns the field's new text.
    """
    _require_moderator(moderator)
    _require_status(story, _S.IN_MODERATION, _S.HELD)
    _require_can_decide(story, moderator)
    if version != story.version:
        raise ConflictError(story.version)
    analysis = analyse_safely(title=story.title, body=story.body, public_id=story.public_id)
    if analysis is None:
        raise ValidationError(
            _("The automatic checks are not available just now: make the change by hand")
        )
    finding = next(
        (
            f
            for f in analysis.findings
            if (f.field, f.start, f.end, f.label) == (field, start, end, label)
            and f.suggestion is not None
        ),
        None,
    )
    if finding is None or finding.suggestion is None:
        raise ValidationError(_("That suggestion no longer applies to the saved text"))
    title, body = story.title, story.body
    if field == "title":
        title = normalise_text(_splice(title, start, end, finding.suggestion))
    else:
        body = normalise_text(_splice(body, start, end, finding.suggestion))
    if not title or not body:
        raise ValidationError(_("The story needs a title and text"))
    update_if_version(
        Story,
        pk=story.pk,
        expected_version=version,
        from_status=story.status,
        title=title,
        body=body,
    )
    _record_revision(story, moderator, {"title": title, "body": body})
    audit_record(
        actor=moderator,
        action="story.suggestion_apply",
        obj=story,
        changes={field: "edited", "label": label, "rule": finding.rule},
    )
    _claim(story, moderator, timezone.now())
    return title if field == "title" else body


@transaction.atomic
def story_services_change(
    *, story: Story, moderator: User, version: int, services: Sequence[Service]
) -> None:
    """Link the story to different services (before publication)."""
    _require_moderator(moderator)
    _require_status(story, _S.IN_MODERATION, _S.AWAITING_AUTHOR, _S.HELD)
    if story.status != _S.AWAITING_AUTHOR:  # any moderator, while waiting for the author
        _require_can_decide(story, moderator)
    if not services:
        raise ValidationError(_("A story must be about at least one service"))
    old = sorted(story.services.values_list("code", flat=True))
    new = sorted({s.code for s in services})
    update_if_version(Story, pk=story.pk, expected_version=version, from_status=story.status)
    _replace_services(story, services)
    audit_record(
        actor=moderator, action="story.services", obj=story, changes={"services": [old, new]}
    )


# --- Publishing -----------------------------------------------------------------------------


def _publish_now(
    *,
    story: Story,
    action: str,
    actor: User | None,
    version: int | None,
    now: datetime,
    fields: dict[str, Any] | None = None,
    changes: dict[str, Any] | None = None,
) -> None:
    """The one way a story becomes published, whichever path it came by: the transition
    ``action`` from the story's state (set published_at, audited), and queue the author's email
    and the staff alert job.

    With ``version`` the update is checked against the version too; without it, against the
    state only. ConflictError when the story has moved on.
    """
    values: dict[str, Any] = {"published_at": now, **_NO_CLAIM, **(fields or {})}
    story_transition(
        story=story,
        to=_S.PUBLISHED,
        action=action,
        actor=actor,
        version=version,
        fields=values,
        changes=changes,
    )
    title = values.get("title", story.title)
    guard_args = {"story_id": story.pk}
    email_enqueue(
        dedupe_key=f"story-published:{story.pk}:author",
        to=story.author.email,
        template="story_published",
        context={"story_title": title, "link": absolute_url("stories:detail", story.public_id)},
        guard="story_published",
        guard_args=guard_args,
    )
    job_enqueue(
        name="alerts.story_published",
        payload={"story_id": story.pk},
        dedupe_key=f"alerts.story_published:{story.pk}",
        guard="story_published",
        guard_args=guard_args,
    )


def needs_provider_review(*, story: Story, services: Sequence[Service]) -> bool:
    """A service needs the provider's review, and the provider has not already had one."""
    if story.provider_reviews.exclude(outcome=ProviderReview.Outcome.PENDING).exists():
        return False
    return any(service.needs_provider_review() for service in services)


def _provider_review_start(
    *,
    story: Story,
    moderator: User,
    version: int,
    now: datetime,
    fields: dict[str, Any],
    changes: dict[str, Any],
    services: Sequence[Service],
) -> ProviderReview:
    due = now + timedelta(hours=PROVIDER_REVIEW_HOURS)
    # The review first, so the audit event names it; a conflict below rolls it back.
    review = ProviderReview.objects.create(story=story, due_at=due)
    story_transition(
        story=story,
        to=_S.PROVIDER_REVIEW,
        action="story.approve",
        actor=moderator,
        version=version,
        fields={"provider_review_due_at": due, **_NO_CLAIM, **fields},
        changes={**changes, "review_id": review.pk, "due_at": due.isoformat()},
    )
    path = reverse("provider_review:review", args=[review.pk])
    link = absolute_url("provider_review:review", review.pk)
    sign_in_link = absolute_url("accounts:staff_login", query={"next": path})
    service_names = [s.name for s in dict.fromkeys(services)]
    seen: set[int] = set()
    for membership in provider_review_admins(services=services):
        if membership.user_id in seen:
            continue
        seen.add(membership.user_id)
        # Only the approved public version's title: never the author or their original.
        email_enqueue(
            dedupe_key=f"provider-review:{review.pk}:{membership.user_id}",
            to=membership.user.email,
            template="provider_review_request",
            context={
                "story_title": fields["title"],
                "services": service_names,
                "organisation": membership.subscription.name,
                "due_at": due,
                "hours": PROVIDER_REVIEW_HOURS,
                "link": link,
                "sign_in_link": sign_in_link,
            },
            guard="provider_review_pending",
            guard_args={"review_id": review.pk},
        )
    return review


def _signpost(story: Story) -> None:
    email_enqueue(
        dedupe_key=f"safeguarding-signpost:{story.pk}",
        to=story.author.email,
        template="safeguarding_signpost",
        context={
            "story_title": story.original_title,
            "my_stories_link": absolute_url("stories:my_story", story.public_id),
        },
    )


@transaction.atomic
def story_publish(
    *,
    story: Story,
    moderator: User,
    version: int,
    title: str,
    body: str,
    criticality: int | None,
    tags: Sequence[tuple[Tag, int]],
    services: Sequence[Service],
    note: str = "",
    signpost: bool = False,
) -> str:
    """Approve the story. It is published at once, or goes to its provider first when one of
    its services needs provider review (then it is published by the provider's "go ahead", or
    after 72 hours). Held stories: senior moderators only, and published at once if the
    provider has already reviewed it.

    ``signpost`` is safeguarding level 1: publish, and email the author support information.
    Returns the story's new status.
    """
    _require_moderator(moderator)
    _require_status(story, _S.IN_MODERATION, _S.HELD)
    _require_can_decide(story, moderator)
    if criticality is None:
        raise ValidationError(_("Rate the story's criticality before publishing"))
    fields, changes = _story_edit_fields(
        story=story, title=title, body=body, criticality=criticality, tags=tags, services=services
    )
    now = timezone.now()
    fields |= {"approved_at": now, "moderated_by": moderator}
    if signpost and story.safeguarding_level < 1:
        fields["safeguarding_level"] = 1
        changes["safeguarding_level"] = [story.safeguarding_level, 1]
    if needs_provider_review(story=story, services=services):
        _provider_review_start(
            story=story,
            moderator=moderator,
            version=version,
            now=now,
            fields=fields,
            changes=changes,
            services=services,
        )
        new_status: str = _S.PROVIDER_REVIEW
    else:
        _publish_now(
            story=story,
            action="story.publish",
            actor=moderator,
            version=version,
            now=now,
            fields=fields,
            changes=changes,
        )
        new_status = _S.PUBLISHED
    _after_edit(story, moderator, fields, tags, services, note)
    if signpost:
        _signpost(story)
    return new_status


@transaction.atomic
def story_reject(
    *, story: Story, moderator: User, version: int, reason: str, message: str, note: str = ""
) -> None:
    _require_moderator(moderator)
    _require_status(story, _S.IN_MODERATION, _S.HELD)
    _require_can_decide(story, moderator)
    if reason not in RejectionReason.values:
        raise ValidationError(_("Choose a reason for not publishing"))
    message = normalise_text(message)
    if not message:
        raise ValidationError(_("Write a message to the author explaining why"))
    story_transition(
        story=story,
        to=_S.REJECTED,
        action="story.reject",
        actor=moderator,
        version=version,
        fields={
            "rejected_at": timezone.now(),
            "rejection_reason": reason,
            "moderated_by": moderator,
            **_NO_CLAIM,
        },
        reason=reason,
    )
    moderator_note_add(story=story, moderator=moderator, text=note)
    email_enqueue(
        dedupe_key=f"story-rejected:{story.pk}",
        to=story.author.email,
        template="story_rejected",
        context={
            "story_title": story.original_title,
            "reason": RejectionReason(reason).label,
            "message": message,
            "my_stories_link": absolute_url("stories:my_story", story.public_id),
        },
    )


# --- Asking the author ----------------------------------------------------------------------


@transaction.atomic
def story_question_ask(
    *,
    story: Story,
    moderator: User,
    version: int,
    question: str,
    title: str,
    body: str,
    criticality: int | None,
    tags: Sequence[tuple[Tag, int]],
    services: Sequence[Service],
    note: str = "",
) -> AuthorQuestion:
    """Save the edits so far, put the story aside and email the author a single-use link to
    answer. The question and the answer are private (author and moderators only)."""
    _require_moderator(moderator)
    _require_status(story, _S.IN_MODERATION)
    question = normalise_text(question)
    if not question:
        raise ValidationError(_("Write the question for the author"))
    fields, changes = _story_edit_fields(
        story=story, title=title, body=body, criticality=criticality, tags=tags, services=services
    )
    # The question first, so the audit event names it; a conflict below rolls it back.
    asked = AuthorQuestion.objects.create(story=story, moderator=moderator, question=question)
    story_transition(
        story=story,
        to=_S.AWAITING_AUTHOR,
        action="story.question_ask",
        actor=moderator,
        version=version,
        fields={**_NO_CLAIM, **fields},
        changes={**changes, "question_id": asked.pk},
    )
    _after_edit(story, moderator, fields, tags, services, note)
    token, seed = sign_in_token_issue(
        user=story.author, purpose=SignInToken.Purpose.ANSWER_QUESTION, story_id=story.pk
    )
    # Authors may take a few days to see the email: the link lasts longer than a sign-in link.
    SignInToken.objects.filter(pk=token.pk).update(
        expires_at=timezone.now() + timedelta(days=ANSWER_LINK_DAYS)
    )
    email_enqueue(
        dedupe_key=f"story-question:{asked.pk}",
        to=story.author.email,
        template="moderation_question",
        context={
            "story_title": story.original_title,
            "question": question,
            "link": secret_link("author_answer:answer", seed),
            "days": ANSWER_LINK_DAYS,
        },
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
    Nothing changes and the link stays usable when the answer is empty.
    """
    answer = normalise_text(answer)
    if not answer:
        raise ValidationError(_("Write your answer"))
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
    """Stop waiting for the author: the story goes back to the queue; old links stop working."""
    _require_moderator(moderator)
    _require_status(story, _S.AWAITING_AUTHOR)
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


# --- Safeguarding ---------------------------------------------------------------------------


@transaction.atomic
def story_safeguarding_hold(
    *,
    story: Story,
    moderator: User,
    version: int,
    title: str,
    body: str,
    criticality: int | None,
    tags: Sequence[tuple[Tag, int]],
    services: Sequence[Service],
    note: str,
) -> None:
    """Safeguarding level 2: do not publish; hold for a senior moderator and tell the
    safeguarding contact of each subscription covering the story's services.

    Those emails carry the public version's title, the service names and what happens next:
    no author identity, no original text, no link (nothing about the story is public).
    """
    _require_moderator(moderator)
    _require_status(story, _S.IN_MODERATION)
    if not normalise_text(note):
        raise ValidationError(_("Describe the safeguarding concern in a private note"))
    fields, changes = _story_edit_fields(
        story=story, title=title, body=body, criticality=criticality, tags=tags, services=services
    )
    story_transition(
        story=story,
        to=_S.HELD,
        action="story.safeguarding_hold",
        actor=moderator,
        version=version,
        fields={"safeguarding_level": 2, **_NO_CLAIM, **fields},
        changes={**changes, "safeguarding_level": [story.safeguarding_level, 2]},
    )
    _after_edit(story, moderator, fields, tags, services, note)
    service_names = [s.name for s in dict.fromkeys(services)]
    for subscription in subscriptions_covering(services=services):
        if not subscription.safeguarding_email:
            continue
        email_enqueue(
            dedupe_key=f"safeguarding-hold:{story.pk}:{subscription.pk}",
            to=subscription.safeguarding_email,
            template="safeguarding_hold",
            context={
                "story_title": fields["title"],
                "services": service_names,
                "organisation": subscription.name,
                "reference": story.public_id,
            },
        )


# --- Provider review ------------------------------------------------------------------------


def _require_review_admin(review: ProviderReview, user: User) -> None:
    if not is_provider_review_admin(user=user, story=review.story):
        raise PermissionError("Administrators of a covering subscription only")


@transaction.atomic
def provider_review_go_ahead(*, review: ProviderReview, user: User) -> None:
    """The provider says go ahead: the story is published now."""
    _require_review_admin(review, user)
    now = timezone.now()
    closed = ProviderReview.objects.filter(
        pk=review.pk, outcome=ProviderReview.Outcome.PENDING
    ).update(outcome=ProviderReview.Outcome.GO_AHEAD, decided_by=user, decided_at=now)
    if closed != 1:
        raise ConflictError(None)
    story = Story.objects.select_related("author").get(pk=review.story_id)
    # ConflictError when withdrawn meanwhile: everything rolls back.
    _publish_now(
        story=story,
        action="story.provider_go_ahead",
        actor=user,
        version=None,
        now=now,
        changes={"review_id": review.pk},
    )


@transaction.atomic
def provider_review_request(*, review: ProviderReview, user: User, reason: str) -> None:
    """The provider asks for a review: the story is held for a senior moderator."""
    _require_review_admin(review, user)
    reason = normalise_text(reason)
    if not reason:
        raise ValidationError(_("Explain why you are asking for a review"))
    now = timezone.now()
    closed = ProviderReview.objects.filter(
        pk=review.pk, outcome=ProviderReview.Outcome.PENDING
    ).update(
        outcome=ProviderReview.Outcome.REVIEW_REQUESTED,
        reason=reason,
        decided_by=user,
        decided_at=now,
    )
    if closed != 1:
        raise ConflictError(None)
    # The reason stays on the review (moderators read it); the audit log holds no free text.
    story_transition(
        story=Story.objects.get(pk=review.story_id),
        to=_S.HELD,
        action="story.provider_review_request",
        actor=user,
        changes={"review_id": review.pk},
    )


@transaction.atomic
def _provider_review_time_out(*, review_id: int, now: datetime) -> bool:
    closed = ProviderReview.objects.filter(
        pk=review_id,
        outcome=ProviderReview.Outcome.PENDING,
        due_at__lte=now,
        story__status=_S.PROVIDER_REVIEW,
    ).update(outcome=ProviderReview.Outcome.TIMED_OUT, decided_at=now)
    if closed != 1:
        return False
    review = ProviderReview.objects.select_related("story__author").get(pk=review_id)
    try:
        _publish_now(
            story=review.story,
            action="story.provider_review_timeout",
            actor=None,
            version=None,
            now=now,
            changes={"review_id": review_id},
        )
    except ConflictError:
        transaction.set_rollback(True)
        return False
    return True


def provider_reviews_publish_due(*, now: datetime | None = None) -> int:
    """Publish every story whose provider did not answer within 72 hours. Idempotent: each
    review is closed with a conditional UPDATE, so running it twice publishes once. Stories
    withdrawn (or otherwise moved on) during the review are skipped. Returns how many."""
    now = now or timezone.now()
    due = ProviderReview.objects.filter(
        outcome=ProviderReview.Outcome.PENDING,
        due_at__lte=now,
        story__status=_S.PROVIDER_REVIEW,
    ).order_by("due_at", "id")
    return sum(
        _provider_review_time_out(review_id=pk, now=now)
        for pk in list(due.values_list("pk", flat=True))
    )


# --- Staff responses and author replies -----------------------------------------------------


@transaction.atomic
def response_publish(*, response: Response, moderator: User, version: int, body: str) -> None:
    _require_moderator(moderator)
    _require_status(response, ModerationStatus.IN_MODERATION)
    body = normalise_text(body)
    if not body:
        raise ValidationError(_("The response needs some text"))
    response_mark_published(
        response=response,
        version=version,
        from_status=ModerationStatus.IN_MODERATION,
        body=body,
        actor=moderator,
    )


def _item_reject(
    *,
    item: Response | AuthorReply,
    moderator: User,
    version: int,
    reason: str,
    missing_reason: str,
    action: str,
    recipient: User,
    template: str,
    link: str,
) -> None:
    """Reject a staff response or an author reply, audit it and explain why to its writer."""
    _require_moderator(moderator)
    _require_status(item, ModerationStatus.IN_MODERATION)
    reason = normalise_text(reason)
    if not reason:
        raise ValidationError(missing_reason)
    update_if_version(
        type(item),
        pk=item.pk,
        expected_version=version,
        from_status=ModerationStatus.IN_MODERATION,
        status=ModerationStatus.REJECTED,
        rejection_reason=reason,
    )
    object_type = type(item).__name__.lower()
    audit_record(actor=moderator, action=action, obj=item, object_type=object_type, reason=reason)
    story = item.story if isinstance(item, Response) else item.response.story
    email_enqueue(
        dedupe_key=f"{template.replace('_', '-')}:{item.pk}",
        to=recipient.email,
        template=template,
        context={"story_title": story.title, "reason": reason, "link": link},
    )


@transaction.atomic
def response_reject(*, response: Response, moderator: User, version: int, reason: str) -> None:
    _item_reject(
        item=response,
        moderator=moderator,
        version=version,
        reason=reason,
        missing_reason=_("Explain to the responder why it was not published"),
        action="response.reject",
        recipient=response.responder,
        template="response_rejected",
        link=absolute_url("stories:detail", response.story.public_id),
    )


@transaction.atomic
def reply_publish(*, reply: AuthorReply, moderator: User, version: int, body: str) -> None:
    _require_moderator(moderator)
    _require_status(reply, ModerationStatus.IN_MODERATION)
    if not Story.objects.filter(pk=reply.response.story_id, status=_S.PUBLISHED).exists():
        raise NotAllowed()  # the story was withdrawn: its replies are never published
    body = normalise_text(body)
    if not body:
        raise ValidationError(_("The reply needs some text"))
    update_if_version(
        AuthorReply,
        pk=reply.pk,
        expected_version=version,
        from_status=ModerationStatus.IN_MODERATION,
        body=body,
        status=ModerationStatus.PUBLISHED,
        published_at=timezone.now(),
    )
    audit_record(
        actor=moderator,
        action="reply.publish",
        obj=reply,
        object_type="authorreply",
        changes={"body": "edited"} if body != reply.body else {},
    )
    response = reply.response
    email_enqueue(
        dedupe_key=f"reply-published:{reply.pk}:responder",
        to=response.responder.email,
        template="reply_published",
        context={
            "story_title": response.story.title,
            "link": absolute_url(
                "stories:detail", response.story.public_id, fragment=f"reply-{reply.pk}"
            ),
        },
        guard="reply_published",
        guard_args={"reply_id": reply.pk},
    )


@transaction.atomic
def reply_reject(*, reply: AuthorReply, moderator: User, version: int, reason: str) -> None:
    _item_reject(
        item=reply,
        moderator=moderator,
        version=version,
        reason=reason,
        missing_reason=_("Explain to the author why it was not published"),
        action="reply.reject",
        recipient=reply.author,
        template="reply_rejected",
        link=absolute_url("stories:my_story", reply.response.story.public_id),
    )
