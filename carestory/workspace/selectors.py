"""Reads of the staff workspace: the stories in a member's scope, filtered, by keyset; a story's
progress for their organisations; who read it, who is answering, the staff tags they may see.

Scope: every active membership of the user (its subscription's subtrees). A story outside it,
or not published, is ``None`` here and 404 in the views.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection
from django.db.models import (
    BigIntegerField,
    BooleanField,
    CharField,
    DateTimeField,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.utils import timezone

from carestory.accounts.models import User
from carestory.responses.models import Response
from carestory.services.models import Service
from carestory.stories.models import Story, StoryQuerySet, StoryService, StoryTag
from carestory.stories.selectors import story_get_published, story_list_rows
from carestory.subscriptions.models import Membership
from carestory.subscriptions.selectors import memberships_for, scope_services_for
from carestory.workspace.models import (
    ANSWERING_FOR,
    AnsweringMarker,
    Progress,
    SavedSearch,
    StaffTag,
    StoryHeard,
    StoryRead,
)

STAFF_TAG_CHOICES = 500
_CHANGES = [Response.Change.PLANNED, Response.Change.MADE]

# What a staff list or page shows of a story: never the author's email, postcode, age group or
# original words (invariant 1).
_STAFF_COLUMNS = (
    "public_id",
    "status",
    "screen_name",
    "author_role",
    "title",
    "body",
    "criticality",
    "published_at",
)


@dataclass(frozen=True)
class Scope:
    """What a member of staff may see: the roots of their subtrees and their organisations."""

    user: User
    roots: list[Service]
    subscription_ids: list[int]

    def services(self) -> QuerySet[Service]:
        return _subtrees_of(self.roots)

    def covers(self, service: Service) -> bool:
        root_ids = {r.pk for r in self.roots}
        return any(pk in root_ids for pk in service.ancestor_ids())

    def can_respond(self) -> bool:
        return (
            Membership.objects.in_term()
            .can_respond()
            .filter(user_id=self.user.pk, subscription_id__in=self.subscription_ids)
            .exists()
        )


def workspace_scope(*, user: User) -> Scope:
    """The user's scope over all their memberships that may read (active, in term or in the
    30 days after it: ``Membership.objects.readable``); empty for anyone else."""
    if not (user.is_authenticated and user.is_active):
        return Scope(user=user, roots=[], subscription_ids=[])
    subscription_ids = sorted(m.subscription_id for m in memberships_for(user=user))
    return Scope(user=user, roots=scope_services_for(user=user), subscription_ids=subscription_ids)


def _path_under_any(paths: list[str]) -> Func:
    """``path LIKE ANY(%s)``: the services under any of ``paths``, with one array parameter
    (PostgreSQL only)."""
    escaped = (p.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for p in paths)
    patterns = Func(Value([p + "%" for p in escaped]), function="ANY", output_field=CharField())
    return Func(
        F("path"),
        patterns,
        arg_joiner=" LIKE ",
        template="%(expressions)s",
        output_field=BooleanField(),
    )


# From this many roots the scope is one ``path LIKE ANY(array)`` (PostgreSQL), read by a scan of
# the service table (~7 ms for the imported tree); below it, an OR of one ``path LIKE`` per
# root, each an index scan, costs less than that to build, compile and plan (~0.15 ms a root).
LIKE_ANY_FROM_ROOTS = 32


def _subtrees_of(roots: list[Service]) -> QuerySet[Service]:
    """Every root and everything below each, as ``Service.objects.subtrees_of``. For a scope of
    hundreds of roots on PostgreSQL, one condition with one array parameter: the ORM's OR of
    one ``path LIKE`` per root was a third of a /staff/ request (build, compile, ~10 ms to
    plan) with the 428 roots of the issue 10 bench."""
    if connection.vendor != "postgresql" or len(roots) < LIKE_ANY_FROM_ROOTS:
        return Service.objects.subtrees_of(roots)
    return Service.objects.filter(_path_under_any([root.path for root in roots]))


def _in_scope(scope: Scope, services: QuerySet[Service] | None = None) -> Q:
    ids = services if services is not None else scope.services()
    return Q(pk__in=StoryService.objects.filter(service__in=ids).values("story"))


def _colleagues(scope: Scope) -> QuerySet[Membership]:
    return Membership.objects.filter(subscription_id__in=scope.subscription_ids)


def _progress_is(scope: Scope, stage: int) -> Q:
    """The stories whose progress for the scope's organisations is ``stage`` (the highest
    reached), for the progress filter: plain EXISTS and NOT EXISTS on each table's story id
    index, which the planner can estimate (a CASE over them it cannot, and then it sorts the
    whole scope). A page's rows get their progress from ``progress_of``."""
    responses = Response.objects.published().filter(
        story=OuterRef("pk"), subscription_id__in=scope.subscription_ids
    )
    reached = {
        Progress.CHANGE: Exists(responses.filter(change__in=_CHANGES)),
        Progress.RESPONDED: Exists(responses),
        Progress.READ: Exists(
            StoryRead.objects.filter(
                story=OuterRef("pk"), user_id__in=_colleagues(scope).values("user_id")
            )
        ),
        Progress.HEARD: Exists(
            StoryHeard.objects.filter(
                story=OuterRef("pk"), subscription_id__in=scope.subscription_ids
            )
        ),
    }
    condition = Q(reached[Progress(stage)]) if stage in reached else Q()
    for later in (Progress.RESPONDED, Progress.READ, Progress.HEARD):
        if later > stage:
            condition &= ~Q(reached[later])
    if stage == Progress.RESPONDED:
        condition &= ~Q(reached[Progress.CHANGE])
    return condition


