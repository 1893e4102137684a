"""What the file readers produce, and the small parsing helpers they share.

Readers are plain Python: they read a file completely and return rows to import, rows refused
(with the line and the reason) and notes for the summary. Nothing here touches the database.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from carestory.lib.postcodes import MAX_STORED, uk_tidy
from carestory.services.codes import CODE_MAX

NAME_MAX = 200
ADDRESS_MAX = 300
SOURCE_MAX = 30


class RowError(ValueError):
    """A row cannot be imported; the message says why, in words a data manager understands."""


class Mode(enum.Enum):
    """How much of an existing service a row may change.

    FULL: the row is the organisation's own record (name, address, place in the tree...).
    REGION: a grouping node the import makes from codes (a commissioner); only whether it is
        open follows the data, so a name staff gave it is kept.
    STAND_IN: a parent made up from a child's row because its own file is not there; created
        if missing, never changed.
    """

    FULL = "full"
    REGION = "region"
    STAND_IN = "stand_in"


@dataclass
class ServiceRow:
    """One service as a file describes it. ``file``/``line`` say where it came from."""

    code: str
    name: str
    kind: str
    file: str
    line: int
    parent_code: str = ""
    address: str = ""
    postcode: str = ""
    latitude: float | None = None
    longitude: float | None = None
    is_open: bool = True
    closed_on: dt.date | None = None
    provider_review: bool | None = None
    region: str = "uk"
    mode: Mode = Mode.FULL
    # A site whose parent has closed or is missing may move to the parent's successor.
    relocatable: bool = False
    # If the parent is in no file and not in the database, make it from these (a stand-in).
    stand_in_name: str = ""
    stand_in_kind: str = ""

    @property
    def source(self) -> str:
        """The file name, as ``Service.source`` keeps it."""
        return self.file.rsplit("/", 1)[-1][:SOURCE_MAX]

    @property
    def where(self) -> str:
        return f"{self.file} line {self.line}"


@dataclass(frozen=True)
class PostcodeRow:
    code: str  # as stored: compact for full postcodes and districts, "TS18 1" for sectors
    kind: str  # Postcode.Kind value
    latitude: float
    longitude: float


@dataclass(frozen=True, order=True)
class Rejection:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        where = f"{self.file} line {self.line}" if self.line else self.file
        return f"{where}: {self.reason}"


@dataclass
class FileReport:
    """What one file held: rows read, rows used, rows left out on purpose (with why)."""

    name: str
    rows: int = 0
    used: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


@dataclass
class Parsed:
    """Everything read from the files, before anything is written."""

    services: list[ServiceRow] = field(default_factory=list)
    postcodes: list[PostcodeRow] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    files: list[FileReport] = field(default_factory=list)
    # Headed lists for the summary: heading -> lines.
    notes: dict[str, list[str]] = field(default_factory=dict)

    def note(self, heading: str, line: str) -> None:
        self.notes.setdefault(heading, []).append(line)

    def add_file(self, label: str) -> FileReport:
        """The report of one more file read (its rows counted and used as a reader goes)."""
        report = FileReport(label)
        self.files.append(report)
        return report

    def extend(self, other: Parsed) -> None:
        self.services += other.services
        self.postcodes += other.postcodes
        self.rejections += other.rejections
        self.files += other.files
        for heading, lines in other.notes.items():
            self.notes.setdefault(heading, []).extend(lines)


Tick = Callable[[int], None]


def _no_tick(n: int) -> None:
    return None


def read_csv(
    path: Path, *, label: str, rejections: list[Rejection], tick: Tick = _no_tick
) -> Iterator[tuple[int, list[str]]]:
    """Yield (line number where the record starts, fields) for every non-blank record.

    Text that is not UTF-8, or that the csv module cannot parse, becomes a rejection at
    the line where it happened, and reading stops.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, strict=True)
            start = 1
            try:
                for row in reader:
                    line, start = start, reader.line_num + 1
                    tick(1)
                    if not row or all(not cell.strip() for cell in row):
                        continue
                    yield line, row
            except csv.Error as exc:
                rejections.append(Rejection(label, start, f"not valid CSV: {exc}"))
    except UnicodeDecodeError:
        rejections.append(
            Rejection(
                label,
                _first_undecodable_line(path),
                "not UTF-8 text (save the file as UTF-8; the NHS website list comes as "
                "ISO-8859-1 and must be converted)",
            )
        )
    except OSError as exc:
        rejections.append(Rejection(label, 0, f"cannot read the file: {exc.strerror}"))


def header_index(row: list[str], columns: Sequence[str]) -> dict[str, int]:
    """Where each of ``columns`` is in a header row (other columns are ignored); a RowError
    names the columns it lacks."""
    header = [h.strip() for h in row]
    missing = [c for c in columns if c not in header]
    if missing:
        raise RowError(f"header lacks column(s): {', '.join(missing)}")
    return {name: header.index(name) for name in columns}


