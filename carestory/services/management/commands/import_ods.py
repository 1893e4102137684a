"""manage.py import_ods DATA_DIR [--format ods|carestory] [--dry-run]"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError

from carestory.services.importers.progress import NoProgress, Progress, TextProgress
from carestory.services.importers.run import FORMATS, ImportSetupError, services_import


class Command(BaseCommand):
    help = (
        "Import or update the service directory from NHS ODS and related files, or from "
        "Carestory's CSV format. Every file is checked first; if any row is refused nothing "
        "is written. See docs/data-import.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "data_dir",
            type=Path,
            help="Directory laid out like the shared data folder (ods/, nhs_hospitals/, "
            "scotland/, postcodes/); for --format carestory a directory of .csv files or "
            "one file.",
        )
        parser.add_argument("--format", dest="fmt", choices=FORMATS, default="ods")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check the files and report what would change, without writing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = int(options["verbosity"])
        progress: Progress = NoProgress()
        if verbosity >= 1 and sys.stderr.isatty():
            progress = TextProgress(sys.stderr)
        try:
            summary = services_import(
                data_dir=options["data_dir"],
                fmt=options["fmt"],
                dry_run=options["dry_run"],
                progress=progress,
            )
        except ImportSetupError as exc:
            raise CommandError(str(exc)) from exc
        except IntegrityError as exc:
            raise CommandError(
                "Another import (or someone adding a service with the same code) changed the "
                f"directory at the same moment; nothing was written. Run it again. ({exc})"
            ) from exc
        if verbosity >= 1 or not summary.ok:
            for line in summary.lines(verbosity=verbosity):
                self.stdout.write(line)
        if not summary.ok:
            raise CommandError(f"{len(summary.rejections)} row(s) rejected; nothing was written.")
