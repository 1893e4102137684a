"""``manage.py send_digests``: queue the daily and weekly alert digests now due.

Every worker runs the same work every 15 minutes (the periodic task ``alerts.digests``); this
command is for cron where no worker runs. Idempotent: one email per alert per period.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from carestory.alerts.digests import alerts_digests_send


class Command(BaseCommand):
    help = "Queue the daily and weekly alert digests of the last whole period (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        queued = alerts_digests_send()
        self.stdout.write(f"Queued {queued} digest(s).")
