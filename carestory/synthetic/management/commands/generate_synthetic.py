"""manage.py generate_synthetic --stories N --seed S [--clear]: a national-scale dataset."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from carestory.pagecache.invalidation import bump as page_cache_bump
from carestory.services.demo import demo_postcodes_load, demo_tree_load
from carestory.services.models import Service
from carestory.synthetic.generate import (
    ANCHOR,
    SyntheticError,
    synthetic_analyze,
    synthetic_clear,
    synthetic_generate,
)

SMALL_TREE = 1000


class Command(BaseCommand):
    help = (
        "Fill the database with N synthetic published stories (and, in proportion, stories in "
        "every other state, authors, responses, replies, staff and subscriptions) over the "
        "service tree already imported. Same seed, same data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--stories", type=int, required=True, help="published stories (N)")
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument(
            "--clear", action="store_true", help="remove an earlier synthetic dataset first"
        )
        parser.add_argument(
            "--anchor",
            default=ANCHOR.date().isoformat(),
            help="the last day of the ten years (YYYY-MM-DD, default %(default)s)",
        )
        parser.add_argument(
            "--no-analyze", action="store_true", help="skip VACUUM ANALYZE afterwards"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("generate_synthetic refuses to run with production settings")
        try:
            anchor = datetime.fromisoformat(options["anchor"]).replace(tzinfo=UTC)
        except ValueError as exc:
            raise CommandError(f"--anchor: {exc}") from exc
        if options["clear"]:
            self.stdout.write("Removing the earlier synthetic dataset...")
            started = time.monotonic()
            removed = synthetic_clear()
            self.stdout.write(
                f"  removed {removed.get('stories', 0):,} stories and "
                f"{removed.get('users', 0):,} users in {time.monotonic() - started:.0f} s"
            )
        self._check_tree()
        started = time.monotonic()
        try:
            summary = synthetic_generate(
                stories=options["stories"],
                seed=options["seed"],
                anchor=anchor,
                progress=self._progress(started),
            )
        except SyntheticError as exc:
            raise CommandError(str(exc)) from exc
        page_cache_bump()  # written with COPY, which the page cache's watcher does not see
        if self._interactive:
            self.stdout.write("")
        load_seconds = time.monotonic() - started
        if not options["no_analyze"]:
            self.stdout.write("VACUUM ANALYZE...")
            synthetic_analyze()
        counts = summary.as_dict()
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated {summary.stories:,} stories ({summary.published:,} published) in "
                f"{load_seconds:.0f} s, {time.monotonic() - started:.0f} s with ANALYZE, on "
                f"{connection.vendor}."
            )
        )
        for key in (
            "by_status",
            "authors",
            "staff",
            "subscriptions",
            "story_services",
            "story_tags",
            "revisions",
            "responses",
            "published_responses",
            "replies",
        ):
            self.stdout.write(f"  {key}: {counts[key]}")

    @property
    def _interactive(self) -> bool:
        return bool(getattr(self.stdout, "isatty", lambda: False)())

    def _check_tree(self) -> None:
        count = Service.objects.filter(is_open=True).count()
        if count == 0:
            self.stdout.write(
                self.style.WARNING(
                    "No service tree: loading the demo slice. For the national tree run "
                    "`manage.py import_ods ../shared/data` first (see docs/data-import.md)."
                )
            )
            demo_tree_load()
            demo_postcodes_load()
        elif count < SMALL_TREE:
            self.stdout.write(
                self.style.WARNING(
                    f"Only {count} open services: stories will crowd onto them. For the "
                    "national tree run `manage.py import_ods ../shared/data` first."
                )
            )

    def _progress(self, started: float) -> Any:
        last = [0.0]
        interactive = self._interactive

        def report(done: int, total: int) -> None:
            now = time.monotonic()
            if not interactive and now - last[0] < 10 and done < total:
                return
            last[0] = now
            elapsed = now - started
            left = elapsed / done * (total - done) if done else 0.0
            filled = int(30 * done / total)
            bar = "#" * filled + "-" * (30 - filled)
            line = (
                f"[{bar}] {done:>10,}/{total:,} stories  {elapsed:5.0f} s elapsed, "
                f"~{left:4.0f} s left"
            )
            if interactive:
                sys.stdout.write("\r" + line)
                sys.stdout.flush()
            else:
                self.stdout.write(line)

        return report