def progress_of(*, scope: Scope, story_ids: list[int]) -> dict[int, int]:
    """Each story's ``Progress`` for the user's organisations: three queries, each on the
    story id index of its table (responses, reads, heard)."""
    progress = dict.fromkeys(story_ids, int(Progress.UNHEARD))
    if not story_ids:
        return progress

    def reach(story_id: int, stage: int) -> None:
        progress[story_id] = max(progress[story_id], stage)

    for story_id in StoryHeard.objects.filter(
        story_id__in=story_ids, subscription_id__in=scope.subscription_ids
    ).values_list("story_id", flat=True):
        reach(story_id, Progress.HEARD)
    for story_id in StoryRead.objects.filter(
        story_id__in=story_ids, user_id__in=_colleagues(scope).values("user_id")
    ).values_list("story_id", flat=True):
        reach(story_id, Progress.READ)
    for story_id, change in (
        Response.objects.published()
        .filter(story_id__in=story_ids, subscription_id__in=scope.subscription_ids)
        .values_list("story_id", "change")
    ):
        reach(story_id, Progress.CHANGE if change in _CHANGES else Progress.RESPONDED)
    return progress


# --- The list ------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"^(n|\d)\.(\d{1,19})\.(\d{1,19})$")


class Sort:
    NEWEST = "newest"
    CRITICAL = "critical"


@dataclass(frozen=True)
class WorkspaceCursor:
    """A position in either order: (criticality, published_at, id); ``n`` for no rating."""

    criticality: int | None
    published_at: datetime
    id: int

    @classmethod
    def of(cls, story: Story) -> WorkspaceCursor:
        assert story.published_at is not None
        return cls(criticality=story.criticality, published_at=story.published_at, id=story.pk)

    def encode(self) -> str:
        micros = (self.published_at - _EPOCH) // timedelta(microseconds=1)
        rating = "n" if self.criticality is None else str(self.criticality)
        return f"{rating}.{micros}.{self.id}"

    @classmethod
    def decode(cls, value: str) -> WorkspaceCursor:
        """Raises ValueError for anything that is not a cursor this code made."""
        match = _CURSOR.match(value.strip())
        if match is None:
            raise ValueError("not a workspace cursor")
        rating, micros, pk = match.group(1), int(match.group(2)), int(match.group(3))
        if pk >= 2**63:
            raise ValueError("not a workspace cursor")
        try:
            published_at = _EPOCH + timedelta(microseconds=micros)
        except OverflowError:
            raise ValueError("not a workspace cursor") from None
        return cls(None if rating == "n" else int(rating), published_at, pk)


@dataclass(frozen=True)
class Filters:
    """The workspace's filters, already checked (``services.workspace_filters_clean``)."""

    service: Service | None = None
    published_from: date | None = None
    published_to: date | None = None
    min_criticality: int | None = None
    tags: list[str] = field(default_factory=list)
    staff_tags: list[str] = field(default_factory=list)
    answered: bool | None = None
    read: bool | None = None
    progress: int | None = None
    sort: str = Sort.NEWEST


