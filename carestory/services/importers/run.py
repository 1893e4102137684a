"""The import use case: read every file completely, fit the rows into the tree, and only if
nothing was refused write everything in one transaction."""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from carestory.audit.services import audit_record
from carestory.services.importers import carestory_csv, ods, scotland
from carestory.services.importers.apply import (
    plan_postcodes,
    plan_services,
    write_events,
    write_postcodes,
    write_services,
)
from carestory.services.importers.common import Parsed, count_lines
from carestory.services.importers.place import known_from_services, place_rows
from carestory.services.importers.postcodes import POSTCODE_FILES, read_postcodes
from carestory.services.importers.progress import NoProgress, Progress
from carestory.services.importers.summary import ImportSummary
from carestory.services.models import Postcode, Service, ServiceRedirect

FORMATS = ("ods", "carestory")

# Where each file sits in a data directory laid out like the shared data folder. A file may
# also sit directly in the directory (``DATA_DIR/etr.csv``).
ODS_LAYOUT = (
    "ods/etr.csv",
    "ods/succ.csv",
    "ods/epraccur.csv",
    "nhs_hospitals/nhs_choices_hospitals.csv",
    "scotland/hb14_hb19.csv",
    "scotland/hospital_codes.csv",
    *(f"postcodes/{spec.name}" for spec in POSTCODE_FILES),
)


class ImportSetupError(Exception):
    """The import cannot start (no such directory, no files it knows)."""


@dataclass(frozen=True)
class SourceFile:
    label: str  # as shown in messages: the path inside the data directory
    path: Path

    @property
    def name(self) -> str:
        return self.path.name


def discover(data_dir: Path, fmt: str) -> tuple[list[SourceFile], list[str]]:
    """The files to read, and the expected ones that are not there."""
    if fmt not in FORMATS:
        raise ImportSetupError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if fmt == "carestory":
        if data_dir.is_file():
            return [SourceFile(data_dir.name, data_dir)], []
        if not data_dir.is_dir():
            raise ImportSetupError(f"{data_dir} is not a file or a directory")
        found = sorted(p for p in data_dir.glob("*.csv") if p.is_file())
        if not found:
            raise ImportSetupError(f"no .csv files in {data_dir}")
        return [SourceFile(p.name, p) for p in found], []
    if not data_dir.is_dir():
        raise ImportSetupError(f"{data_dir} is not a directory")
    files: list[SourceFile] = []
    missing: list[str] = []
    for relative in ODS_LAYOUT:
        candidates = [data_dir / relative, data_dir / Path(relative).name]
        path = next((c for c in candidates if c.is_file()), None)
        if path is None:
            missing.append(relative)
        else:
            files.append(SourceFile(str(path.relative_to(data_dir)), path))
    if not files:
        raise ImportSetupError(
            f"none of the files this import reads is in {data_dir} "
            f"(expected some of: {', '.join(ODS_LAYOUT)})"
        )
    return files, missing


def _merge(successors: dict[str, list[str]], links: dict[str, list[str]]) -> None:
    for old, new in links.items():
        targets = successors.setdefault(old, [])
        targets += [n for n in new if n not in targets]


