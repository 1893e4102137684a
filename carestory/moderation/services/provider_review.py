"""Provider review: a story about a service that asks for it goes to the provider's
administrators before publication. The moderator's approval starts it
(``_provider_review_start``, from ``decisions.story_publish``); the provider says go ahead
(published now) or asks for a review (held for a senior moderator); after 72 hours without an
answer the story is published (``provider_reviews_publish_due``, run by the worker).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from carestory.accounts.models import User
from carestory.lib.errors import ConflictError, NotAllowed
from carestory.lib.text import clean_text
from carestory.lib.urls import absolute_url
from carestory.moderation.models import ProviderReview
from carestory.moderation.selectors import is_provider_review_admin, provider_review_admins
from carestory.moderation.services.claims import _NO_CLAIM
from carestory.moderation.services.publication import _publish_now
from carestory.outbox.services import email_enqueue
from carestory.services.models import Service
from carestory.stories.lifecycle import story_transition
from carestory.stories.models import Story

PROVIDER_REVIEW_HOURS = 72
REASON_MAX_LENGTH = 4000

_S = Story.Status


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
    """The moderator's approval, when a service needs provider review: the story waits for
    the provider (``PROVIDER_REVIEW_HOURS``) and each covering administrator is emailed once,
    with the approved public title only."""
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


def _require_review_admin(review: ProviderReview, user: User) -> None:
    if not is_provider_review_admin(user=user, story=review.story):
        raise NotAllowed("Administrators of a covering subscription only")


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
    reason = clean_text(
        reason,
        field="reason",
        limit=REASON_MAX_LENGTH,
        missing=_("Explain why you are asking for a review"),
        too_long=_("The reason must be %(limit)s characters or fewer"),
    )
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
