"""Readers for Public Health Scotland's open data: health boards (hb14_hb19.csv) and
current NHS hospitals (hospital_codes.csv, British National Grid coordinates)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from carestory.lib.names import join_address
from carestory.lib.osgrid import MAX_EASTING, MAX_NORTHING, grid_to_wgs84
from carestory.services.importers.common import (
    Parsed,
    RowError,
    Seen,
    ServiceRow,
    Tick,
    built_rows,
    fits,
    number,
    ods_date,
    read_table,
    required_code,
    required_name,
    uk_postcode,
)
from carestory.services.models import Service

BOARD_COLUMNS = ("HB", "HBName", "HBDateEnacted", "HBDateArchived")
HOSPITAL_COLUMNS = (
    "Location",
    "LocationName",
    "Postcode",
    "AddressLine",
    "HB",
    "XCoordinate",
    "YCoordinate",
)

# The special boards that run a single national hospital are not in hb14_hb19.csv
# (Public Health Scotland's hospital list gives only their codes: there, SB0801 holds the
# Golden Jubilee National Hospital and SB0802 the State Hospital at Carstairs).
SPECIAL_BOARDS = {
    "SB0801": "NHS Golden Jubilee",
    "SB0802": "The State Hospitals Board for Scotland",
}

NOTE_BOARD_SUCCESSORS = "Health boards replaced by a board of the same name"


def read_boards(
    path: Path, *, label: str, today: dt.date, tick: Tick
) -> tuple[Parsed, dict[str, list[str]]]:
    """Health boards as top-level ``health_board`` services; an archive date closes one, and a
    current board with the same name is its successor."""
    parsed = Parsed()
    report = parsed.add_file(label)
    seen: Seen[str] = Seen()

    def health_board(line: int, cells: dict[str, str]) -> ServiceRow:
        code = required_code(cells["HB"], "HB")
        seen.add(code, line)
        name = required_name(cells["HBName"], "HBName")
        ods_date(cells["HBDateEnacted"], "HBDateEnacted")
        archived = ods_date(cells["HBDateArchived"], "HBDateArchived")
        return ServiceRow(
            code=code,
            name=name,
            kind=Service.Kind.HEALTH_BOARD,
            file=label,
            line=line,
            is_open=archived is None or archived > today,
            closed_on=archived,
        )

    rows = read_table(path, BOARD_COLUMNS, parsed=parsed, report=report, tick=tick)
    parsed.services.extend(built_rows(rows, health_board, parsed=parsed, report=report))
    successors: dict[str, list[str]] = {}
    current = [b for b in parsed.services if b.is_open]
    for board in parsed.services:
        if board.is_open:
            continue
        same = [b.code for b in current if b.name == board.name]
        if same:
            successors[board.code] = same
            parsed.note(
                NOTE_BOARD_SUCCESSORS,
                f"{board.code} {board.name} (closed {board.closed_on}) -> {', '.join(same)}",
            )
    return parsed, successors


def read_scottish_hospitals(path: Path, *, label: str, tick: Tick) -> Parsed:
    """Hospitals under their health board, located from their National Grid reference
    (or, for the rows without one, later from the postcode)."""
    parsed = Parsed()
    report = parsed.add_file(label)
    seen: Seen[str] = Seen()

    def hospital(line: int, cells: dict[str, str]) -> ServiceRow:
        code = required_code(cells["Location"], "Location")
        seen.add(code, line)
        name = required_name(cells["LocationName"], "LocationName")
        board = required_code(cells["HB"], "HB")
        easting = number(cells["XCoordinate"], "XCoordinate", low=0, high=MAX_EASTING)
        northing = number(cells["YCoordinate"], "YCoordinate", low=0, high=MAX_NORTHING)
        if (easting is None) != (northing is None):
            raise RowError("XCoordinate/YCoordinate: give both or neither")
        lat = lon = None
        if easting is not None and northing is not None:
            lat, lon = grid_to_wgs84(easting, northing)
            lat, lon = round(lat, 6), round(lon, 6)
        return ServiceRow(
            code=code,
            name=name,
            kind=Service.Kind.HOSPITAL,
            file=label,
            line=line,
            parent_code=board,
            address=fits(join_address([cells["AddressLine"]], recase=False), "address", 300),
            postcode=uk_postcode(cells["Postcode"]),
            latitude=lat,
            longitude=lon,
            relocatable=True,
            stand_in_name=SPECIAL_BOARDS.get(board, f"Health board {board}"),
            stand_in_kind=Service.Kind.HEALTH_BOARD,
        )

    rows = read_table(path, HOSPITAL_COLUMNS, parsed=parsed, report=report, tick=tick)
    parsed.services.extend(built_rows(rows, hospital, parsed=parsed, report=report))
    return parsed
