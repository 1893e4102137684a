"""Run the automated checks over stories in a JSON-lines file (the dev-set format; any labels
in it are ignored) and print one JSON line per story: the spans found (offsets and labels,
never the text), the flags and the suggested criticality."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from carestory.automod.evaluation import check_record, read_records


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="A .jsonl file of {id, title, body} records")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.exists():
            raise CommandError(f"No such file: {path}")
        try:
            for record in read_records(path):
                self.stdout.write(json.dumps(check_record(record), ensure_ascii=False))
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
