"""Reads of stories. Public reads only ever see published stories and their public fields."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection
from django.db.models import (
    Count,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from carestory.accounts.models import User
from carestory.responses.models import AuthorReply, ModerationStatus, Response
from carestory.services.models import Service
from carestory.stories.models import (
    ServiceStoryCounts,
    Story,
    StoryQuerySet,
    StoryService,
    StoryTag,
)

# What a public list never needs: the author's private words (the largest columns).
# Never read for a list: the author's private text and details (invariant 1), and the largest.
_PRIVATE_COLUMNS = ("original_title", "original_body", "postcode", "age_group")


def _scope_services(scope: Service | Sequence[Service]) -> QuerySet[Service]:
    return Service.objects.subtrees_of([scope] if isinstance(scope, Service) else scope)


def _published_about(scope: Service | Sequence[Service] | None) -> StoryQuerySet:
    """Published stories, optionally about any service in one or several subtrees (no
    prefetch, no order). The subtree is a subquery, so no JOIN multiplies the rows."""
    qs = Story.objects.published()
    if scope is None:
        return qs
    ids = _scope_services(scope)
    return qs.filter(pk__in=StoryService.objects.filter(service__in=ids).values("story"))


# A subtree with at least this many story links is "large": its page is found by walking the
# newest-first index of all published stories and keeping the ones in the subtree, rather than
# by collecting every story of the subtree and sorting them (78,000 of them for a big trust).
LARGE_SUBTREE_LINKS = 5_000
_WALK_FIRST_BATCH = 512
_WALK_MAX_BATCH = 16_384
_WALK_MAX_ROWS = 200_000


def subtree_is_large(scope: Service | Sequence[Service]) -> bool:
    """Whether the subtree has LARGE_SUBTREE_LINKS story links: one index-only count that
    stops there, so it costs the same for a trust as for a GP practice."""
    links = StoryService.objects.filter(service__in=_scope_services(scope))
    return links.values("pk")[:LARGE_SUBTREE_LINKS].count() >= LARGE_SUBTREE_LINKS


def _walk_ids(
    ordered: StoryQuerySet, scope: Service | Sequence[Service], want: int
) -> list[int] | None:
    """The first ``want`` story ids of ``ordered`` (published stories in keyset order) that
    are about the subtree, found batch by batch (512, then 4 times more each time); None if
    that would read more than _WALK_MAX_ROWS stories (the caller then asks the database the
    other way round)."""
    service_ids = list(_scope_services(scope).values_list("pk", flat=True))
    found: list[int] = []
    offset, batch = 0, _WALK_FIRST_BATCH
    while len(found) < want:
        if offset >= _WALK_MAX_ROWS:
            return None
        chunk = list(ordered.values_list("pk", flat=True)[offset : offset + batch])
        if not chunk:
            break
        # Two queries, not one with EXISTS per row: PostgreSQL would hash the whole subtree's
        # links for that (100 ms for a big trust); this is the story_id index for 512 ids.
        members = _members(chunk, service_ids)
        found += [pk for pk in chunk if pk in members]
        offset += len(chunk)
        batch = min(batch * 4, _WALK_MAX_BATCH)
    return found[:want]


def _members(story_ids: list[int], service_ids: list[int]) -> set[int]:
    """Which of ``story_ids`` are about any of ``service_ids``. On PostgreSQL the two lists go
    as two array parameters: as ``IN (%s, %s, ...)`` psycopg spent ~15 ms a page splitting a
    query of 512 placeholders, more than the database took to answer it."""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(StoryService._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT story_id FROM {table} "  # noqa: S608 (a model's table name)
                "WHERE story_id = ANY(%s) AND service_id = ANY(%s)",
                [story_ids, service_ids],
            )
            return {row[0] for row in cursor.fetchall()}
    links = StoryService.objects.filter(story_id__in=story_ids, service_id__in=service_ids)
    return set(links.values_list("story_id", flat=True))


def stories_published(*, service: Service | None = None) -> StoryQuerySet:
    """Published stories, newest first, optionally within a service's subtree.

    Slice it: the response count is a correlated subquery, counted for the returned rows only.
    """
    return _page_prefetch(_published_about(service).order_by("-published_at", "-id"))


# --- Keyset pagination ---------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"^(\d{1,19})\.(\d{1,19})$")


@dataclass(frozen=True)
class StoryCursor:
    """A position in the newest-first order: (published_at, id). Survives in a URL."""

    published_at: datetime
    id: int

    @classmethod
    def of(cls, story: Story) -> StoryCursor:
        assert story.published_at is not None
        return cls(published_at=story.published_at, id=story.pk)

    def encode(self) -> str:
        micros = (self.published_at - _EPOCH) // timedelta(microseconds=1)
        return f"{micros}.{self.id}"

    @classmethod
    def decode(cls, value: str) -> StoryCursor:
        """Raises ValueError for anything that is not a cursor this code made."""
        match = _CURSOR.match(value.strip())
        if match is None:
            raise ValueError("not a story cursor")
        micros, pk = int(match.group(1)), int(match.group(2))
        if pk >= 2**63:
            raise ValueError("not a story cursor")
        try:
            published_at = _EPOCH + timedelta(microseconds=micros)
        except OverflowError:
            raise ValueError("not a story cursor") from None
        return cls(published_at=published_at, id=pk)


@dataclass(frozen=True)
class StoryPage:
    stories: list[Story]
    newer: StoryCursor | None  # pass as ``before`` to get the newer page, if there is one
    older: StoryCursor | None  # pass as ``after`` to get the older page, if there is one


def story_list_rows(qs: StoryQuerySet) -> StoryQuerySet:
    """What every list of stories shows of each row: services and tags prefetched, and the
    published-response count as a correlated subquery rather than a JOIN and GROUP BY, so the
    database counts for the page's rows only, after the LIMIT (a JOIN over every story and
    response, grouped and then sorted, took seconds at a million stories). The caller chooses
    the columns (public pages: never the private ones)."""
    published_responses = (
        Response.objects.published()
        .filter(story=OuterRef("pk"))
        .order_by()
        .values("story")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return qs.prefetch_related(
        "services__parent",
        Prefetch("story_tags", queryset=StoryTag.objects.select_related("tag")),
    ).annotate(
        published_response_count=Coalesce(
            Subquery(published_responses, output_field=IntegerField()), Value(0)
        )
    )


def _page_prefetch(qs: StoryQuerySet) -> StoryQuerySet:
    """A public list's rows: public columns only (``story_list_rows``)."""
    return story_list_rows(qs.defer(*_PRIVATE_COLUMNS))


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def stories_published_page(
    *,
    service: Service | Sequence[Service] | None = None,
    tag: str = "",
    published_from: date | None = None,
    published_to: date | None = None,
    after: StoryCursor | None = None,
    before: StoryCursor | None = None,
    size: int = 20,
    large: bool | None = None,
) -> StoryPage:
    """One page of published stories, newest first, by keyset (no OFFSET).

    ``after``: the stories older than this cursor; ``before``: the page just newer than it.
    Dates are whole days in the site's time zone, both ends included. Page 1,000 costs what
    page 1 costs: an index range on (published_at, id) from the cursor.
    """
    if large is None:
        large = service is not None and subtree_is_large(service)
    large = large and service is not None and not tag
    qs = Story.objects.published() if large else _published_about(service)
    if tag:
        qs = qs.filter(pk__in=StoryTag.objects.filter(tag__slug=tag).values("story"))
    if published_from is not None:
        qs = qs.filter(published_at__gte=_day_start(published_from))
    if published_to is not None:
        qs = qs.filter(published_at__lt=_day_start(published_to + timedelta(days=1)))

    def first(ordered: StoryQuerySet, n: int) -> list[Story]:
        if large:
            assert service is not None
            ids = _walk_ids(ordered, service, n)
            if ids is not None:
                order = ordered.query.order_by
                return list(_page_prefetch(Story.objects.filter(pk__in=ids).order_by(*order)))
            ordered = ordered.filter(pk__in=_published_about(service).values("pk"))
        return list(_page_prefetch(ordered)[:n])

    if before is not None:
        at, pk = before.published_at, before.id
        newer = qs.filter(Q(published_at__gte=at) & (Q(published_at__gt=at) | Q(pk__gt=pk)))
        rows = first(newer.order_by("published_at", "id"), size + 1)
        if not rows:
            # Nothing newer (stories were withdrawn meanwhile): show the newest page.
            return stories_published_page(
                service=service,
                tag=tag,
                published_from=published_from,
                published_to=published_to,
                size=size,
                large=large,
            )
        more_newer = len(rows) > size
        stories = list(reversed(rows[:size]))
        return StoryPage(
            stories=stories,
            newer=StoryCursor.of(stories[0]) if more_newer else None,
            older=StoryCursor.of(stories[-1]) if stories else None,
        )
    if after is not None:
        at, pk = after.published_at, after.id
        qs = qs.filter(Q(published_at__lte=at) & (Q(published_at__lt=at) | Q(pk__lt=pk)))
    rows = first(qs.order_by("-published_at", "-id"), size + 1)
    stories = rows[:size]
    return StoryPage(
        stories=stories,
        newer=StoryCursor.of(stories[0]) if after is not None and stories else None,
        older=StoryCursor.of(stories[-1]) if len(rows) > size else None,
    )


