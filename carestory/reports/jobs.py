"""Periodic work of reports: recomputing the moderation statistics' snapshot."""

from __future__ import annotations

from datetime import timedelta

from carestory.outbox.registry import register_periodic
from carestory.reports.services import REFRESH_SECONDS


@register_periodic("reports.moderation_statistics", every_seconds=REFRESH_SECONDS)
def refresh_moderation_statistics() -> int:
    """Every worker runs this every ten minutes and at start; a worker finding a snapshot
    under five minutes old (another worker's) leaves it (also `manage.py
    refresh_moderation_statistics`)."""
    from carestory.reports.services import moderation_statistics_refresh

    return moderation_statistics_refresh(fresh_for=timedelta(seconds=REFRESH_SECONDS / 2))
