"""The moderation statistics as last computed by the worker (periodic task
``reports.moderation_statistics``): counting them on each view read a year of stories, and
every story for the counts, which took seconds at a million stories. The page reads the
newest snapshot; see ``reports.selectors``."""

from __future__ import annotations

from django.db import models


class ModerationSnapshot(models.Model):
    """One computation of the moderation statistics, at ``computed_at`` (the windows end
    then). A refresh adds a new snapshot and deletes the older ones, so a reader never sees
    figures from two computations mixed."""

    computed_at = models.DateTimeField(db_index=True)
    waiting_now = models.JSONField(
        default=dict, help_text="Stories waiting now, by status: {status: count}."
    )

    class Meta:
        get_latest_by = ("computed_at", "pk")

    def __str__(self) -> str:
        return f"moderation statistics at {self.computed_at:%Y-%m-%d %H:%M}"


class ModerationSnapshotWindow(models.Model):
    """The figures of one window (the last ``days`` days up to the snapshot's time)."""

    snapshot = models.ForeignKey(
        ModerationSnapshot, on_delete=models.CASCADE, related_name="windows"
    )
    days = models.PositiveSmallIntegerField()
    received = models.PositiveIntegerField()
    published = models.PositiveIntegerField()
    rejected = models.PositiveIntegerField()
    waiting = models.PositiveIntegerField()
    median_to_publication = models.DurationField(null=True, blank=True)
    rejected_by_reason = models.JSONField(
        default=list,
        help_text="[[reason, count], ...] in display order: every known reason, then any "
        "other reason seen in the longest window.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "days"], name="snapshot_window_once")
        ]

    def __str__(self) -> str:
        return f"{self.days} days of snapshot {self.snapshot_id}"
