"""Reading an administrator's file of members (CSV or XLSX) into checked rows.

``read_table`` turns the file into rows of text with the standard library's ``csv`` or
``openpyxl`` (never a hand-written parser), refusing a file too large to be a list of staff
(``MAX_UPLOAD_BYTES``, ``MAX_UPLOAD_ROWS``, and for XLSX ``MAX_XLSX_UNZIPPED_BYTES``: a small
zip can unpack to gigabytes). A cell is kept as the text it holds: a formula (``=SUM(A1)``) is
its text, never a computed value, and it is never evaluated here or anywhere else.

``check_rows`` finds the columns by their headings (first name, last name, email; job title,
department and role optional, in any order, case and spacing ignored), checks every row with
the same rules as one invitation (``services._check_invitation``'s pieces), and decides what
each row will do: invite, or nothing because the person is already a member or already has an
open invitation, or nothing because an earlier row has the same address (the two are merged:
the earlier row's blank fields take the later row's values).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from carestory.lib.emails import email_problem, normalise_email
from carestory.lib.text import normalise_text
from carestory.subscriptions.models import Invitation, Membership, Subscription

MAX_UPLOAD_BYTES = 1024 * 1024
MAX_UPLOAD_ROWS = 2000
MAX_XLSX_UNZIPPED_BYTES = 30 * 1024 * 1024
MAX_COLUMNS = 30
MAX_CELL = 300

COLUMNS = ("first_name", "last_name", "email", "job_title", "department", "role")
REQUIRED = ("first_name", "last_name", "email")
COLUMN_TITLES = {
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "job_title": "Job title",
    "department": "Department",
    "role": "Role",
}
_HEADINGS = {
    "firstname": "first_name",
    "forename": "first_name",
    "givenname": "first_name",
    "lastname": "last_name",
    "surname": "last_name",
    "familyname": "last_name",
    "email": "email",
    "emailaddress": "email",
    "jobtitle": "job_title",
    "department": "department",
    "role": "role",
}
# Care Opinion's word for a member is "subscriber": files made for it keep working.
_ROLE_WORDS = {"": "member", "subscriber": "member"} | {r: r for r in Membership.Role.values}
_NOT_LETTERS = re.compile(r"[^a-z]")


class Outcome:
    INVITE = "invite"
    MEMBER = "member"
    INVITED = "invited"
    DUPLICATE = "duplicate"
    PROBLEM = "problem"


@dataclass
class CheckedRow:
    number: int  # the row's number in the file (the heading is row 1)
    values: dict[str, str]
    outcome: str = Outcome.INVITE
    problems: list[str] = field(default_factory=list)
    merged_into: int | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _too_large() -> ValidationError:
    return ValidationError(
        {
            "file": _(
                "The file is too large. Upload at most %(rows)s people (%(size)s MB) at a "
                "time: split the list into smaller files."
            )
            % {
                "rows": number_format(MAX_UPLOAD_ROWS, force_grouping=True),
                "size": MAX_UPLOAD_BYTES // (1024 * 1024),
            }
        }
    )


def _unreadable(kind: str) -> ValidationError:
    return ValidationError(
        {
            "file": _("The file could not be read as %(kind)s. Save it again as CSV or XLSX.")
            % {"kind": kind}
        }
    )


def _text(value: object) -> str:
    """A cell as the invitation will keep it (lib/text.normalise_text: control characters
    dropped, NFC), so the preview promises only what confirming does."""
    if value is None:
        return ""
    return normalise_text(str(value)[: MAX_CELL * 2])[:MAX_CELL]


# Rows read at most, blank ones included: a workbook can number its one row 5,000,000 and
# openpyxl would hand over every empty row before it, so the cost follows the rows read.
MAX_ROWS_READ = 2 * MAX_UPLOAD_ROWS


def _rows_limited(rows: Iterable[Iterable[object]]) -> list[list[str]]:
    table: list[list[str]] = []
    for read, row in enumerate(rows, start=1):
        if read > MAX_ROWS_READ:
            raise ValidationError(
                {
                    "file": _(
                        "The file has more than %(rows)s rows, counting empty ones. Remove the "
                        "empty rows, or copy the list into a new file, and upload it again."
                    )
                    % {"rows": number_format(MAX_ROWS_READ, force_grouping=True)}
                }
            )
        cells = [_text(cell) for cell in list(row)[:MAX_COLUMNS]]
        if not any(cells):
            continue
        table.append(cells)
        if len(table) > MAX_UPLOAD_ROWS + 1:  # the heading and the rows
            raise _too_large()
    return table


def _read_csv(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # Excel's "CSV" on Windows
    try:
        return _rows_limited(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise _unreadable("CSV") from exc


def _read_xlsx(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_XLSX_UNZIPPED_BYTES:
                raise _too_large()
        # data_only=False: a formula cell gives its formula's text, not a cached result.
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except ValidationError:
        raise
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise _unreadable("XLSX") from exc
    try:
        sheet = workbook.worksheets[0]
        return _rows_limited(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True))
    finally:
        workbook.close()


def read_table(*, file_name: str, data: bytes) -> list[list[str]]:
    """The file's rows of text, first row the headings; ValidationError ``{"file": ...}``."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise _too_large()
    if not data:
        raise ValidationError({"file": _("The file is empty")})
    if data.startswith(b"PK\x03\x04") or file_name.lower().endswith((".xlsx", ".xlsm")):
        return _read_xlsx(data)
    if file_name.lower().endswith((".csv", ".txt")):
        return _read_csv(data)
    raise ValidationError({"file": _("Upload a CSV or XLSX file")})


