"""Readers for the NHS England files: ODS trusts (etr.csv), GP practices (epraccur.csv),
successors (succ.csv, optional) and the NHS website hospital list (nhs_choices_hospitals.csv).

The ODS files are headerless, every field quoted, 27 columns ("ODS standard 27-field format").
Column numbers below are 1-based as in the ODS documents.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from carestory.lib.names import join_address, title_case
from carestory.services.codes import CODE_MAX
from carestory.services.importers.common import (
    NAME_MAX,
    FileReport,
    Mode,
    Parsed,
    Rejection,
    RowError,
    Seen,
    ServiceRow,
    Tick,
    built_rows,
    coordinates,
    fits,
    integer,
    ods_date,
    read_csv,
    read_table,
    required,
    required_code,
    uk_postcode,
)
from carestory.services.models import Service

ODS_COLUMNS = 27
GP_PRACTICE_SETTING = 4
GP_STATUSES = {"A": "active", "C": "closed", "D": "dormant", "P": "proposed"}

NOTE_DORMANT = "GP practices with ODS status D (dormant), imported as not open"
NOTE_DUPLICATE_SITES = (
    "Hospital sites listed more than once under one site code "
    "(one service kept, the NHS-sector row preferred)"
)


def _code(value: str, what: str = "organisation code (column 1)") -> str:
    return required_code(value, what)


def _name(value: str, what: str = "name (column 2)") -> str:
    return fits(title_case(required(value, what)), what, NAME_MAX)


def _address(parts: list[str]) -> str:
    return fits(join_address(parts), "address", 300)


def _records(
    path: Path,
    *,
    parsed: Parsed,
    report: FileReport,
    tick: Tick,
    columns: int = ODS_COLUMNS,
    form: str = "ODS standard format",
) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) for every record of a headerless ODS file, each counted in
    ``report.rows``; a record of other than ``columns`` cells is refused ("expected 27 columns
    (ODS standard format), found 26"), and so is a file with no records ("the file is empty")."""
    label = report.name
    for line, row in read_csv(path, label=label, rejections=parsed.rejections, tick=tick):
        report.rows += 1
        if len(row) != columns:
            parsed.rejections.append(
                Rejection(label, line, f"expected {columns} columns ({form}), found {len(row)}")
            )
            continue
        yield line, row
    if report.rows == 0 and not parsed.rejections:
        parsed.rejections.append(Rejection(label, 0, "the file is empty"))


def read_etr(path: Path, *, label: str, today: dt.date, tick: Tick) -> Parsed:
    """NHS trusts: every row becomes a top-level ``trust``; a close date closes it."""
    parsed = Parsed()
    report = parsed.add_file(label)
    seen: Seen[str] = Seen()

    def trust(line: int, row: list[str]) -> ServiceRow:
        code = _code(row[0])
        seen.add(code, line)
        ods_date(row[10], "open date (column 11)")
        closed = ods_date(row[11], "close date (column 12)")
        return ServiceRow(
            code=code,
            name=_name(row[1]),
            kind=Service.Kind.TRUST,
            file=label,
            line=line,
            address=_address(row[4:9]),
            postcode=uk_postcode(row[9]),
            is_open=closed is None or closed > today,
            closed_on=closed,
        )

    rows = _records(path, parsed=parsed, report=report, tick=tick)
    parsed.services.extend(built_rows(rows, trust, parsed=parsed, report=report))
    return parsed


def read_epraccur(path: Path, *, label: str, today: dt.date, tick: Tick) -> Parsed:
    """GP practices (prescribing setting 4 only), each under a ``region`` node named after its
    commissioner code (column 15); the regions are made from the codes in the file."""
    parsed = Parsed()
    report = parsed.add_file(label)
    seen: Seen[str] = Seen()
    regions: dict[str, ServiceRow] = {}
    dormant: list[str] = []

    def gp_practice(line: int, row: list[str]) -> ServiceRow | None:
        code = _code(row[0])
        seen.add(code, line)
        setting = integer(row[25], "prescribing setting (column 26)")
        if setting != GP_PRACTICE_SETTING:
            report.skip("prescribing setting is not 4 (GP practice)")
            return None
        status = row[12].strip().upper()
        if status not in GP_STATUSES:
            raise RowError(
                f"status (column 13) {row[12]!r} is not one of A, C, D or P "
                "(active, closed, dormant, proposed)"
            )
        if status == "P":
            report.skip("status P (proposed, not open yet)")
            return None
        commissioner = _code(row[14], "commissioner (column 15)")
        ods_date(row[10], "open date (column 11)")
        closed = ods_date(row[11], "close date (column 12)")
        is_open = status == "A" and (closed is None or closed > today)
        practice = ServiceRow(
            code=code,
            name=_name(row[1]),
            kind=Service.Kind.GP_PRACTICE,
            file=label,
            line=line,
            parent_code=commissioner,
            address=_address(row[4:9]),
            postcode=uk_postcode(row[9]),
            is_open=is_open,
            closed_on=closed,
            provider_review=True,
        )
        if status == "D":
            dormant.append(f"{code} (line {line})")
        region = regions.get(commissioner)
        if region is None:
            regions[commissioner] = region = ServiceRow(
                code=commissioner,
                name=f"Commissioning area {commissioner}",
                kind=Service.Kind.REGION,
                file=label,
                line=line,
                is_open=False,
                mode=Mode.REGION,
            )
        region.is_open = region.is_open or is_open
        return practice

    rows = _records(path, parsed=parsed, report=report, tick=tick)
    parsed.services.extend(built_rows(rows, gp_practice, parsed=parsed, report=report))
    # Regions first: parents before children keeps the summary and the tree readable.
    parsed.services[:0] = list(regions.values())
    if dormant:
        parsed.note(NOTE_DORMANT, f"{len(dormant)}: {', '.join(dormant)}")
    return parsed


