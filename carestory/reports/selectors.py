"""Public moderation statistics: how many stories came in, were published or rejected (and
why), how many are waiting, and how long publication takes.

Only counts and durations leave this module: no story, author or text.

Definitions, for a window of the last N days ending now:

- received: stories submitted in the window whose author confirmed them (a story still
  awaiting its email confirmation has not reached moderation);
- published: stories first published in the window (including any withdrawn since);
- rejected: stories rejected in the window, by reason;
- still waiting: stories received in the window that are in moderation, waiting for the
  author's answer, with the provider before publication, or held;
- median time to publication: the median of ``published_at - submitted_at`` over the
  stories published in the window.

The page reads these figures from the newest ``ModerationSnapshot``, one query whatever the
number of stories; the worker recomputes them every ten minutes (periodic task
``reports.moderation_statistics``, ``reports.services.moderation_statistics_refresh``), and
the page says when ("Figures as of ..."). At a million stories, computing them on each view
took seconds.

The computation (``moderation_statistics``) reads only the last year's rows through the
``submitted_at`` and ``published_at`` indexes, plus the rejected stories: one aggregate for
received and waiting, one for published, one grouped count for rejections (whose sum is the
rejected count), one for the waiting snapshot, and one per window that reads only the middle
one or two durations for the median (``ORDER BY ... OFFSET ... LIMIT 2``, exact and the same
on SQLite and PostgreSQL). Labels are added when the figures are read, in the reader's
language.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from carestory.moderation.models import RejectionReason
from carestory.reports.models import ModerationSnapshot, ModerationSnapshotWindow
from carestory.stories.models import Story

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

WINDOWS_DAYS: tuple[int, ...] = (30, 90, 365)

WAITING_LABELS: dict[str, StrOrPromise] = {
    Story.Status.IN_MODERATION: _("Being moderated"),
    Story.Status.AWAITING_AUTHOR: _("Waiting for the author to answer a question"),
    Story.Status.PROVIDER_REVIEW: _("Approved, with the provider before publication"),
    Story.Status.HELD: _("Held for a senior moderator"),
}
"""The statuses that count as waiting, with public labels (the status labels speak to the
author: "waiting for your answer")."""

WAITING_STATUSES: tuple[str, ...] = tuple(WAITING_LABELS)


@dataclass(frozen=True)
class ReasonCount:
    reason: str
    label: str
    count: int


@dataclass(frozen=True)
class WindowStats:
    days: int
    since: datetime
    received: int
    published: int
    rejected: int
    rejected_by_reason: list[ReasonCount]
    waiting: int
    median_to_publication: timedelta | None


@dataclass(frozen=True)
class WaitingNow:
    total: int
    by_status: list[tuple[str, str, int]]  # (status, label, count)


@dataclass(frozen=True)
class ModerationStatistics:
    now: datetime
    windows: list[WindowStats]
    waiting_now: WaitingNow


def _reason_label(reason: str) -> str:
    if reason in RejectionReason.values:
        return str(RejectionReason(reason).label)
    return str(_("Other reasons"))


def _median_to_publication(*, start: datetime, now: datetime, count: int) -> timedelta | None:
    """The median of ``max(published_at - submitted_at, 0)`` over the ``count`` stories
    published in ``[start, now]``: the middle one or two durations read with ``ORDER BY ...
    OFFSET ... LIMIT``, averaged as ``statistics.median`` averages them, so the value is the
    one the median of every duration gives, to the microsecond, without reading the others.
    (Clamping at zero keeps the order, so the middle of the raw order, clamped, is the middle
    of the clamped order.) The difference is an interval on PostgreSQL and exact
    microseconds on SQLite: the order is exact on both."""
    if count <= 0:
        return None
    middle = (
        Story.objects.filter(published_at__gte=start, published_at__lte=now)
        .annotate(
            duration=ExpressionWrapper(
                F("published_at") - F("submitted_at"), output_field=DurationField()
            )
        )
        .order_by("duration")
        .values_list("duration", flat=True)[(count - 1) // 2 : count // 2 + 1]
    )
    seconds = [max(d.total_seconds(), 0.0) for d in middle if d is not None]
    if not seconds:
        return None
    return timedelta(seconds=statistics.median(seconds))


def _build(
    *,
    now: datetime,
    windows: Iterable[tuple[int, int, int, int, int, timedelta | None, Sequence[Sequence[Any]]]],
    waiting_now: Mapping[str, int],
) -> ModerationStatistics:
    """The statistics with their labels in the current language, from the figures (computed
    now or stored): the one place both ways go through, so they show the same."""
    built = [
        WindowStats(
            days=days,
            since=now - timedelta(days=days),
            received=received,
            published=published,
            rejected=rejected,
            rejected_by_reason=[
                ReasonCount(reason=str(reason), label=_reason_label(str(reason)), count=int(n))
                for reason, n in by_reason
            ],
            waiting=waiting,
            median_to_publication=median,
        )
        for days, received, published, rejected, waiting, median, by_reason in windows
    ]
    by_status = [
        (status, str(label), int(waiting_now.get(status, 0)))
        for status, label in WAITING_LABELS.items()
    ]
    return ModerationStatistics(
        now=now,
        windows=built,
        waiting_now=WaitingNow(total=sum(n for _s, _l, n in by_status), by_status=by_status),
    )


def moderation_statistics(
    *, now: datetime | None = None, windows_days: Sequence[int] = WINDOWS_DAYS
) -> ModerationStatistics:
    """The statistics computed now from the stories: what the worker stores (the page reads
    the stored snapshot, ``moderation_statistics_for_page``)."""
    now = now or timezone.now()
    since = {days: now - timedelta(days=days) for days in windows_days}
    longest = min(since.values(), default=now)

    # Each query reads only the rows its column puts in the longest window; every FILTER is
    # the definition itself, unchanged, so restricting the rows changes no count.
    received_counts: dict[str, Count] = {}
    for days, start in since.items():
        received = Q(submitted_at__gte=start, submitted_at__lte=now) & ~Q(
            status=Story.Status.AWAITING_VERIFICATION
        )
        received_counts[f"received_{days}"] = Count("pk", filter=received)
        received_counts[f"waiting_{days}"] = Count(
            "pk", filter=received & Q(status__in=WAITING_STATUSES)
        )
    counts = Story.objects.filter(submitted_at__gte=longest, submitted_at__lte=now).aggregate(
        **received_counts
    )
    # published_at is never NULL in these rows, so counting it counts the stories (and
    # lets PostgreSQL answer from the published_at index alone).
    counts |= Story.objects.filter(published_at__gte=longest, published_at__lte=now).aggregate(
        **{
            f"published_{days}": Count(
                "published_at", filter=Q(published_at__gte=start, published_at__lte=now)
            )
            for days, start in since.items()
        }
    )

    rejections = (
        Story.objects.filter(
            status=Story.Status.REJECTED, rejected_at__gte=longest, rejected_at__lte=now
        )
        .values("rejection_reason")
        .annotate(
            **{
                f"n_{days}": Count("pk", filter=Q(rejected_at__gte=start))
                for days, start in since.items()
            }
        )
        .order_by()
    )
    by_reason = {row["rejection_reason"]: row for row in rejections}
    known = list(RejectionReason.values)
    reasons = known + sorted(r for r in by_reason if r not in known)

    windows = []
    for days, start in since.items():
        reason_counts = [(r, by_reason.get(r, {}).get(f"n_{days}", 0)) for r in reasons]
        windows.append(
            (
                days,
                counts[f"received_{days}"],
                counts[f"published_{days}"],
                # Every rejection of the window is in exactly one reason's row.
                sum(n for _r, n in reason_counts),
                counts[f"waiting_{days}"],
                _median_to_publication(start=start, now=now, count=counts[f"published_{days}"]),
                reason_counts,
            )
        )

    waiting_now = dict(
        Story.objects.filter(status__in=WAITING_STATUSES)
        .values("status")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("status", "n")
    )
    return _build(now=now, windows=windows, waiting_now=waiting_now)


def moderation_statistics_stored() -> ModerationStatistics | None:
    """The newest snapshot the worker stored, in one query; None if there is none yet, or if
    it was computed for other windows than WINDOWS_DAYS (a release changed them)."""
    newest = ModerationSnapshot.objects.order_by("-computed_at", "-pk").values("pk")[:1]
    rows = list(
        ModerationSnapshotWindow.objects.filter(snapshot=Subquery(newest))
        .select_related("snapshot")
        .order_by("days")
    )
    if not rows or sorted(row.days for row in rows) != sorted(WINDOWS_DAYS):
        return None
    rows.sort(key=lambda row: WINDOWS_DAYS.index(row.days))
    snapshot = rows[0].snapshot
    return _build(
        now=snapshot.computed_at,
        windows=(
            (
                row.days,
                row.received,
                row.published,
                row.rejected,
                row.waiting,
                row.median_to_publication,
                row.rejected_by_reason,
            )
            for row in rows
        ),
        waiting_now=snapshot.waiting_now,
    )


LIVE_MAX_STORIES = 20_000
"""Before the first snapshot, a database with fewer stories than this has its statistics
computed on the request (25-35 ms on PostgreSQL for 20,000 stories over ten years); a larger
one shows "being prepared" until the worker has stored them."""


def moderation_statistics_for_page() -> ModerationStatistics | None:
    """What ``/statistics/moderation/`` shows: the stored snapshot (one query, whatever the
    number of stories). Before the first one (a fresh install whose worker has not run yet):
    computed now if the database is small, which one index-only count bounded at
    LIVE_MAX_STORIES tells; otherwise None, and the page says the figures are being
    prepared. Nothing is written on the request: a worker stores the first snapshot as soon
    as it starts."""
    stored = moderation_statistics_stored()
    if stored is not None:
        return stored
    if Story.objects.values("pk")[:LIVE_MAX_STORIES].count() < LIVE_MAX_STORIES:
        return moderation_statistics()
    return None
