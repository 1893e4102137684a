"""Rebuild services.csv, the demo slice of real NHS organisations, from the public source files.

Usage (from the project root):

    python carestory/services/demo_data/build_slice.py /path/to/shared/data [--out FILE]

The data directory must hold the files described in README.md next to this script:

    ods/etr.csv                            NHS trusts (ODS, headerless, 27 columns)
    ods/epraccur.csv                       GP practices (ODS, headerless, 27 columns)
    nhs_hospitals/nhs_choices_hospitals.csv  hospital sites with ParentODSCode
    postcodes/postcode_lookup.csv          postcode -> latitude, longitude
    postcodes/postcode_sector_centroids.csv     sector -> centre (for postcodes.csv)
    postcodes/postcode_district_centroids.csv   district -> centre (for postcodes.csv)

It writes services.csv and postcodes.csv: the full postcodes of the slice's services and the
sector and district centres of their districts, so "near TS18 1HU" works in the demo.

Standard library only: the product reads the committed services.csv and never needs these
source files at runtime. The choice of organisations is fixed below so a rebuild from newer
files gives the same slice with updated names, addresses and open/closed state.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The name and postcode tidying is shared with the importer; carestory.lib.names and
# carestory.lib.postcodes are standard library only, so this stays a plain script that runs
# without Django.
sys.path.insert(0, str(HERE.parents[2]))

from carestory.lib.names import join_address, title_case  # noqa: E402
from carestory.lib.postcodes import Kind, uk_postcode, uk_tidy  # noqa: E402

HEADER = (
    "code",
    "name",
    "kind",
    "parent_code",
    "address",
    "postcode",
    "latitude",
    "longitude",
    "is_open",
)

# Four trusts in three NHS England regions (North East and Yorkshire, London).
TRUSTS = ("RTR", "RVW", "RR8", "RJ1")

# Invented departments (not ODS): (code, name, hospital site code). Two or three per trust.
DEPARTMENTS = (
    ("RTR-ED", "Emergency department", "RTRAT"),
    ("RTR-MAT", "Maternity services", "RTRAT"),
    ("RTR-CHW", "Children's ward", "RTRAT"),
    ("RVW-ED", "Emergency department", "RVWAE"),
    ("RVW-MAT", "Maternity services", "RVWAE"),
    ("RVW-OPD", "Outpatient clinics", "RVWAA"),
    ("RR8-ED", "Emergency department", "RR801"),
    ("RR8-CHW", "Children's ward", "RR801"),
    ("RR8-MAT", "Maternity services", "RR813"),
    ("RJ1-ED", "Emergency department", "RJ122"),
    ("RJ1-MAT", "Maternity services", "RJ122"),
    ("RJ1-OPD", "Outpatient clinics", "RJ121"),
)

# GP practices in Stockton-on-Tees and Middlesbrough (TS postcodes), all GP-setting rows of
# epraccur. The last one, The Manor House Surgery, closed on 30 June 2024.
GP_PRACTICES = (
    "A81001",  # The Densham Surgery
    "A81002",
    "A81004",
    "A81006",
    "A81009",
    "A81012",
    "A81016",
    "A81017",
    "A81019",
    "A81020",
    "A81021",
    "A81023",
    "A81025",
    "A81026",
    "A81029",
    "A81043",  # closed
)

# Sub-ICB / commissioner names are not in the ODS files; add real names here only from data.
COMMISSIONER_NAMES: dict[str, str] = {}


@dataclass(frozen=True)
class Row:
    code: str
    name: str
    kind: str
    parent_code: str = ""
    address: str = ""
    postcode: str = ""
    latitude: str = ""
    longitude: str = ""
    is_open: bool = True

    def as_csv(self) -> list[str]:
        return [
            self.code,
            self.name,
            self.kind,
            self.parent_code,
            self.address,
            self.postcode,
            self.latitude,
            self.longitude,
            "true" if self.is_open else "false",
        ]


def _read_ods(path: Path) -> dict[str, list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return {row[0]: row for row in csv.reader(fh) if row}


def _read_postcodes(path: Path) -> dict[str, tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return {uk_tidy(r["postcode"]): (r["latitude"], r["longitude"]) for r in csv.DictReader(fh)}


def _fmt_coord(value: str) -> str:
    return f"{float(value):.5f}" if value.strip() else ""


def _ods_row(
    record: list[str],
    kind: str,
    located: Callable[[str], tuple[str, str, str]],
    parent_code: str = "",
    *,
    active: bool = True,
) -> Row:
    """A trust or GP practice from its ODS 27-field record: code (column 1), name (2),
    address (5-9), postcode (10, ``located``); a close date (12) or ``active=False`` closes it."""
    pc, lat, lon = located(record[9])
    return Row(
        code=record[0],
        name=title_case(record[1]),
        kind=kind,
        parent_code=parent_code,
        address=join_address(record[4:9]),
        postcode=pc,
        latitude=lat,
        longitude=lon,
        is_open=active and not record[11].strip(),
    )


def build_rows(data_dir: Path) -> list[Row]:
    trusts = _read_ods(data_dir / "ods" / "etr.csv")
    practices = _read_ods(data_dir / "ods" / "epraccur.csv")
    postcodes = _read_postcodes(data_dir / "postcodes" / "postcode_lookup.csv")
    with (data_dir / "nhs_hospitals" / "nhs_choices_hospitals.csv").open(
        newline="", encoding="utf-8"
    ) as fh:
        hospitals = list(csv.DictReader(fh))

    def located(postcode: str, lat: str = "", lon: str = "") -> tuple[str, str, str]:
        pc = uk_tidy(postcode)
        found = postcodes.get(pc)
        if found:
            return pc, _fmt_coord(found[0]), _fmt_coord(found[1])
        return pc, _fmt_coord(lat), _fmt_coord(lon)

    rows: list[Row] = []
    site_rows: dict[str, Row] = {}
    for trust_code in TRUSTS:
        t = trusts.get(trust_code)
        if t is None:
            raise SystemExit(f"trust {trust_code} not found in etr.csv")
        rows.append(_ods_row(t, "trust", located))
        # Real NHS-sector sites whose parent is this trust and whose code carries its prefix:
        # the file has a few mislabelled independent-sector rows (e.g. a Hull hospital under Leeds).
        sites = [
            h
            for h in hospitals
            if h["ParentODSCode"] == trust_code
            and h["Sector"] == "NHS Sector"
            and h["OrganisationCode"].startswith(trust_code)
        ]
        if not sites:
            raise SystemExit(f"no hospital sites for trust {trust_code}")
        for h in sorted(sites, key=lambda h: h["OrganisationCode"]):
            pc, lat, lon = located(h["Postcode"], h["Latitude"], h["Longitude"])
            row = Row(
                code=h["OrganisationCode"],
                name=title_case(h["OrganisationName"]),
                kind="hospital",
                parent_code=trust_code,
                address=join_address(
                    [h["Address1"], h["Address2"], h["Address3"], h["City"], h["County"]]
                ),
                postcode=pc,
                latitude=lat,
                longitude=lon,
            )
            rows.append(row)
            site_rows[row.code] = row
        for dept_code, dept_name, site_code in DEPARTMENTS:
            if not dept_code.startswith(f"{trust_code}-"):
                continue
            site = site_rows.get(site_code)
            if site is None:
                raise SystemExit(f"department {dept_code}: site {site_code} not in the slice")
            rows.append(
                Row(
                    code=dept_code,
                    name=dept_name,
                    kind="department",
                    parent_code=site_code,
                    address=site.address,
                    postcode=site.postcode,
                    latitude=site.latitude,
                    longitude=site.longitude,
                )
            )

    gp_rows: list[Row] = []
    regions: list[str] = []
    for code in GP_PRACTICES:
        p = practices.get(code)
        if p is None:
            raise SystemExit(f"GP practice {code} not found in epraccur.csv")
        commissioner = p[14].strip()  # column 15: commissioner (sub-ICB) code
        if commissioner not in regions:
            regions.append(commissioner)
        active = p[12] == "A"  # column 13: status
        gp_rows.append(_ods_row(p, "gp_practice", located, commissioner, active=active))
    for commissioner in regions:
        name = COMMISSIONER_NAMES.get(commissioner, f"Commissioning area {commissioner}")
        rows.append(Row(code=commissioner, name=name, kind="region"))
    rows.extend(gp_rows)
    _check_order(rows)
    return rows


def _check_order(rows: list[Row]) -> None:
    seen: set[str] = set()
    for row in rows:
        if row.code in seen:
            raise SystemExit(f"duplicate code {row.code}")
        if row.parent_code and row.parent_code not in seen:
            raise SystemExit(f"{row.code}: parent {row.parent_code} must come first")
        seen.add(row.code)


def write_rows(rows: Iterable[Row], out: Path) -> None:
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(row.as_csv() for row in rows)


POSTCODE_HEADER = ("code", "kind", "latitude", "longitude")


def build_postcodes(data_dir: Path, rows: Iterable[Row]) -> list[tuple[str, str, str, str]]:
    """(code, kind, latitude, longitude) rows in the stored forms of ``Postcode.code``:
    every service postcode found in the lookup, and every sector and district centre of the
    districts those postcodes are in."""
    folder = data_dir / "postcodes"
    lookup = _read_postcodes(folder / "postcode_lookup.csv")
    out: list[tuple[str, str, str, str]] = []
    districts: set[str] = set()
    fulls: set[str] = set()
    for row in rows:
        postcode = uk_postcode(row.postcode, kinds=(Kind.FULL,))
        if postcode is None:
            continue
        districts.add(postcode.outward)
        found = lookup.get(postcode.display)
        if found and postcode.key not in fulls:
            fulls.add(postcode.key)
            out.append((postcode.key, "full", _fmt_coord(found[0]), _fmt_coord(found[1])))
    with (folder / "postcode_sector_centroids.csv").open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            sector = uk_postcode(r["sector"], kinds=(Kind.SECTOR,))
            if sector and sector.outward in districts:
                out.append(
                    (sector.key, "sector", _fmt_coord(r["latitude"]), _fmt_coord(r["longitude"]))
                )
    with (folder / "postcode_district_centroids.csv").open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            district = uk_postcode(r["district"], kinds=(Kind.DISTRICT,))
            if district and district.outward in districts:
                out.append(
                    (
                        district.key,
                        "district",
                        _fmt_coord(r["latitude"]),
                        _fmt_coord(r["longitude"]),
                    )
                )
    order = {"district": 0, "sector": 1, "full": 2}
    return sorted(out, key=lambda p: (order[p[1]], p[0]))


def write_postcodes(postcodes: Iterable[tuple[str, str, str, str]], out: Path) -> None:
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(POSTCODE_HEADER)
        writer.writerows(postcodes)


def _summary(rows: Iterable[Row]) -> Iterator[str]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.kind] = counts.get(row.kind, 0) + 1
    for kind, count in counts.items():
        yield f"{kind}: {count}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("data_dir", type=Path, help="the shared data directory (with ods/ etc.)")
    parser.add_argument("--out", type=Path, default=HERE / "services.csv")
    parser.add_argument("--postcodes-out", type=Path, default=HERE / "postcodes.csv")
    args = parser.parse_args(argv)
    rows = build_rows(args.data_dir)
    write_rows(rows, args.out)
    print(f"wrote {len(rows)} services to {args.out}")
    for line in _summary(rows):
        print(f"  {line}")
    postcodes = build_postcodes(args.data_dir, rows)
    write_postcodes(postcodes, args.postcodes_out)
    kinds: dict[str, int] = {}
    for _, kind, _, _ in postcodes:
        kinds[kind] = kinds.get(kind, 0) + 1
    print(f"wrote {len(postcodes)} postcodes to {args.postcodes_out}")
    for kind, count in kinds.items():
        print(f"  {kind}: {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