def read_successors(path: Path, *, label: str, tick: Tick) -> tuple[Parsed, dict[str, list[str]]]:
    """ODS succ.csv: old code, successor code, reason, effective date, indicator (5 columns)."""
    parsed = Parsed()
    report = parsed.add_file(label)
    successors: dict[str, list[str]] = {}

    def link(line: int, row: list[str]) -> tuple[str, str]:
        old = _code(row[0], "organisation code (column 1)")
        new = _code(row[1], "successor code (column 2)")
        ods_date(row[3], "effective date (column 4)")
        if old == new:
            raise RowError(f"{old} is given as its own successor")
        return old, new

    rows = _records(
        path, parsed=parsed, report=report, tick=tick, columns=5, form="ODS successor file"
    )
    for old, new in built_rows(rows, link, parsed=parsed, report=report):
        targets = successors.setdefault(old, [])
        if new not in targets:
            targets.append(new)
    return parsed, successors


HOSPITAL_COLUMNS = (
    "OrganisationID",
    "OrganisationCode",
    "OrganisationName",
    "Sector",
    "Address1",
    "Address2",
    "Address3",
    "City",
    "County",
    "Postcode",
    "Latitude",
    "Longitude",
    "ParentODSCode",
    "ParentName",
)


def stand_in_kind(code: str) -> str:
    """NHS trusts and care trusts have R.. and T.. codes; other parents in the NHS website
    list are independent providers (companies, community interest companies, charities)."""
    return Service.Kind.TRUST if code[:1] in {"R", "T"} else Service.Kind.PROVIDER


def read_nhs_hospitals(path: Path, *, label: str, tick: Tick) -> Parsed:
    """Hospital sites from the NHS website "Hospital" list (UTF-8, comma-separated, header).

    The row key is OrganisationID (the NHS website's own id; a repeat is an error). The list
    has a few sites entered twice under one ODS site code: they become one service.
    """
    parsed = Parsed()
    report = parsed.add_file(label)
    seen_ids: Seen[int] = Seen("OrganisationID {}")
    by_code: dict[str, list[tuple[ServiceRow, bool, int]]] = {}

    def hospital(line: int, cells: dict[str, str]) -> tuple[ServiceRow, bool, int]:
        org_id = integer(cells["OrganisationID"], "OrganisationID")
        seen_ids.add(org_id, line)
        code = _code(cells["OrganisationCode"], "OrganisationCode")
        lat, lon = coordinates(cells["Latitude"], cells["Longitude"])
        parent_code = cells["ParentODSCode"].upper()
        if parent_code:
            fits(parent_code, "ParentODSCode", CODE_MAX)
        parent_name = cells["ParentName"]
        site = ServiceRow(
            code=code,
            name=_name(cells["OrganisationName"], "OrganisationName"),
            kind=Service.Kind.HOSPITAL,
            file=label,
            line=line,
            parent_code=parent_code,
            address=_address(
                [
                    cells["Address1"],
                    cells["Address2"],
                    cells["Address3"],
                    cells["City"],
                    cells["County"],
                ]
            ),
            postcode=uk_postcode(cells["Postcode"]),
            latitude=lat,
            longitude=lon,
            relocatable=True,
            stand_in_name=(
                fits(
                    title_case(parent_name) or f"Organisation {parent_code}",
                    "ParentName",
                    NAME_MAX,
                )
                if parent_code
                else ""
            ),
            stand_in_kind=stand_in_kind(parent_code) if parent_code else "",
        )
        return site, cells["Sector"].lower() == "nhs sector", org_id

    rows = read_table(path, HOSPITAL_COLUMNS, parsed=parsed, report=report, tick=tick)
    for site, nhs, org_id in built_rows(rows, hospital, parsed=parsed, report=report):
        by_code.setdefault(site.code, []).append((site, nhs, org_id))
    for code, entries in by_code.items():
        # Prefer the NHS-sector entry, then the newest NHS website id.
        kept, _, _ = max(entries, key=lambda e: (e[1], e[2]))
        if len(entries) > 1:
            lines = ", ".join(str(e[0].line) for e in sorted(entries, key=lambda e: e[0].line))
            parsed.note(
                NOTE_DUPLICATE_SITES, f"{code} {kept.name}: lines {lines}, kept line {kept.line}"
            )
            for _ in entries[1:]:
                report.skip("same site code as another row (merged into one service)")
                report.used -= 1  # counted as used when read; merged into the row kept
        parsed.services.append(kept)
    return parsed
