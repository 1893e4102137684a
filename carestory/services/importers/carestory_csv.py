"""Reader for Carestory's own CSV format, for services that no national file covers
(other countries, care homes, independent providers). Documented in docs/data-import.md.

UTF-8 with a header row holding exactly these columns, in any order::

    code,name,type,parent_code,address,postcode,latitude,longitude,region,closed_on
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from carestory.services.importers.common import (
    ADDRESS_MAX,
    CODE_MAX,
    NAME_MAX,
    FileReport,
    Parsed,
    Rejection,
    RowError,
    ServiceRow,
    Tick,
    coordinates,
    fits,
    iso_date,
    read_csv,
    required,
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
# Codes appear in page addresses (/services/<code>/): letters, digits, dot, dash, underscore.
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9._-]*$")
REGION_PATTERN = re.compile(r"^[a-z]{2,8}$")
# Types whose stories go to the provider for review before publication.
REVIEWED_KINDS = {Service.Kind.GP_PRACTICE, Service.Kind.CARE_HOME, Service.Kind.PROVIDER}


def _code(value: str, what: str, *, optional: bool = False) -> str:
    text = value.strip().upper()
    if not text and optional:
        return ""
    text = fits(required(text, what), what, CODE_MAX)
    if not CODE_PATTERN.match(text):
        raise RowError(f"{what} {value.strip()!r} may hold only letters, digits, '.', '-' and '_'")
    return text


def read_carestory(path: Path, *, label: str, today: dt.date, tick: Tick) -> Parsed:
    parsed = Parsed()
    report = FileReport(label)
    parsed.files.append(report)
    index: dict[str, int] | None = None
    seen: dict[str, int] = {}
    kinds = set(Service.Kind.values)
    for line, row in read_csv(path, label=label, rejections=parsed.rejections, tick=tick):
        if index is None:
            header = [h.strip().lower() for h in row]
            missing = [c for c in COLUMNS if c not in header]
            unknown = [h for h in header if h not in COLUMNS]
            repeated = sorted({h for h in header if header.count(h) > 1})
            problems = []
            if missing:
                problems.append(f"lacks column(s): {', '.join(missing)}")
            if unknown:
                problems.append(f"has unknown column(s): {', '.join(unknown)}")
            if repeated:
                problems.append(f"repeats column(s): {', '.join(repeated)}")
            if problems:
                parsed.rejections.append(
                    Rejection(label, line, "the header " + "; ".join(problems))
                )
                return parsed
            index = {c: header.index(c) for c in COLUMNS}
            continue
        report.rows += 1
        try:
            if len(row) != len(COLUMNS):
                raise RowError(f"expected {len(COLUMNS)} columns, found {len(row)}")

            cells = {name: row[i].strip() for name, i in index.items()}

            code = _code(cells["code"], "code")
            if code in seen:
                raise RowError(f"code {code} is also on line {seen[code]}")
            seen[code] = line
            name = fits(" ".join(required(cells["name"], "name").split()), "name", NAME_MAX)
            kind = cells["type"].lower()
            if kind not in kinds:
                raise RowError(f"type {cells['type']!r} is not one of {', '.join(sorted(kinds))}")
            parent_code = _code(cells["parent_code"], "parent_code", optional=True)
            if parent_code == code:
                raise RowError(f"{code} cannot be its own parent")
            region = cells["region"].lower()
            if not REGION_PATTERN.match(region):
                raise RowError(
                    f"region {cells['region']!r} must be a site code of 2 to 8 letters "
                    "(uk, ie, au ...)"
                )
            lat, lon = coordinates(cells["latitude"], cells["longitude"])
            closed_on = iso_date(cells["closed_on"], "closed_on")
            address = fits(" ".join(cells["address"].split()), "address", ADDRESS_MAX)
            postcode = uk_postcode(cells["postcode"]) if region == "uk" else cells["postcode"]
            fits(postcode, "postcode", 10)
        except RowError as exc:
            parsed.rejections.append(Rejection(label, line, str(exc)))
            continue
        parsed.services.append(
            ServiceRow(
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
        )
        report.used += 1
    if index is None and not parsed.rejections:
        parsed.rejections.append(Rejection(label, 0, "the file is empty"))
    return parsed
