"""Reads about responses: a responder's record, and whether a response is fast-tracked.

Fast track (Care Opinion's rule, UK blog 792): a responder whose responses have reliably been
published as written may skip moderation. The same function answers the respond page's
question "will this be moderated?" and decides at the end of the edit window, so what the
responder is told is what happens (unless their record or the story changes meanwhile: the
decision is taken again, on fresh data, when the window ends).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from django.db.models import BooleanField, Case, F, Q, QuerySet, Value, When
from django.utils import timezone

from carestory.accounts.models import User
from carestory.responses.models import ModerationStatus, Response
from carestory.stories.models import Criticality, Story
from carestory.subscriptions.models import Membership
from carestory.subscriptions.selectors import ancestor_ids_of

FAST_TRACK_MIN_PUBLISHED = 10
"""A responder needs at least this many published responses (all time) to be fast-tracked."""

FAST_TRACK_RECENT = 10
"""How many of the responder's most recent decided (published or rejected) responses count."""


class Outcome(enum.StrEnum):
    UNEDITED = "published"
    EDITED = "published_after_edit"
    REJECTED = "rejected"


OUTCOME_POINTS: dict[Outcome, float] = {
    Outcome.UNEDITED: 1.0,
    Outcome.EDITED: 0.5,
    Outcome.REJECTED: 0.0,
}
"""Points per recent response. Over the last ten the score is out of 10 (halves are exact in
binary floating point, so comparing with the bar is exact)."""

FAST_TRACK_BAR: dict[int, float | None] = {
    Criticality.NOT_CRITICAL: 6,
    Criticality.MINIMALLY: 6,
    Criticality.MILDLY: 7,
    Criticality.MODERATELY: 8,
    Criticality.STRONGLY: 9,
    Criticality.SEVERELY: None,
}
"""The score (out of 10) a responder needs, by the story's criticality: the more critical the
story, the higher the bar. ``None``: responses to such stories are always moderated. A story
without a rating (it should not happen for a published story) is always moderated too.

======================  ===================
story criticality       score needed (/10)
======================  ===================
not critical            6
minimally critical      6
mildly critical         7
moderately critical     8
strongly critical       9
severely critical       never fast-tracked
======================  ===================
"""


class FastTrackReason(enum.StrEnum):
    ELIGIBLE = "eligible"
    CHANGE_CLAIM = "change_claim"  # "change planned/made" is always checked by a moderator
    CRITICAL_STORY = "critical_story"  # the bar for this criticality is "never" (or unrated)
    TOO_FEW_PUBLISHED = "too_few_published"
    SCORE_BELOW_BAR = "score_below_bar"
    STORY_NOT_PUBLISHED = "story_not_published"


@dataclass(frozen=True)
class ResponderRecord:
    """Counts over the responder's responses; ``recent_*`` cover the last ten decided."""

    published: int
    recent_unedited: int
    recent_edited: int
    recent_rejected: int

    @property
    def score(self) -> float:
        return (
            self.recent_unedited * OUTCOME_POINTS[Outcome.UNEDITED]
            + self.recent_edited * OUTCOME_POINTS[Outcome.EDITED]
            + self.recent_rejected * OUTCOME_POINTS[Outcome.REJECTED]
        )


@dataclass(frozen=True)
class FastTrackDecision:
    fast_track: bool
    reason: FastTrackReason
    record: ResponderRecord | None = None
    bar: float | None = None

    @property
    def moderated(self) -> bool:
        return not self.fast_track

    @property
    def min_published(self) -> int:
        return FAST_TRACK_MIN_PUBLISHED


