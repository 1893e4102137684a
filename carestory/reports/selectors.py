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

Queries: one aggregate for the counts of every window, one grouped count for rejections,
one for the waiting snapshot, and one that reads the two timestamps of each story published
in the longest window; the medians are computed in Python from those (portable across SQLite
and PostgreSQL; a year of publications is a few thousand pairs of datetimes).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from carestory.moderation.models import RejectionReason
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


def _median(durations: Sequence[float]) -> timedelta | None:
    if not durations:
        return None
    return timedelta(seconds=statistics.median(durations))


def moderation_statistics(
    *, now: datetime | None = None, windows_days: Sequence[int] = WINDOWS_DAYS
) -> ModerationStatistics:
    now = now or timezone.now()
    since = {days: now - timedelta(days=days) for days in windows_days}

    aggregates: dict[str, Count] = {}
    for days, start in since.items():
        received = Q(submitted_at__gte=start, submitted_at__lte=now) & ~Q(
            status=Story.Status.AWAITING_VERIFICATION
        )
        aggregates[f"received_{days}"] = Count("pk", filter=received)
        aggregates[f"waiting_{days}"] = Count(
            "pk", filter=received & Q(status__in=WAITING_STATUSES)
        )
        aggregates[f"published_{days}"] = Count(
            "pk", filter=Q(published_at__gte=start, published_at__lte=now)
        )
        aggregates[f"rejected_{days}"] = Count(
            "pk",
            filter=Q(status=Story.Status.REJECTED, rejected_at__gte=start, rejected_at__lte=now),
        )
    counts = Story.objects.aggregate(**aggregates)

    longest = min(since.values(), default=now)
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

    published = list(
        Story.objects.filter(published_at__gte=longest, published_at__lte=now)
        .order_by()
        .values_list("published_at", "submitted_at")
    )

    windows = []
    for days, start in since.items():
        durations = [
            max((pub - sub).total_seconds(), 0.0)
            for pub, sub in published
            if pub is not None and pub >= start
        ]
        windows.append(
            WindowStats(
                days=days,
                since=start,
                received=counts[f"received_{days}"],
                published=counts[f"published_{days}"],
                rejected=counts[f"rejected_{days}"],
                rejected_by_reason=[
                    ReasonCount(
                        reason=reason,
                        label=_reason_label(reason),
                        count=by_reason.get(reason, {}).get(f"n_{days}", 0),
                    )
                    for reason in reasons
                ],
                waiting=counts[f"waiting_{days}"],
                median_to_publication=_median(durations),
            )
        )

    waiting_rows = dict(
        Story.objects.filter(status__in=WAITING_STATUSES)
        .values("status")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("status", "n")
    )
    waiting_now = WaitingNow(
        total=sum(waiting_rows.values()),
        by_status=[
            (status, str(label), waiting_rows.get(status, 0))
            for status, label in WAITING_LABELS.items()
        ],
    )
    return ModerationStatistics(now=now, windows=windows, waiting_now=waiting_now)
