"""What is waiting for moderators, and what the workbench shows about one story."""

from __future__ import annotations

import logging
import traceback
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from carestory.accounts.models import User
from carestory.automod import Analysis, Finding, analyse
from carestory.automod.findings import findings_from_json, findings_key
from carestory.moderation.diff import compare, compared_html, has_changes
from carestory.moderation.models import AuthorQuestion, ProviderReview
from carestory.responses.models import AuthorReply, ModerationStatus, Response
from carestory.services.models import Service
from carestory.stories.models import Story, StoryFindings, StoryRevision, StoryService
from carestory.subscriptions.models import Membership
from carestory.subscriptions.selectors import is_member_covering, memberships_covering

logger = logging.getLogger(__name__)

# Rows listed in each queue (the page says "Showing the first N of M"). A moderator takes the
# first free story, and each decision brings the next one up. Rendering costs ~0.3 ms a row: at
# a million stories (six queues full) 100 a queue was ~450 rows and 170 ms a view, 50 was ~280
# rows and 105 ms, 25 is ~150 rows and ~70 ms (bench/results, in-process medians).
QUEUE_LIMIT = 25

# What the automated checks' span labels mean, for the suggestion list.
SPAN_LABEL_NAMES: dict[str, Any] = {
    "PERSON_NAME": gettext_lazy("Person's name"),
    "STAFF_DESCRIPTOR": gettext_lazy("Description of a member of staff"),
    "EMAIL": gettext_lazy("Email address"),
    "PHONE": gettext_lazy("Phone number"),
    "URL": gettext_lazy("Web address"),
    "NHS_NUMBER": gettext_lazy("NHS number"),
    "POSTCODE": gettext_lazy("Postcode"),
    "DATE": gettext_lazy("Date"),
    "TIME": gettext_lazy("Time"),
    "AGE": gettext_lazy("Age"),
    "GENDERED_RELATION": gettext_lazy("Gendered relationship word"),
    "ADDRESS": gettext_lazy("Address"),
    "PROFANITY": gettext_lazy("Swearing"),
}
FLAG_NAMES: dict[str, Any] = {
    "SAFEGUARDING": gettext_lazy("Possible safeguarding concern"),
    "COMPLAINT": gettext_lazy("Reads like a formal complaint"),
    "NOT_AN_EXPERIENCE": gettext_lazy("May not be an experience of care"),
    "ALL_CAPS": gettext_lazy("Written in capitals"),
    "OFFENSIVE": gettext_lazy("May be offensive"),
    "DUPLICATE_RISK": gettext_lazy("May duplicate another story"),
}


# --- Queues --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Queue:
    key: str
    heading: str
    count: int
    items: list[Any]


@dataclass(frozen=True)
class QueueStory:
    """One row of a story queue: what the row shows, and nothing else. A story of a
    million-story database is a wide row (two copies of the text, a dozen dates), the four
    story queues list up to 400 of them, and a model instance with a related manager for its
    services costs more to build and render than the row's few values."""

    pk: int
    public_id: str
    status: str
    original_title: str
    urgent: bool
    safeguarding_level: int
    checked_at: datetime | None
    verified_at: datetime | None
    provider_review_due_at: datetime | None
    author_answered: bool
    claim_active: bool
    claimed_by_id: int | None
    claimed_by: User | None
    claimed_until: datetime | None
    services: list[str]  # names, alphabetical
    url: str  # the workbench


_STORY_ROW = (
    "id",
    "public_id",
    "status",
    "original_title",
    "urgent",
    "safeguarding_level",
    "checked_at",
    "verified_at",
    "provider_review_due_at",
    "claimed_until",
    "claimed_by_id",
    "claimed_by__full_name",
    "author_answered",
    "claim_active",
)
_WAITING: tuple[str, ...] = (
    Story.Status.IN_MODERATION.value,
    Story.Status.AWAITING_AUTHOR.value,
    Story.Status.PROVIDER_REVIEW.value,
    Story.Status.HELD.value,
)


