"""Forget every cached public page on every web process, now.

Needed after a change made outside Django (SQL in ``dbshell``, a restore): the page cache sees
only writes made through Django's database connections, and would otherwise serve the old
pages for up to PAGE_CACHE_SECONDS.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from carestory.audit.services import audit_record
from carestory.pagecache.invalidation import bump, current_generation
from carestory.pagecache.models import PageGeneration


class Command(BaseCommand):
    help = "Make every cached public page a miss (after changing data outside Django)."

    def handle(self, *args: Any, **options: Any) -> None:
        before = current_generation()
        bump()
        after = current_generation()
        if after <= before:
            raise SystemExit("the page cache generation could not be moved on: see the log")
        audit_record(
            actor=None,
            action="pagecache.bump",
            obj=PageGeneration.objects.get(pk=1),
            changes={"generation": [before, after]},
        )
        self.stdout.write(f"Page cache generation {before} -> {after}: every cached page is gone.")
