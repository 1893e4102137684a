"""``manage.py refresh_moderation_statistics``: recompute the figures of
``/statistics/moderation/`` and store them as the page's snapshot.

The outbox worker does this every ten minutes; run it from cron as often only when the
workers run with ``--no-periodic``. Safe to overlap: each run stores a whole snapshot and the
newest is kept.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from carestory.reports.services import moderation_statistics_refresh


class Command(BaseCommand):
    help = "Recompute the public moderation statistics (the worker does it every 10 minutes)."

    def handle(self, *args: Any, **options: Any) -> None:
        moderation_statistics_refresh()
        self.stdout.write("Moderation statistics computed and stored.")
