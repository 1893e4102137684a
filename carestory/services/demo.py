"""Load the committed demo slice of real NHS services (demo_data/services.csv) into the tree,
and the postcodes that go with it (demo_data/postcodes.csv) for "near TS18 1HU" searches."""

from __future__ import annotations

import csv
from pathlib import Path

from django.db import transaction

from carestory.services.models import Postcode, Service
from carestory.services.services import service_create

DEMO_SERVICES_CSV = Path(__file__).resolve().parent / "demo_data" / "services.csv"
DEMO_POSTCODES_CSV = Path(__file__).resolve().parent / "demo_data" / "postcodes.csv"

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def _parse_bool(value: str, *, line: int) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE or lowered == "":
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"services.csv line {line}: is_open must be true or false, not {value!r}")


def _parse_coord(value: str, *, line: int) -> float | None:
    value = value.strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"services.csv line {line}: bad coordinate {value!r}") from None


@transaction.atomic
def demo_tree_load(*, path: Path | None = None) -> int:
    """Create the services in the CSV, parents first; codes that already exist are skipped.

    Returns how many services were created. Safe to run again: a second run creates nothing.
    """
    source = path or DEMO_SERVICES_CSV
    kinds = set(Service.Kind.values)
    created = 0
    by_code: dict[str, Service] = {}
    with source.open(newline="", encoding="utf-8") as fh:
        # Line 1 is the header, so data rows start at line 2.
        for line, row in enumerate(csv.DictReader(fh), start=2):
            code = (row.get("code") or "").strip().upper()
            if not code:
                raise ValueError(f"services.csv line {line}: code is empty")
            kind = (row.get("kind") or "").strip()
            if kind not in kinds:
                raise ValueError(f"services.csv line {line}: unknown kind {kind!r}")
            parent_code = (row.get("parent_code") or "").strip().upper()
            parent: Service | None = None
            if parent_code:
                parent = by_code.get(parent_code)
                if parent is None:
                    parent = Service.objects.filter(code=parent_code).first()
                if parent is None:
                    raise ValueError(
                        f"services.csv line {line}: parent {parent_code!r} of {code} not found "
                        "(parents must come before their children)"
                    )
            existing = Service.objects.filter(code=code).first()
            if existing is not None:
                by_code[code] = existing
                continue
            by_code[code] = service_create(
                code=code,
                name=row.get("name") or code,
                kind=kind,
                parent=parent,
                address=(row.get("address") or "").strip(),
                postcode=row.get("postcode") or "",
                latitude=_parse_coord(row.get("latitude") or "", line=line),
                longitude=_parse_coord(row.get("longitude") or "", line=line),
                is_open=_parse_bool(row.get("is_open") or "", line=line),
            )
            created += 1
    return created


@transaction.atomic
def demo_postcodes_load(*, path: Path | None = None) -> int:
    """Create the Postcode rows in demo_data/postcodes.csv (full postcodes of the demo services,
    and the sector and district centres of their districts); codes that exist are skipped.

    The file holds codes already in the stored form (``key`` in carestory/lib/postcodes.py).
    Every row is checked before any is written. Returns how many were created; a second run
    creates nothing.
    """
    from carestory.services.importers.common import RowError, number
    from carestory.services.importers.postcodes import stored_code

    source = path or DEMO_POSTCODES_CSV
    kinds = set(Postcode.Kind.values)
    rows: dict[str, Postcode] = {}
    with source.open(newline="", encoding="utf-8") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            kind = (row.get("kind") or "").strip()
            if kind not in kinds:
                raise ValueError(f"{source.name} line {line}: unknown kind {kind!r}")
            try:
                code = stored_code(row.get("code") or "", kind)
                latitude = number(row.get("latitude") or "", "latitude", low=-90, high=90)
                longitude = number(row.get("longitude") or "", "longitude", low=-180, high=180)
                if latitude is None or longitude is None:
                    raise RowError("latitude and longitude are both needed")
            except RowError as exc:
                raise ValueError(f"{source.name} line {line}: {exc}") from None
            if code in rows:
                raise ValueError(f"{source.name} line {line}: {code} is listed twice")
            rows[code] = Postcode(code=code, kind=kind, latitude=latitude, longitude=longitude)
    existing = set(Postcode.objects.filter(code__in=list(rows)).values_list("code", flat=True))
    new = [p for code, p in rows.items() if code not in existing]
    Postcode.objects.bulk_create(new)
    return len(new)