@dataclass(frozen=True)
class StoryCounts:
    stories: int
    responses: int
    answered: int  # stories with at least one published response
    # For a large subtree, when the worker counted (None: counted now); stale: ask again.
    counted_at: datetime | None = None
    stale: bool = False

    @property
    def answered_percent(self) -> int | None:
        """Share of stories answered, as a whole percentage; None when there are none."""
        if not self.stories:
            return None
        return round(100 * self.answered / self.stories)


COUNTS_MAX_AGE = timedelta(minutes=10)


def story_counts_live(*, service: Service | None = None) -> StoryCounts:
    """Published stories, their published responses, and how many were answered. One query,
    whose cost grows with the subtree: the worker's job and small subtrees use it."""
    published_response = Q(responses__status=ModerationStatus.PUBLISHED)
    totals = _published_about(service).aggregate(
        n_stories=Count("pk", distinct=True),
        n_responses=Count("responses", filter=published_response, distinct=True),
        n_answered=Count("pk", filter=published_response, distinct=True),
    )
    return StoryCounts(
        stories=totals["n_stories"] or 0,
        responses=totals["n_responses"] or 0,
        answered=totals["n_answered"] or 0,
    )


def story_counts(*, service: Service, large: bool | None = None) -> StoryCounts | None:
    """The counts for a service page: live for a small subtree; for a large one, the worker's
    last count (``stale`` when older than COUNTS_MAX_AGE), or None before the first.
    ``large``: ``subtree_is_large(service)`` when the caller knows it already."""
    if large is None:
        large = subtree_is_large(service)
    if not large:
        return story_counts_live(service=service)
    row = ServiceStoryCounts.objects.filter(service=service).first()
    if row is None:
        return None
    return StoryCounts(
        stories=row.stories,
        responses=row.responses,
        answered=row.answered,
        counted_at=row.counted_at,
        stale=row.counted_at < timezone.now() - COUNTS_MAX_AGE,
    )


def story_get_published(*, public_id: str) -> Story | None:
    """The published story with its services, tags and published responses and replies; None
    if there is none (the caller answers 404)."""
    return (
        Story.objects.published()
        .filter(public_id=public_id)
        .prefetch_related(
            "services__parent",
            Prefetch("story_tags", queryset=StoryTag.objects.select_related("tag")),
            Prefetch(
                "responses",
                queryset=Response.objects.published()
                .select_related("subscription")
                .prefetch_related(
                    Prefetch(
                        "replies",
                        queryset=AuthorReply.objects.published(),
                        to_attr="published_replies",
                    )
                ),
                to_attr="published_responses",
            ),
        )
        .first()
    )


def story_get_for_author(*, public_id: str, author: User) -> Story | None:
    """The author's own story, in any state; None if there is none or it is someone else's."""
    return (
        Story.objects.filter(public_id=public_id, author_id=author.pk)
        .prefetch_related("services")
        .first()
    )


def stories_for_author(*, author: User) -> StoryQuerySet:
    return Story.objects.filter(author_id=author.pk).order_by("-submitted_at")
