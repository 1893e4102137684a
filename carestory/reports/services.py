"""Writes of the reports app: keeping the moderation statistics' snapshot."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from carestory.reports.models import ModerationSnapshot, ModerationSnapshotWindow
from carestory.reports.selectors import moderation_statistics

REFRESH_SECONDS = 600
"""How often the worker recomputes the moderation statistics (periodic task
``reports.moderation_statistics``)."""


def moderation_statistics_refresh(
    *, now: datetime | None = None, fresh_for: timedelta = timedelta(0)
) -> int:
    """Compute the moderation statistics and store them as the newest snapshot, deleting the
    older ones; 1 when stored. 0, computing nothing, when a snapshot less than ``fresh_for``
    old exists (another worker has just stored one).

    The queries run outside any transaction; the snapshot and its windows are written in
    one, so a reader sees a whole snapshot or the previous one. Two workers overlapping each
    store theirs and the newest stays (safe to run from several workers at once)."""
    now = now or timezone.now()
    if fresh_for > timedelta(0) and (
        ModerationSnapshot.objects.filter(computed_at__gt=now - fresh_for).exists()
    ):
        return 0
    stats = moderation_statistics(now=now)
    with transaction.atomic():
        snapshot = ModerationSnapshot.objects.create(
            computed_at=stats.now,
            waiting_now={status: n for status, _label, n in stats.waiting_now.by_status},
        )
        ModerationSnapshotWindow.objects.bulk_create(
            ModerationSnapshotWindow(
                snapshot=snapshot,
                days=w.days,
                received=w.received,
                published=w.published,
                rejected=w.rejected,
                waiting=w.waiting,
                median_to_publication=w.median_to_publication,
                rejected_by_reason=[[r.reason, r.count] for r in w.rejected_by_reason],
            )
            for w in stats.windows
        )
        ModerationSnapshot.objects.filter(
            Q(computed_at__lt=snapshot.computed_at)
            | Q(computed_at=snapshot.computed_at, pk__lt=snapshot.pk)
        ).delete()
    return 1