@dataclass(frozen=True)
class WorkspacePage:
    stories: list[Story]
    older: WorkspaceCursor | None  # pass as ``after`` for the next page, if there is one


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _row_before(**bounds: Value) -> Q:
    """``(a, b, ...) < (%s, %s, ...)``: a row comparison, which PostgreSQL uses as the bound
    of an index scan in the columns' order (an OR of column comparisons it only filters by).
    SQLite has row values since 3.15."""
    columns = Func(*[F(column) for column in bounds], template="(%(expressions)s)")
    values = Func(*bounds.values(), template="(%(expressions)s)")
    return Q(
        Func(
            columns,
            values,
            arg_joiner=" < ",
            template="%(expressions)s",
            output_field=BooleanField(),
        )
    )


def _after(cursor: WorkspaceCursor, sort: str) -> Q:
    """The stories after ``cursor`` in the order ``sort`` (NULL ratings last), as row
    comparisons in the order's index columns."""
    at = Value(cursor.published_at, output_field=DateTimeField())
    pk = Value(cursor.id, output_field=BigIntegerField())
    later = _row_before(published_at=at, id=pk)
    if sort != Sort.CRITICAL:
        return later
    if cursor.criticality is None:
        return Q(criticality__isnull=True) & later
    rating = Value(cursor.criticality, output_field=IntegerField())
    return _row_before(criticality=rating, published_at=at, id=pk) | Q(criticality__isnull=True)


def _filtered(scope: Scope, filters: Filters) -> StoryQuerySet:
    qs = Story.objects.published().filter(_in_scope(scope))
    if filters.service is not None:
        qs = qs.filter(_in_scope(scope, Service.objects.subtree_of(filters.service)))
    if filters.published_from is not None:
        qs = qs.filter(published_at__gte=_day_start(filters.published_from))
    if filters.published_to is not None and filters.published_to < date.max:
        # (Up to the last possible day is no bound: it has no next day to stop before.)
        qs = qs.filter(published_at__lt=_day_start(filters.published_to + timedelta(days=1)))
    if filters.min_criticality is not None:
        qs = qs.filter(criticality__gte=filters.min_criticality)
    if filters.tags:
        qs = qs.filter(pk__in=StoryTag.objects.filter(tag__slug__in=filters.tags).values("story"))
    if filters.staff_tags:
        visible = staff_tags_visible_q(scope)
        tagged = StaffTag.objects.filter(visible, slug__in=filters.staff_tags)
        qs = qs.filter(pk__in=tagged.values("story"))
    if filters.answered is not None:
        answered = Exists(Response.objects.published().filter(story=OuterRef("pk")))
        qs = qs.filter(answered if filters.answered else ~answered)
    if filters.read is not None:
        mine = Exists(StoryRead.objects.filter(story=OuterRef("pk"), user_id=scope.user.pk))
        qs = qs.filter(mine if filters.read else ~mine)
    if filters.progress is not None:
        qs = qs.filter(_progress_is(scope, filters.progress))
    return qs


def _for_list(qs: StoryQuerySet, scope: Scope) -> StoryQuerySet:
    """Staff columns only, what every story list shows of a row (``story_list_rows``), and
    whether I have read it."""
    return story_list_rows(qs.only(*_STAFF_COLUMNS)).annotate(
        read_by_me=Exists(StoryRead.objects.filter(story=OuterRef("pk"), user_id=scope.user.pk))
    )


def workspace_page(
    *, scope: Scope, filters: Filters, after: WorkspaceCursor | None = None, size: int = 20
) -> WorkspacePage:
    """One page of the stories in scope that pass the filters, newest or most critical first,
    by keyset (no OFFSET: the next page starts at the cursor in the index's order, so page
    1,000 costs what page 1 costs). Indexes: stories' story_published_newest and
    workspace's story_published_critical; each filter is an indexed semi-join or EXISTS."""
    if not scope.roots:
        return WorkspacePage(stories=[], older=None)
    qs = _filtered(scope, filters)
    if after is not None:
        qs = qs.filter(_after(after, filters.sort))
    if filters.sort == Sort.CRITICAL:
        qs = qs.order_by(F("criticality").desc(nulls_last=True), "-published_at", "-id")
    else:
        qs = qs.order_by("-published_at", "-id")
    rows = list(_for_list(qs, scope)[: size + 1])
    stories = rows[:size]
    progress = progress_of(scope=scope, story_ids=[s.pk for s in stories])
    for story in stories:
        story.progress = progress[story.pk]  # type: ignore[attr-defined]
    older = WorkspaceCursor.of(stories[-1]) if len(rows) > size else None
    return WorkspacePage(stories=stories, older=older)