def _edited() -> Case:
    """Published with a moderator's changes: flagged, or the public text differs from the
    responder's own (``original_body``, which the responder's edits in the window update)."""
    return Case(
        When(Q(edited_by_moderator=True) | ~Q(body=F("original_body")), then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )


def responder_record(*, responder: User) -> ResponderRecord:
    """Two small queries. "Last ten decided" are ordered by when they were written (a
    rejection has no timestamp of its own), newest first."""
    published = Response.objects.filter(
        responder_id=responder.pk, status=ModerationStatus.PUBLISHED
    ).count()
    recent = list(
        Response.objects.filter(
            responder_id=responder.pk,
            status__in=[ModerationStatus.PUBLISHED, ModerationStatus.REJECTED],
        )
        .order_by("-created_at", "-id")
        .annotate(edited=_edited())
        .values_list("status", "edited")[:FAST_TRACK_RECENT]
    )
    rejected = sum(1 for status, _edited_flag in recent if status == ModerationStatus.REJECTED)
    edited = sum(1 for status, flag in recent if status == ModerationStatus.PUBLISHED and flag)
    return ResponderRecord(
        published=published,
        recent_unedited=len(recent) - rejected - edited,
        recent_edited=edited,
        recent_rejected=rejected,
    )


def fast_track_bar(*, criticality: int | None) -> float | None:
    """The score needed for a story of this criticality; None means never fast-tracked."""
    if criticality is None:
        return None
    return FAST_TRACK_BAR.get(criticality)


def response_fast_track_decision(
    *, responder: User, story: Story, change: str
) -> FastTrackDecision:
    """Will a response by ``responder`` to ``story``, with this change claim, skip moderation?

    Cheapest reasons first: a change claim or a story whose bar is "never" need no query.
    """
    if change != Response.Change.NONE:
        return FastTrackDecision(fast_track=False, reason=FastTrackReason.CHANGE_CLAIM)
    if story.status != Story.Status.PUBLISHED:
        return FastTrackDecision(fast_track=False, reason=FastTrackReason.STORY_NOT_PUBLISHED)
    bar = fast_track_bar(criticality=story.criticality)
    if bar is None:
        return FastTrackDecision(fast_track=False, reason=FastTrackReason.CRITICAL_STORY)
    record = responder_record(responder=responder)
    if record.published < FAST_TRACK_MIN_PUBLISHED:
        return FastTrackDecision(
            fast_track=False, reason=FastTrackReason.TOO_FEW_PUBLISHED, record=record, bar=bar
        )
    if record.score < bar:
        return FastTrackDecision(
            fast_track=False, reason=FastTrackReason.SCORE_BELOW_BAR, record=record, bar=bar
        )
    return FastTrackDecision(
        fast_track=True, reason=FastTrackReason.ELIGIBLE, record=record, bar=bar
    )


def response_get_own(*, pk: int, story: Story, responder: User) -> Response | None:
    """A response to this story written by this responder, or None (views answer 404)."""
    return (
        Response.objects.filter(pk=pk, story=story, responder_id=responder.pk)
        .select_related("story", "subscription")
        .first()
    )


def responses_pending_for(*, story: Story, responder: User) -> list[Response]:
    """The responder's own responses to the story that are not published yet (editable or
    being moderated), for the story page; nobody else sees these."""
    return list(
        Response.objects.filter(
            story=story,
            responder_id=responder.pk,
            status__in=[ModerationStatus.EDITABLE, ModerationStatus.IN_MODERATION],
        ).order_by("created_at", "id")
    )


def response_is_editable(*, response: Response, now: datetime | None = None) -> bool:
    """Still in its edit window: the responder may change or delete it."""
    now = now or timezone.now()
    return (
        response.status == ModerationStatus.EDITABLE
        and response.editable_until is not None
        and now < response.editable_until
    )


# Responding on behalf of another member ---------------------------------------------------------


def _administered(*, user: User, story: Story) -> QuerySet[Membership]:
    """``user``'s active administrator memberships of subscriptions in term covering the story."""
    if not (user.is_authenticated and user.is_active):
        return Membership.objects.none()
    return Membership.objects.in_term().filter(
        user_id=user.pk,
        role=Membership.Role.ADMINISTRATOR,
        subscription__scope__in=ancestor_ids_of(story.services.all()),
    )


def administers_covering(*, user: User, story: Story) -> bool:
    """Whether ``user`` may respond on behalf of anyone on this story at all."""
    return _administered(user=user, story=story).exists()


def _on_behalf_targets(*, admin: User, story: Story) -> QuerySet[Membership]:
    """The one rule of whom an administrator may respond for: the other members who may
    respond (responders and administrators; active, not frozen, their account active) of a
    subscription in term that covers the story and that ``admin`` is an active administrator
    of. ``response_post`` checks it; the respond page offers the same people."""
    administered = _administered(user=admin, story=story).values("subscription_id")
    return (
        Membership.objects.in_term()
        .can_respond()
        .filter(subscription_id__in=administered)
        .exclude(user_id=admin.pk)
        .select_related("user", "subscription")
        .order_by("user__full_name", "user_id", "subscription__name", "subscription_id")
    )


def on_behalf_choices(*, admin: User, story: Story) -> list[Membership]:
    """Whom ``admin`` may respond for on this story, one membership a person (the first of
    their organisations by name); empty for anyone but an administrator."""
    seen: set[int] = set()
    choices = []
    for membership in _on_behalf_targets(admin=admin, story=story):
        if membership.user_id not in seen:
            seen.add(membership.user_id)
            choices.append(membership)
    return choices


def on_behalf_membership(*, admin: User, story: Story, member_id: int) -> Membership | None:
    """The membership in whose name ``admin`` may respond for ``member_id``, or None."""
    return _on_behalf_targets(admin=admin, story=story).filter(user_id=member_id).first()
