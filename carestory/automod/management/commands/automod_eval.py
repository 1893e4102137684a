"""Score the automated checks against a labelled JSON-lines file (the dev-set format) and
print, as JSON, precision and recall per span label and per flag (spans match when they
overlap and have the same label), identifying-span totals (every label but PROFANITY) and
criticality agreement (exact and within one level)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from carestory.automod.evaluation import evaluate, read_records


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="A labelled .jsonl file")
        parser.add_argument(
            "--errors",
            action="store_true",
            help="Also list each missed or extra span and flag, with its text (for error analysis; "
            "do not use on real stories)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.exists():
            raise CommandError(f"No such file: {path}")
        try:
            result = evaluate(read_records(path), with_errors=options["errors"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(result, indent=2, ensure_ascii=False))
