"""Reader for Carestory's own CSV format, for services that no national file covers
(other countries, care homes, independent providers). Documented in docs/data-import.md.

UTF-8 with a header row holding exactly these columns, in any order::

    code,name,type,parent_code,address,postcode,latitude,longitude,region,closed_on
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from pathlib import Path

from carestory.lib.postcodes import MAX_STORED
from carestory.services.codes import code_well_formed
from carestory.services.importers.common import (
    ADDRESS_MAX,
    Parsed,
    RowError,
    Seen,
    ServiceRow,
    Tick,
    built_rows,
    coordinates,
    fits,
    iso_date,
    read_table,
    required_code,
    required_name,
    uk_postcode,
)
from carestory.services.models import Service

COLUMNS = (
    "code",
    "name",
    "type",
    "parent_code",
    "address",
    "postcode",
    "latitude",
    "longitude",
    "region",
    "closed_on",
)
REGION_PATTERN = re.compile(r"^[a-z]{2,8}$")
# Types whose stories go to the provider for review before publication.
REVIEWED_KINDS = {Service.Kind.GP_PRACTICE, Service.Kind.CARE_HOME, Service.Kind.PROVIDER}


def _code(value: str, what: str, *, optional: bool = False) -> str:
    text = value.strip().upper()
    if not text and optional:
        return ""
    text = required_code(text, what)
    if not code_well_formed(text):
        raise RowError(f"{what} {value.strip()!r} may hold only letters, digits, '.', '-' and '_'")
    return text


def _header(row: list[str], columns: Sequence[str]) -> dict[str, int]:
    """Exactly ``columns``, in any order, names in any case; a RowError says what is wrong."""
    header = [h.strip().lower() for h in row]
    missing = [c for c in columns if c not in header]
    unknown = [h for h in header if h not in columns]
    repeated = sorted({h for h in header if header.count(h) > 1})
    problems = []
    if missing:
        problems.append(f"lacks column(s): {', '.join(missing)}")
    if unknown:
        problems.append(f"has unknown column(s): {', '.join(unknown)}")
    if repeated:
        problems.append(f"repeats column(s): {', '.join(repeated)}")
    if problems:
        raise RowError("the header " + "; ".join(problems))
    return {c: header.index(c) for c in columns}


def read_carestory(path: Path, *, label: str, today: dt.date, tick: Tick) -> Parsed:
    parsed = Parsed()
    report = parsed.add_file(label)
    seen: Seen[str] = Seen()
    kinds = set(Service.Kind.values)

    def service(line: int, cells: dict[str, str]) -> ServiceRow:
        code = _code(cells["code"], "code")
        seen.add(code, line)
        name = required_name(cells["name"], "name")
        kind = cells["type"].lower()
        if kind not in kinds:
            raise RowError(f"type {cells['type']!r} is not one of {', '.join(sorted(kinds))}")
        parent_code = _code(cells["parent_code"], "parent_code", optional=True)
        if parent_code == code:
            raise RowError(f"{code} cannot be its own parent")
        region = cells["region"].lower()
        if not REGION_PATTERN.match(region):
            raise RowError(
                f"region {cells['region']!r} must be a site code of 2 to 8 letters (uk, ie, au ...)"
            )
        lat, lon = coordinates(cells["latitude"], cells["longitude"])
        closed_on = iso_date(cells["closed_on"], "closed_on")
        address = fits(" ".join(cells["address"].split()), "address", ADDRESS_MAX)
        postcode = uk_postcode(cells["postcode"]) if region == "uk" else cells["postcode"]
        fits(postcode, "postcode", MAX_STORED)
        return ServiceRow(
            code=code,
            name=name,
            kind=kind,
            file=label,
            line=line,
            parent_code=parent_code,
            address=address,
            postcode=" ".join(postcode.upper().split()),
            latitude=lat,
            longitude=lon,
            is_open=closed_on is None or closed_on > today,
            closed_on=closed_on,
            provider_review=True if kind in REVIEWED_KINDS else None,
            region=region,
        )

    rows = read_table(path, COLUMNS, parsed=parsed, report=report, tick=tick, header=_header)
    parsed.services.extend(built_rows(rows, service, parsed=parsed, report=report))
    return parsed
