"""Reader for the postcode files (ONS National Statistics Postcode Lookup, reduced).

Codes are stored (``Postcode.code``) in the form ``carestory.lib.postcodes`` gives as ``key``:
full postcodes and districts compact (``TS181HU``, ``TS18``), sectors with their space
(``TS18 1``), because compact they would collide with districts (sector ``TS1 8`` against
district ``TS18``). ``uk_postcode(text).lookups()`` gives the keys to look any way of writing
a postcode up by.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from carestory.lib.postcodes import Kind, Problem, uk_parse
from carestory.services.importers.common import (
    Parsed,
    PostcodeRow,
    RowError,
    Seen,
    Tick,
    built_rows,
    number,
    read_table,
)
from carestory.services.models import Postcode

__all__ = ["POSTCODE_FILES", "PostcodeFile", "read_postcodes", "stored_code"]


@dataclass(frozen=True)
class PostcodeFile:
    name: str
    column: str
    kind: str


POSTCODE_FILES = (
    PostcodeFile("postcode_lookup.csv", "postcode", Postcode.Kind.FULL),
    PostcodeFile("postcode_sector_centroids.csv", "sector", Postcode.Kind.SECTOR),
    PostcodeFile("postcode_district_centroids.csv", "district", Postcode.Kind.DISTRICT),
)


def stored_code(value: str, kind: str) -> str:
    """The stored form of a full postcode, sector or district; RowError if it is not one."""
    parsed = uk_parse(value, kinds=[k for k in Kind if k == kind])
    if parsed.value is not None:
        return parsed.value.key
    names: dict[str, str] = {
        Postcode.Kind.FULL: "a full UK postcode",
        Postcode.Kind.SECTOR: "a UK postcode sector (like TS18 1)",
        Postcode.Kind.DISTRICT: "a UK postcode district (like TS18)",
    }
    what = names.get(kind, f"a postcode {kind}")
    why = " (no UK postcode area begins so)" if parsed.problem == Problem.AREA else ""
    raise RowError(f"{value!r} is not {what}{why}")


def read_postcodes(path: Path, spec: PostcodeFile, *, label: str, tick: Tick) -> Parsed:
    parsed = Parsed()
    report = parsed.add_file(label)
    seen: Seen[str] = Seen("{}")
    columns = (spec.column, "latitude", "longitude")

    def postcode(line: int, cells: dict[str, str]) -> PostcodeRow:
        code = stored_code(cells[spec.column], spec.kind)
        seen.add(code, line)
        lat = number(cells["latitude"], "latitude", low=-90, high=90)
        lon = number(cells["longitude"], "longitude", low=-180, high=180)
        if lat is None or lon is None:
            raise RowError("latitude and longitude are both needed")
        return PostcodeRow(code, spec.kind, lat, lon)

    rows = read_table(path, columns, parsed=parsed, report=report, tick=tick)
    parsed.postcodes.extend(built_rows(rows, postcode, parsed=parsed, report=report))
    return parsed
