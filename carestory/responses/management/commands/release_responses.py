"""``manage.py release_responses``: release responses whose 30-minute edit window has ended.

The outbox job due at each response's ``editable_until`` normally does this; this command is
the safety net (run it from cron every minute). It is idempotent: a response already released
is left alone.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from carestory.responses.services import responses_release_due


class Command(BaseCommand):
    help = "Release staff responses whose edit window has ended (publish or send to moderation)."

    def handle(self, *args: Any, **options: Any) -> None:
        released = responses_release_due()
        self.stdout.write(f"Released {released} response(s).")