def _waiting_stories(status: str, now: datetime) -> QuerySet[Story]:
    answered = AuthorQuestion.objects.filter(story=OuterRef("pk"), answered_at__isnull=False)
    return Story.objects.filter(status=status).annotate(
        author_answered=Exists(answered),
        claim_active=Case(
            When(claimed_by__isnull=False, claimed_until__gt=now, then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        ),
    )


def _story_rows(qs: QuerySet[Story], limit: int) -> list[QueueStory]:
    """The first ``limit`` stories of a queue, and the names of their services: two queries."""
    rows = list(qs.values(*_STORY_ROW)[:limit])
    services: dict[int, list[str]] = defaultdict(list)
    links = StoryService.objects.filter(story_id__in=[row["id"] for row in rows])
    for story_id, name in links.order_by("service__name", "service_id").values_list(
        "story_id", "service__name"
    ):
        services[story_id].append(name)
    # One reverse() per queue, not one per row (they cost more than the rest of a row): a
    # public id is a slug, so every workbench URL is this one with another id in its place.
    before, _placeholder, after = reverse("moderation:story", args=["PUBLICID"]).partition(
        "PUBLICID"
    )
    return [
        QueueStory(
            pk=row["id"],
            public_id=row["public_id"],
            status=row["status"],
            original_title=row["original_title"],
            urgent=row["urgent"],
            safeguarding_level=row["safeguarding_level"],
            checked_at=row["checked_at"],
            verified_at=row["verified_at"],
            provider_review_due_at=row["provider_review_due_at"],
            author_answered=row["author_answered"],
            claim_active=row["claim_active"],
            claimed_by_id=row["claimed_by_id"],
            claimed_by=(
                User(pk=row["claimed_by_id"], full_name=row["claimed_by__full_name"])
                if row["claimed_by_id"] is not None
                else None
            ),
            claimed_until=row["claimed_until"],
            services=services[row["id"]],
            url=f"{before}{row['public_id']}{after}",
        )
        for row in rows
    ]


def _waiting_story_counts() -> dict[str, int]:
    """How many stories each story queue holds, in one query (``COUNT(status) FILTER (WHERE
    status = ...)``, one per queue) that reads only the index on status."""
    counts = Story.objects.filter(status__in=_WAITING).aggregate(
        **{status: Count("status", filter=Q(status=status)) for status in _WAITING}
    )
    return {status: counts[status] or 0 for status in _WAITING}


def _first_counted(qs: QuerySet[Any], limit: int) -> tuple[list[Any], int]:
    """The first ``limit`` rows, and how many rows there are in all, in one query: each row
    carries the total (``COUNT(*) OVER ()``, counted before the LIMIT). For the response and
    reply queues, read from a partial index of exactly the rows in moderation, counting them
    all costs what a separate COUNT would, without a second round trip."""
    items = list(qs.annotate(queue_total=Window(Count("*")))[:limit])
    return items, (items[0].queue_total if items else 0)


def moderation_queues(*, limit: int | None = None, now: datetime | None = None) -> dict[str, Queue]:
    """Every queue, with its full count and its first ``limit`` items (``QUEUE_LIMIT``).

    Stories: urgent (safeguarding signals) first, then the longest waiting. Provider reviews:
    the soonest due first. Responses and replies: oldest first. Each story says whether a
    moderator's claim on it is still running (``claim_active``).

    A fixed number of queries, however long the queues: one for the four story counts, two
    for each story queue (its first items, their services), one for each of the response and
    reply queues (items and count). New stories are read from the index
    ``story_moderation_queue`` in queue order, so the first ``limit`` are found without
    sorting the whole queue; responses and replies from ``response_in_moderation`` and
    ``reply_in_moderation``.
    """
    limit = QUEUE_LIMIT if limit is None else limit
    now = now or timezone.now()
    story_counts = _waiting_story_counts()

    def stories(key: str, heading: str, status: str, *order: str) -> Queue:
        items = _story_rows(_waiting_stories(status, now).order_by(*order), limit)
        return Queue(key=key, heading=heading, count=story_counts[status], items=items)

    def counted(key: str, heading: str, qs: QuerySet[Any]) -> Queue:
        items, count = _first_counted(qs, limit)
        return Queue(key=key, heading=heading, count=count, items=items)

    urgent_then_oldest = ("-urgent", "-safeguarding_level", "verified_at", "id")
    # Only what queue.html shows of each: a field left out would be read with one query per
    # row (moderation/tests/test_queue_scale.py pins the count).
    responses = (
        Response.objects.filter(
            status=ModerationStatus.IN_MODERATION, story__status=Story.Status.PUBLISHED
        )
        .select_related("story", "subscription")
        .only("created_at", "change", "story__title", "subscription__name")
        .order_by("created_at", "id")
    )
    replies = (
        AuthorReply.objects.filter(
            status=ModerationStatus.IN_MODERATION,
            response__story__status=Story.Status.PUBLISHED,
        )
        .select_related("response__story")
        .only("created_at", "response__story__title")
        .order_by("created_at", "id")
    )
    queues = [
        stories("new", _("New stories"), Story.Status.IN_MODERATION, *urgent_then_oldest),
        counted("replies", _("Author replies"), replies),
        counted("responses", _("Staff responses"), responses),
        stories(
            "awaiting_author",
            _("Waiting for the author"),
            Story.Status.AWAITING_AUTHOR,
            *urgent_then_oldest,
        ),
        stories(
            "provider_review",
            _("With the provider"),
            Story.Status.PROVIDER_REVIEW,
            "provider_review_due_at",
            "id",
        ),
        stories(
            "held",
            _("Held: safeguarding and review requests"),
            Story.Status.HELD,
            *urgent_then_oldest,
        ),
    ]
    return {queue.key: queue for queue in queues}


# --- Claims ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    moderator: User
    until: datetime
    mine: bool


def claim_of(*, story: Story, user: User, now: datetime | None = None) -> Claim | None:
    """Who is moderating the story now, if anyone (an expired claim is no claim)."""
    now = now or timezone.now()
    if story.claimed_by is None or story.claimed_until is None or story.claimed_until <= now:
        return None
    return Claim(
        moderator=story.claimed_by, until=story.claimed_until, mine=story.claimed_by_id == user.pk
    )


# --- Suggestions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    key: str
    field: str
    start: int
    end: int
    label: str
    label_name: str
    text: str
    replacement: str | None
    message: str
    severity: str


def suggestion_key(field: str, start: int, end: int, label: str) -> str:
    return f"{field}:{start}:{end}:{label}"


def parse_suggestion_key(key: str) -> tuple[str, int, int, str] | None:
    parts = key.split(":")
    if len(parts) != 4 or parts[0] not in ("title", "body"):
        return None
    try:
        start, end = int(parts[1]), int(parts[2])
    except ValueError:
        return None
    if not 0 <= start <= end:
        return None
    return parts[0], start, end, parts[3]


def analyse_safely(*, title: str, body: str, public_id: str) -> Analysis | None:
    """The automated checks, or None when they fail: moderation never depends on them.

    The log line names the story and the error's type and place only: never any text.
    """
    try:
        return analyse(title=title, body=body)
    except Exception as exc:
        frame = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
        where = f"{frame[0].filename}:{frame[0].lineno}" if frame else "?"
        logger.error(
            "automated checks failed story=%s error=%s at %s", public_id, type(exc).__name__, where
        )
        return None


@dataclass(frozen=True)
class Checked:
    """What the automated checks found in a story's saved public text."""

    findings: list[Finding]
    kept: bool  # read from what was kept for this very text; False: analysed just now


def story_findings(*, story: Story) -> Checked | None:
    """The findings kept for the story's saved text (by the check job, or an earlier view),
    or else the checks run now. None when they fail (the workbench works without them)."""
    key = findings_key(title=story.title, body=story.body)
    kept = (
        StoryFindings.objects.filter(story_id=story.pk, text_key=key)
        .values_list("findings", flat=True)
        .first()
    )
    if kept is not None:
        return Checked(findings=findings_from_json(kept), kept=True)
    analysis = analyse_safely(title=story.title, body=story.body, public_id=story.public_id)
    return None if analysis is None else Checked(findings=analysis.findings, kept=False)


def story_suggestions(
    *, story: Story, findings: Sequence[Finding] | None = None
) -> list[Suggestion] | None:
    """What the automated checks suggest for the saved public version, title first: from
    ``findings`` if given, else from ``story_findings``.

    None when the checks are not available (the workbench still works without them).
    """
    if findings is None:
        checked = story_findings(story=story)
        if checked is None:
            return None
        findings = checked.findings
    texts = {"title": story.title, "body": story.body}
    suggestions = []
    for finding in sorted(findings, key=lambda f: (f.field != "title", f.start, f.end, f.label)):
        text = texts.get(finding.field)
        if text is None or not 0 <= finding.start <= finding.end <= len(text):
            continue
        suggestions.append(
            Suggestion(
                key=suggestion_key(finding.field, finding.start, finding.end, finding.label),
                field=finding.field,
                start=finding.start,
                end=finding.end,
                label=finding.label,
                label_name=str(SPAN_LABEL_NAMES.get(finding.label, finding.label)),
                text=text[finding.start : finding.end],
                replacement=finding.suggestion,
                message=finding.message,
                severity=finding.severity,
            )
        )
    return suggestions


def flag_names(flags: Iterable[str]) -> list[str]:
    return [str(FLAG_NAMES.get(flag, flag)) for flag in flags]


# --- History --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    revision: StoryRevision
    who: str
    title_diff: SafeString | None  # None: the title did not change
    body_diff: SafeString | None  # None: the text did not change


def _who(revision: StoryRevision, story: Story) -> str:
    if revision.editor_id is None:
        return _("Carestory (automatic)")
    if revision.editor_id == story.author_id:
        return _("The author")  # never the author's email or name
    assert revision.editor is not None
    return str(revision.editor)


def story_history(*, story: Story) -> list[HistoryEntry]:
    """Every version, newest first, each with its differences from the version before."""
    revisions = list(StoryRevision.objects.filter(story=story).select_related("editor"))
    entries: list[HistoryEntry] = []
    previous: StoryRevision | None = None
    for revision in revisions:
        if previous is None:
            entries.append(HistoryEntry(revision, _who(revision, story), None, None))
        else:
            # Each pair of versions is compared once, and rendered only when it differs.
            title = compare(previous.title, revision.title)
            body = compare(previous.body, revision.body)
            entries.append(
                HistoryEntry(
                    revision,
                    _who(revision, story),
                    compared_html(title) if has_changes(title.ops) else None,
                    compared_html(body) if has_changes(body.ops) else None,
                )
            )
        previous = revision
    entries.reverse()
    return entries


# --- Provider review ------------------------------------------------------------------------


def provider_review_admins(*, services: Iterable[Service]) -> list[Membership]:
    """Active administrators of the active subscriptions covering any of the services."""
    return memberships_covering(services=services, roles=[Membership.Role.ADMINISTRATOR])


def is_provider_review_admin(*, user: User, story: Story) -> bool:
    return is_member_covering(
        user=user, services=story.services.all(), roles=[Membership.Role.ADMINISTRATOR]
    )


def story_for_moderation(*, public_id: str) -> Story | None:
    """The story as the workbench shows it, in any state but withdrawn (the author took it
    back: gone from every screen, moderators' too); None otherwise."""
    return (
        Story.objects.select_related("author", "claimed_by")
        .exclude(status=Story.Status.WITHDRAWN)
        .filter(public_id=public_id)
        .first()
    )


def response_for_moderation(*, pk: int) -> Response | None:
    """A staff response a moderator may open: its story is published (a withdrawn story's
    responses are never published, so they are not shown either); None otherwise."""
    return (
        Response.objects.select_related("story", "subscription", "responder")
        .filter(pk=pk, story__status=Story.Status.PUBLISHED)
        .first()
    )


def reply_for_moderation(*, pk: int) -> AuthorReply | None:
    """An author's reply a moderator may open, on the same terms as its response."""
    return (
        AuthorReply.objects.select_related("response__story", "response__subscription")
        .filter(pk=pk, response__story__status=Story.Status.PUBLISHED)
        .first()
    )


# Story statuses in which the administrators who reviewed it may still open the review page
# (to see what happened); any other status, such as withdrawn or rejected, is a 404.
REVIEW_VISIBLE_STATUSES = (
    Story.Status.PROVIDER_REVIEW,
    Story.Status.HELD,
    Story.Status.PUBLISHED,
)


def provider_review_pending(review: ProviderReview) -> bool:
    """Whether the provider may still answer ``review`` (as read): not answered, and the story
    still waiting for it. Their answer's conditional update checks it again in the database."""
    return (
        review.outcome == ProviderReview.Outcome.PENDING
        and review.story.status == Story.Status.PROVIDER_REVIEW
    )


def provider_review_for(*, review_id: int, user: User) -> ProviderReview | None:
    """The review, if this user may open it: an administrator of a covering subscription, and
    the story not withdrawn or otherwise gone. Anyone else gets None (a 404)."""
    review = (
        ProviderReview.objects.select_related("story")
        .filter(pk=review_id, story__status__in=REVIEW_VISIBLE_STATUSES)
        .first()
    )
    if review is None:
        return None
    if review.outcome == ProviderReview.Outcome.PENDING and not provider_review_pending(review):
        return None  # the story moved on before the provider answered: nothing to show
    if not is_provider_review_admin(user=user, story=review.story):
        return None
    return review
