"""Fitting the rows from all files into one tree, before anything is written.

* one row per code (a code in two files is an error; a made-up region or stand-in gives way to
  the organisation's own row);
* every parent resolved: in the files, already in the database, or - for hospital sites - the
  successor of a closed or vanished trust, or a stand-in made from the site's own row;
* no cycles, no tree deeper than ``MAX_DEPTH``;
* services without coordinates located from their postcode (full postcode, else the sector or
  district centre).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from carestory.lib.postcodes import Kind, uk_postcode
from carestory.services.importers.common import Mode, Rejection, ServiceRow
from carestory.services.models import Service

MAX_DEPTH = 20
_LOCATED_BY = {
    Kind.FULL: "by postcode",
    Kind.SECTOR: "by sector centre",
    Kind.DISTRICT: "by district centre",
}

NOTE_SUCCESSOR = "Hospital sites placed under the successor of their closed or missing trust"
NOTE_CLOSED_PARENT = (
    "Hospital sites left under their closed trust or board (no successor known; "
    "an ODS succ.csv in the data directory would name it)"
)
NOTE_AMBIGUOUS = "Hospital sites whose closed trust has several successors (left under it)"
NOTE_STAND_IN = (
    "Hospital sites whose trust, provider or board is in no file: placed under a stand-in "
    "made from the site's row"
)
NOTE_NO_PARENT = "Hospital sites with no parent code (placed at the top level)"
NOTE_KEPT = (
    "Hospital sites whose trust has closed or is missing, kept under the open parent they "
    "already have"
)
NOTE_MERGED = "Codes merged into another service by staff (left as they are; children follow)"


@dataclass(frozen=True)
class Known:
    """What the resolver needs to know about a service already in the database."""

    code: str
    name: str
    is_open: bool
    closed_on: object
    parent_code: str


@dataclass
class Placed:
    rows: list[ServiceRow] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)
    located: dict[str, int] = field(default_factory=dict)


def known_from_services(services: Mapping[str, Service]) -> dict[str, Known]:
    by_id = {s.pk: s for s in services.values()}
    known: dict[str, Known] = {}
    for service in services.values():
        parent = by_id.get(service.parent_id) if service.parent_id else None
        known[service.code] = Known(
            code=service.code,
            name=service.name,
            is_open=service.is_open,
            closed_on=service.closed_on,
            parent_code=parent.code if parent else "",
        )
    return known


def _unique(rows: list[ServiceRow], rejections: list[Rejection]) -> dict[str, ServiceRow]:
    chosen: dict[str, ServiceRow] = {}
    for row in rows:
        other = chosen.get(row.code)
        if other is None:
            chosen[row.code] = row
        elif other.mode is Mode.FULL and row.mode is Mode.FULL:
            rejections.append(
                Rejection(row.file, row.line, f"code {row.code} is also in {other.where}")
            )
        elif row.mode is Mode.FULL:
            chosen[row.code] = row  # the organisation's own row beats a made-up node
    return chosen


def _successor(
    code: str,
    successors: Mapping[str, list[str]],
    is_open: Mapping[str, bool],
) -> tuple[str | None, list[str]]:
    """Follow successor links from ``code`` to open services we know of.

    Returns (the successor, []) when exactly one is found, (None, candidates) when several.
    """
    found: list[str] = []
    seen = {code}
    frontier = [code]
    while frontier:
        step: list[str] = []
        for current in frontier:
            for nxt in successors.get(current, []):
                if nxt in seen:
                    continue
                seen.add(nxt)
                if is_open.get(nxt):
                    if nxt not in found:
                        found.append(nxt)
                else:
                    step.append(nxt)  # closed or unknown: its own successor may be open
        frontier = step
    if len(found) == 1:
        return found[0], []
    return None, found


def place_rows(
    rows: list[ServiceRow],
    *,
    existing: Mapping[str, Known],
    successors: Mapping[str, list[str]],
    locations: Mapping[str, tuple[float, float]],
    redirects: Mapping[str, str] | None = None,
) -> Placed:
    """Resolve every row's parent (see the module docstring).

    ``redirects`` are staff merges (ServiceRedirect: old code -> surviving code): a row for a
    merged code changes nothing, and a row whose parent was merged goes under the survivor.
    """
    placed = Placed()
    redirects = redirects or {}
    merged: list[str] = []
    kept_rows: list[ServiceRow] = []
    for row in rows:
        if row.code in redirects:
            merged.append(f"{row.code} -> {redirects[row.code]} ({row.where})")
            if row.code in existing:
                row.mode = Mode.STAND_IN  # exists: compared with nothing, changed in nothing
            else:
                continue  # gone: not made again
        if row.parent_code in redirects:
            row.parent_code = redirects[row.parent_code]
        kept_rows.append(row)
    chosen = _unique(kept_rows, placed.rejections)

    is_open: dict[str, bool] = {code: k.is_open for code, k in existing.items()}
    names: dict[str, str] = {code: k.name for code, k in existing.items()}
    closed_on: dict[str, object] = {code: k.closed_on for code, k in existing.items()}
    for row in chosen.values():
        if row.mode is Mode.STAND_IN and row.code in existing:
            continue
        is_open[row.code] = row.is_open
        names[row.code] = row.name
        closed_on[row.code] = row.closed_on

    groups: dict[str, dict[str, list[ServiceRow]]] = {}

    def group(note: str, key: str, row: ServiceRow) -> None:
        groups.setdefault(note, {}).setdefault(key, []).append(row)

    stand_ins: dict[str, ServiceRow] = {}
    for row in list(chosen.values()):
        parent = row.parent_code
        if not parent:
            if row.relocatable:
                group(NOTE_NO_PARENT, "", row)
            continue
        if row.relocatable and not is_open.get(parent, False):
            successor, several = _successor(parent, successors, is_open)
            current = existing.get(row.code)
            if (
                not successor
                and current is not None
                and current.parent_code not in ("", parent)
                and is_open.get(current.parent_code, False)
            ):
                # Staff (or an earlier successor file) already put it under an open parent.
                group(NOTE_KEPT, f"{parent} (file) -> {current.parent_code} (kept)", row)
                row.parent_code = current.parent_code
                continue
            if successor:
                group(NOTE_SUCCESSOR, f"{parent} -> {successor} {names[successor]}", row)
                row.parent_code = successor
                continue
            if several:
                group(NOTE_AMBIGUOUS, f"{parent} -> {', '.join(several)}", row)
            if parent in is_open:
                if not several:
                    group(
                        NOTE_CLOSED_PARENT,
                        f"{parent} {names[parent]} "
                        f"(closed {closed_on.get(parent) or 'date not given'})",
                        row,
                    )
                continue
            if row.stand_in_name:
                stand_in = stand_ins.get(parent)
                if stand_in is None:
                    stand_ins[parent] = stand_in = ServiceRow(
                        code=parent,
                        name=row.stand_in_name,
                        kind=row.stand_in_kind or Service.Kind.OTHER,
                        file=row.file,
                        line=row.line,
                        provider_review=True
                        if row.stand_in_kind == Service.Kind.PROVIDER
                        else None,
                        mode=Mode.STAND_IN,
                    )
                group(NOTE_STAND_IN, f"{parent} {stand_in.name} ({stand_in.kind})", row)
                continue
        if parent not in is_open and parent not in stand_ins:
            placed.rejections.append(
                Rejection(
                    row.file,
                    row.line,
                    f"parent {parent} of {row.code} is in no file and not in the database",
                )
            )

    for code, stand_in in stand_ins.items():
        chosen.setdefault(code, stand_in)

    _check_tree(chosen, existing, placed.rejections)
    ordered = _parents_first(chosen)
    for row in ordered:
        _locate(row, locations, placed.located)
    placed.rows = ordered

    for note, by_key in groups.items():
        for key, members in sorted(by_key.items()):
            placed.notes.setdefault(note, []).append(_listing(key, members))
    if merged:
        placed.notes[NOTE_MERGED] = merged
    return placed


def _listing(key: str, members: list[ServiceRow]) -> str:
    """'RW6 Pennine Acute ...: 5 in nhs_choices_hospitals.csv: RW601 (line 558), ...'"""
    files = {m.file for m in members}
    if len(files) == 1:
        where = f"{len(members)} in {members[0].file}: "
        listing = ", ".join(f"{m.code} (line {m.line})" for m in members)
    else:
        where = f"{len(members)}: "
        listing = ", ".join(f"{m.code} ({m.where})" for m in members)
    return f"{key}: {where}{listing}" if key else f"{where}{listing}"


def _check_tree(
    chosen: Mapping[str, ServiceRow],
    existing: Mapping[str, Known],
    rejections: list[Rejection],
) -> None:
    """Refuse rows that would make a service its own ancestor or the tree too deep."""
    parent_of: dict[str, str] = {code: k.parent_code for code, k in existing.items()}
    for code, row in chosen.items():
        if row.mode is Mode.STAND_IN and code in existing:
            continue
        parent_of[code] = row.parent_code
    depth_of: dict[str, int] = {}
    for code, row in chosen.items():
        chain = [code]
        current = parent_of.get(code, "")
        while current and current not in depth_of:
            if current in chain:
                loop = [*chain[chain.index(current) :], current]
                rejections.append(
                    Rejection(
                        row.file,
                        row.line,
                        f"{code} would be inside itself: {' -> '.join(loop)}",
                    )
                )
                break
            chain.append(current)
            current = parent_of.get(current, "")
        else:
            base = depth_of[current] + 1 if current else 0
            for offset, member in enumerate(reversed(chain)):
                depth_of[member] = base + offset
            if depth_of[code] > MAX_DEPTH:
                rejections.append(
                    Rejection(
                        row.file,
                        row.line,
                        f"{code} would be {depth_of[code]} levels deep; the limit is {MAX_DEPTH}",
                    )
                )


def _parents_first(chosen: Mapping[str, ServiceRow]) -> list[ServiceRow]:
    ordered: list[ServiceRow] = []
    done: set[str] = set()

    def visit(row: ServiceRow, depth: int = 0) -> None:
        if row.code in done or depth > MAX_DEPTH + 1:
            return
        parent = chosen.get(row.parent_code) if row.parent_code else None
        if parent is not None:
            visit(parent, depth + 1)
        done.add(row.code)
        ordered.append(row)

    for row in chosen.values():
        visit(row)
    return ordered


def _locate(
    row: ServiceRow, locations: Mapping[str, tuple[float, float]], counts: dict[str, int]
) -> None:
    if row.mode is not Mode.FULL:
        return
    if row.latitude is not None:
        counts["from the file"] = counts.get("from the file", 0) + 1
        return
    postcode = uk_postcode(row.postcode, kinds=(Kind.FULL,)) if row.region == "uk" else None
    for lookup in postcode.lookups() if postcode else ():
        found = locations.get(lookup.key)
        if found:
            row.latitude, row.longitude = found
            how = _LOCATED_BY[lookup.kind]
            counts[how] = counts.get(how, 0) + 1
            return
    how = "not located (postcode unknown)" if row.postcode else "not located (no postcode)"
    counts[how] = counts.get(how, 0) + 1