def _columns(headings: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, heading in enumerate(headings):
        name = _HEADINGS.get(_NOT_LETTERS.sub("", heading.lower()))
        if name and name not in found:
            found[name] = index
    missing = [COLUMN_TITLES[name] for name in REQUIRED if name not in found]
    if missing:
        raise ValidationError(
            {
                "file": _(
                    "The file has no %(missing)s column. Its first row must name the columns: "
                    "%(all)s."
                )
                % {
                    "missing": ", ".join(f"“{title}”" for title in missing),
                    "all": ", ".join(COLUMN_TITLES.values()),
                }
            }
        )
    return found


def _row_problems(values: dict[str, str]) -> list[str]:
    from carestory.subscriptions.services import NAME_LIMIT, TITLE_LIMIT

    problems = []
    if not values["first_name"]:
        problems.append(_("Enter a first name"))
    if not values["last_name"]:
        problems.append(_("Enter a last name"))
    if any(len(values[n]) > NAME_LIMIT for n in ("first_name", "last_name")):
        problems.append(_("A name has more than %(limit)s characters") % {"limit": NAME_LIMIT})
    if any(len(values[n]) > TITLE_LIMIT for n in ("job_title", "department")):
        problems.append(
            _("The job title or department has more than %(limit)s characters")
            % {"limit": TITLE_LIMIT}
        )
    email = email_problem(values["email"])
    if email:
        problems.append(email)
    if values["role"] not in Membership.Role.values:
        problems.append(
            _("Unknown role “%(role)s”: use Member, Responder or Administrator")
            % {"role": values["role_given"]}
        )
    return problems


def _values(cells: list[str], columns: dict[str, int]) -> dict[str, str]:
    values = {name: (cells[i] if i < len(cells) else "") for name, i in columns.items()}
    values = {name: values.get(name, "") for name in COLUMNS}
    values["role_given"] = values["role"]
    values["role"] = _ROLE_WORDS.get(values["role"].lower(), values["role"].lower() or "member")
    values["email"] = normalise_email(values["email"]) if values["email"] else ""
    return values


def check_rows(*, table: list[list[str]], subscription: Subscription) -> list[CheckedRow]:
    """Every row checked, and what it will do (see the module's docstring)."""
    if len(table) < 2:
        raise ValidationError({"file": _("The file has headings but no people")})
    columns = _columns(table[0])
    rows = [
        CheckedRow(number=n, values=_values(cells, columns))
        for n, cells in enumerate(table[1:], start=2)
    ]
    addresses = {r.values["email"] for r in rows if r.values["email"]}
    members = set(
        Membership.objects.filter(subscription=subscription, user__email__in=addresses).values_list(
            "user__email", flat=True
        )
    )
    invited = set(
        Invitation.objects.filter(
            subscription=subscription,
            email__in=addresses,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        ).values_list("email", flat=True)
    )

    def decide(row: CheckedRow) -> None:
        row.problems = _row_problems(row.values)
        if row.problems:
            row.outcome = Outcome.PROBLEM
        elif row.values["email"] in members:
            row.outcome = Outcome.MEMBER
        elif row.values["email"] in invited:
            row.outcome = Outcome.INVITED
        else:
            row.outcome = Outcome.INVITE

    first: dict[str, CheckedRow] = {}
    for row in rows:
        email = row.values["email"]
        earlier = first.get(email) if email else None
        if earlier is None:
            if email:
                first[email] = row
            continue
        row.outcome, row.merged_into = Outcome.DUPLICATE, earlier.number
        for name in ("first_name", "last_name", "job_title", "department"):
            earlier.values[name] = earlier.values[name] or row.values[name]
    for row in rows:  # after merging: a later row may have filled an earlier one's blank
        if row.outcome != Outcome.DUPLICATE:
            decide(row)
    return rows


def summary(rows: Iterable[dict[str, Any]]) -> dict[str, int]:
    """How many rows will do each thing (the preview's and the confirmation's counts)."""
    counts = {
        name: 0
        for name in (
            Outcome.INVITE,
            Outcome.MEMBER,
            Outcome.INVITED,
            Outcome.DUPLICATE,
            Outcome.PROBLEM,
        )
    }
    for row in rows:
        counts[row["outcome"]] += 1
    return counts