def read_table(
    path: Path,
    columns: Sequence[str],
    *,
    parsed: Parsed,
    report: FileReport,
    tick: Tick = _no_tick,
    header: Callable[[list[str], Sequence[str]], dict[str, int]] = header_index,
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line, {column: cell without surrounding spaces}) for every record of a CSV file
    below its header row.

    ``header`` finds the columns in the header row (by default ``header_index``); if it raises
    RowError, that is the file's one rejection and nothing more is read. Every record after the
    header counts in ``report.rows``; one with more or fewer cells than the header is refused
    ("expected 10 columns, found 8"), and so is a file with no header row ("the file is
    empty"). Rejections go to ``parsed`` under the report's name.
    """
    label = report.name
    index: dict[str, int] | None = None
    width = 0
    for line, row in read_csv(path, label=label, rejections=parsed.rejections, tick=tick):
        if index is None:
            try:
                index = header(row, columns)
            except RowError as exc:
                parsed.rejections.append(Rejection(label, line, str(exc)))
                return
            width = len(row)
            continue
        report.rows += 1
        if len(row) != width:
            parsed.rejections.append(
                Rejection(label, line, f"expected {width} columns, found {len(row)}")
            )
            continue
        yield line, {name: row[i].strip() for name, i in index.items()}
    if index is None and not parsed.rejections:
        parsed.rejections.append(Rejection(label, 0, "the file is empty"))


K = TypeVar("K")


class Seen(Generic[K]):
    """The keys a reader has taken from one file, each with its line: a key read again is a
    RowError ("code RXX01 is also on line 4"; ``says`` names the key, ``{}`` standing for
    it)."""

    def __init__(self, says: str = "code {}") -> None:
        self.says = says
        self.lines: dict[K, int] = {}

    def add(self, key: K, line: int) -> None:
        if key in self.lines:
            raise RowError(f"{self.says.format(key)} is also on line {self.lines[key]}")
        self.lines[key] = line


Cells = TypeVar("Cells")
Made = TypeVar("Made")


def built_rows(
    rows: Iterable[tuple[int, Cells]],
    build: Callable[[int, Cells], Made | None],
    *,
    parsed: Parsed,
    report: FileReport,
) -> Iterator[Made]:
    """What ``build(line, cells)`` makes of each row, each one counted in ``report.used``.

    A RowError from ``build`` refuses the row: a rejection at its line, under the report's name,
    and reading goes on. None leaves the row out without one (``build`` says why with
    ``report.skip``).
    """
    for line, cells in rows:
        try:
            made = build(line, cells)
        except RowError as exc:
            parsed.rejections.append(Rejection(report.name, line, str(exc)))
            continue
        if made is not None:
            report.used += 1
            yield made


def _first_undecodable_line(path: Path) -> int:
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 0


def count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for _ in fh)


def required(value: str, what: str) -> str:
    value = value.strip()
    if not value:
        raise RowError(f"{what} is empty")
    return value


def fits(value: str, what: str, limit: int) -> str:
    if len(value) > limit:
        raise RowError(f"{what} is {len(value)} characters long; the limit is {limit}")
    return value


def required_code(value: str, what: str) -> str:
    """A service code in capitals: not empty, at most CODE_MAX characters."""
    return fits(required(value, what).upper(), what, CODE_MAX)


def required_name(value: str, what: str) -> str:
    """A name with its white space folded to single spaces: not empty, at most NAME_MAX
    characters."""
    return fits(" ".join(required(value, what).split()), what, NAME_MAX)


def ods_date(value: str, what: str) -> dt.date | None:
    """ODS dates are YYYYMMDD; empty means none."""
    value = value.strip()
    if not value:
        return None
    if len(value) != 8 or not value.isdigit():
        raise RowError(f"{what} {value!r} is not a date in the form YYYYMMDD")
    try:
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise RowError(f"{what} {value!r} is not a real date") from None


def iso_date(value: str, what: str) -> dt.date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise RowError(f"{what} {value!r} is not a date in the form YYYY-MM-DD") from None


def number(value: str, what: str, *, low: float, high: float) -> float | None:
    value = value.strip()
    if not value:
        return None
    try:
        parsed = float(value)
    except ValueError:
        raise RowError(f"{what} {value!r} is not a number") from None
    if not math.isfinite(parsed) or not low <= parsed <= high:
        raise RowError(f"{what} {value!r} is outside {low:g} to {high:g}")
    return parsed


def coordinates(
    lat_text: str, lon_text: str, *, what: str = "latitude/longitude"
) -> tuple[float | None, float | None]:
    """Both or neither, in WGS84 decimal degrees."""
    lat = number(lat_text, "latitude", low=-90, high=90)
    lon = number(lon_text, "longitude", low=-180, high=180)
    if (lat is None) != (lon is None):
        raise RowError(f"{what}: give both or neither")
    return lat, lon


def uk_postcode(value: str) -> str:
    """A UK postcode in the stored form 'TS18 1HU'; other text is kept tidied, not refused
    (it is still part of the address). See carestory.lib.postcodes.uk_tidy."""
    return fits(uk_tidy(value), "postcode", MAX_STORED)


def integer(value: str, what: str) -> int:
    value = value.strip()
    if not value:
        raise RowError(f"{what} is empty")
    try:
        return int(value)
    except ValueError:
        raise RowError(f"{what} {value!r} is not a whole number") from None