def _read_all(
    files: list[SourceFile], fmt: str, *, today: dt.date, progress: Progress
) -> tuple[Parsed, dict[str, list[str]]]:
    parsed = Parsed()
    successors: dict[str, list[str]] = {}
    progress.start("reading", sum(count_lines(f.path) for f in files))
    tick = progress.advance
    postcode_specs = {spec.name: spec for spec in POSTCODE_FILES}
    for f in files:
        if fmt == "carestory":
            parsed.extend(
                carestory_csv.read_carestory(f.path, label=f.label, today=today, tick=tick)
            )
        elif f.name == "etr.csv":
            parsed.extend(ods.read_etr(f.path, label=f.label, today=today, tick=tick))
        elif f.name == "succ.csv":
            found, links = ods.read_successors(f.path, label=f.label, tick=tick)
            parsed.extend(found)
            _merge(successors, links)
        elif f.name == "epraccur.csv":
            parsed.extend(ods.read_epraccur(f.path, label=f.label, today=today, tick=tick))
        elif f.name == "nhs_choices_hospitals.csv":
            parsed.extend(ods.read_nhs_hospitals(f.path, label=f.label, tick=tick))
        elif f.name == "hb14_hb19.csv":
            found, links = scotland.read_boards(f.path, label=f.label, today=today, tick=tick)
            parsed.extend(found)
            _merge(successors, links)
        elif f.name == "hospital_codes.csv":
            parsed.extend(scotland.read_scottish_hospitals(f.path, label=f.label, tick=tick))
        elif f.name in postcode_specs:
            parsed.extend(read_postcodes(f.path, postcode_specs[f.name], label=f.label, tick=tick))
    progress.finish()
    return parsed, successors


@dataclass(frozen=True)
class _ImportRun:
    """What the audit event of a whole import points at."""

    pk: str


def services_import(
    *,
    data_dir: Path,
    fmt: str = "ods",
    dry_run: bool = False,
    today: dt.date | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import the service directory from ``data_dir``; see docs/data-import.md.

    Every file is read and checked completely first. If any row is refused, nothing is
    written and the summary lists each refused row with its file, line and reason.
    Otherwise all changes are written in one transaction (none with ``dry_run``).
    Raises ImportSetupError when there is nothing to import.
    """
    today = today or timezone.localdate()
    progress = progress or NoProgress()
    files, missing = discover(data_dir, fmt)
    summary = ImportSummary(source=str(data_dir), fmt=fmt, dry_run=dry_run)
    summary.missing_files = missing

    parsed, successors = _read_all(files, fmt, today=today, progress=progress)
    summary.files = parsed.files
    summary.notes = dict(parsed.notes)
    if parsed.rejections:
        summary.rejections = parsed.rejections
        return summary

    writing = contextlib.nullcontext() if dry_run else transaction.atomic()
    with writing:
        services = Service.objects.order_by("pk")
        if not dry_run:
            # PostgreSQL: staff edits to the tree wait until the import has committed, so
            # nothing the import compared against changes under it. (SQLite's write lock,
            # taken when the transaction begins, already does this.)
            services = services.select_for_update()
        existing = {s.code: s for s in services}
        stored_postcodes = {p.code: p for p in Postcode.objects.order_by("pk")}
        locations = {code: (p.latitude, p.longitude) for code, p in stored_postcodes.items()}
        locations.update({p.code: (p.latitude, p.longitude) for p in parsed.postcodes})

        placed = place_rows(
            parsed.services,
            existing=known_from_services(existing),
            successors=successors,
            locations=locations,
            redirects=dict(ServiceRedirect.objects.values_list("old_code", "service__code")),
        )
        for heading, lines in placed.notes.items():
            summary.notes.setdefault(heading, []).extend(lines)
        summary.located = placed.located
        if placed.rejections:
            summary.rejections = placed.rejections
            return summary

        plan = plan_services(placed.rows, existing, sources={f.name for f in files})
        postcode_plan = plan_postcodes(parsed.postcodes, stored_postcodes)
        summary.services = plan.counts
        summary.postcodes = postcode_plan.counts
        if dry_run:
            return summary

        write_services(plan, existing, progress=progress)
        write_postcodes(postcode_plan, progress=progress)
        write_events(plan)
        counts = plan.counts
        audit_record(
            actor=None,
            action="services.import",
            obj=_ImportRun(pk=fmt),
            object_type="service_import",
            changes={
                "files": [f.label for f in files],
                "added": counts.added,
                "updated": counts.updated,
                "closed": counts.closed,
                "unchanged": counts.unchanged,
                "postcodes_added": postcode_plan.counts.added,
                "postcodes_updated": postcode_plan.counts.updated,
            },
            reason=f"import_ods {data_dir}",
        )
        summary.written = True
    return summary