# --- One story -------------------------------------------------------------------------------


def story_for_staff(*, scope: Scope, public_id: str) -> Story | None:
    """The published story in the user's scope, with its published responses and its progress
    for their organisations; None otherwise (the view answers 404)."""
    if not scope.roots:
        return None
    story = story_get_published(public_id=public_id)
    if story is None:
        return None
    if not Story.objects.filter(_in_scope(scope), pk=story.pk).exists():
        return None
    story.progress = story_progress(scope=scope, story=story)  # type: ignore[attr-defined]
    return story


def story_progress(*, scope: Scope, story: Story) -> int:
    """The story's ``Progress`` for the user's organisations, now."""
    return progress_of(scope=scope, story_ids=[story.pk])[story.pk]


def readers_of(*, scope: Scope, story: Story) -> list[StoryRead]:
    """Who in the user's organisations opened the story, most recent first."""
    return list(
        StoryRead.objects.filter(
            story=story, user_id__in=_colleagues(scope).filter(is_active=True).values("user_id")
        )
        .select_related("user")
        .order_by("-last_read_at", "-id")
    )


def answering_now(*, scope: Scope, story: Story) -> list[AnsweringMarker]:
    """Who in the user's organisations is answering the story now: opened Respond less than
    ANSWERING_FOR ago and has not sent a response since."""
    since = timezone.now() - ANSWERING_FOR
    sent_since = Response.objects.filter(
        story=OuterRef("story"),
        responder=OuterRef("user"),
        created_at__gte=OuterRef("started_at"),
    )
    return list(
        AnsweringMarker.objects.filter(
            story=story, subscription_id__in=scope.subscription_ids, started_at__gt=since
        )
        .exclude(Exists(sent_since))
        .select_related("user")
        .order_by("started_at", "id")
    )


def staff_tags_visible_q(scope: Scope) -> Q:
    """The staff tags the user may see: public ones, their organisations' shared ones, and
    their own private ones."""
    return (
        Q(visibility=StaffTag.Visibility.PUBLIC)
        | Q(visibility=StaffTag.Visibility.SHARED, subscription_id__in=scope.subscription_ids)
        | Q(visibility=StaffTag.Visibility.PRIVATE, author_id=scope.user.pk)
    )


def staff_tags_visible(*, scope: Scope, story: Story) -> list[StaffTag]:
    return list(
        StaffTag.objects.filter(staff_tags_visible_q(scope), story=story).select_related(
            "author", "subscription"
        )
    )


def staff_tag_names(*, scope: Scope) -> list[tuple[str, str]]:
    """(slug, name) of every staff tag the user may see, for the filter's choices."""
    rows = (
        StaffTag.objects.filter(staff_tags_visible_q(scope))
        .values_list("slug", "name")
        .order_by("slug")
        .distinct()[:STAFF_TAG_CHOICES]
    )
    seen: dict[str, str] = {}
    for slug, name in rows:
        seen.setdefault(slug, name)
    return list(seen.items())


def public_staff_tags(*, story: Story) -> list[StaffTag]:
    """The public staff tags of a story, for its public page (name, polarity, organisation)."""
    return list(
        StaffTag.objects.filter(story=story, visibility=StaffTag.Visibility.PUBLIC)
        .select_related("subscription")
        .only("name", "polarity", "subscription__name")
    )


def saved_searches_for(*, user: User) -> list[SavedSearch]:
    return list(SavedSearch.objects.filter(user_id=user.pk))


def saved_search_for(*, user: User, pk: int) -> SavedSearch | None:
    """The user's own saved search; None for anyone else's (404)."""
    return SavedSearch.objects.filter(user_id=user.pk, pk=pk).first()
