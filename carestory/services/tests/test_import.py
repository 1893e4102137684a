"""The service directory import (manage.py import_ods): files, tree, re-runs, refusals."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import io
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from carestory.audit.models import AuditEvent
from carestory.lib.osgrid import grid_to_osgb36, grid_to_wgs84
from carestory.lib.postcodes import Kind, uk_postcode
from carestory.services.demo import (
    DEMO_POSTCODES_CSV,
    DEMO_SERVICES_CSV,
    demo_postcodes_load,
    demo_tree_load,
)
from carestory.services.importers.common import Rejection, RowError
from carestory.services.importers.ods import NOTE_DORMANT, NOTE_DUPLICATE_SITES
from carestory.services.importers.place import (
    NOTE_CLOSED_PARENT,
    NOTE_KEPT,
    NOTE_MERGED,
    NOTE_STAND_IN,
    NOTE_SUCCESSOR,
)
from carestory.services.importers.postcodes import stored_code
from carestory.services.importers.progress import TextProgress
from carestory.services.importers.run import ImportSetupError, services_import
from carestory.services.importers.summary import ImportSummary
from carestory.services.importers.tree import TreeCycleError, paths_compute
from carestory.services.models import Postcode, Service, ServiceRedirect
from carestory.stories.models import StoryService
from tests.factories import ServiceFactory, StoryFactory
from tests.shared import needs_shared, shared_path

DATA = Path(__file__).resolve().parent / "data"
SMALL = DATA / "ods_small"
MALFORMED = DATA / "ods_malformed"
SHARED = shared_path("data")
TODAY = dt.date(2026, 11, 26)

# What ods_small holds, by kind (stand-ins included: TAH, NDA and three Scottish boards).
SMALL_KINDS = {
    "trust": 5,  # R0A, RTR, RVW, RW6 (closed) + stand-in TAH
    "region": 2,  # commissioners 16C and 00K
    "gp_practice": 5,
    "hospital": 13,  # 6 English sites + 7 Scottish hospitals
    "provider": 1,  # stand-in NDA (Virgin Care)
    "health_board": 6,  # 3 in the file + S08000024, SB0801, SB0802
}


def run(data_dir: Path = SMALL, **kwargs: Any) -> ImportSummary:
    kwargs.setdefault("today", TODAY)
    return services_import(data_dir=data_dir, **kwargs)


def copy_of(tmp_path: Path, source: Path = SMALL) -> Path:
    target = tmp_path / "data"
    shutil.copytree(source, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    """Replace text in a fixture copy, keeping its bytes otherwise (BOM, CRLF)."""
    raw = path.read_bytes()
    assert old.encode() in raw, f"{old!r} not in {path.name}"
    path.write_bytes(raw.replace(old.encode(), new.encode(), 1))


def service(code: str) -> Service:
    return Service.objects.select_related("parent").get(code=code)


def snapshot() -> dict[str, tuple[Any, ...]]:
    return {
        s["code"]: tuple(s.values())
        for s in Service.objects.values(
            "code",
            "name",
            "parent_id",
            "path",
            "depth",
            "is_open",
            "closed_on",
            "address",
            "postcode",
            "latitude",
            "longitude",
            "updated_at",
        )
    }


def assert_paths_consistent() -> None:
    by_pk = {s.pk: s for s in Service.objects.all()}
    for s in by_pk.values():
        if s.parent_id is None:
            assert s.path == f"/{s.pk}/", s.code
            assert s.depth == 0, s.code
        else:
            parent = by_pk[s.parent_id]
            assert s.path == f"{parent.path}{s.pk}/", s.code
            assert s.depth == parent.depth + 1, s.code


# --- First import ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_first_import_builds_the_tree() -> None:
    summary = run()

    assert summary.ok and summary.written
    counts = summary.services
    assert counts.added == sum(SMALL_KINDS.values()) == Service.objects.count()
    assert (counts.updated, counts.closed, counts.unchanged) == (0, 0, 0)
    assert counts.added_by_kind == SMALL_KINDS
    assert_paths_consistent()

    densham = service("A81001")
    assert densham.name == "The Densham Surgery"
    assert densham.kind == Service.Kind.GP_PRACTICE
    assert densham.address == "The Health Centre, Lawson Street, Stockton on Tees, Cleveland"
    assert densham.postcode == "TS18 1HU"
    assert (densham.source, densham.region) == ("epraccur.csv", "uk")
    assert densham.provider_review is True
    assert densham.is_open and densham.closed_on is None
    assert densham.latitude == pytest.approx(54.56163)
    assert "densham" in densham.search_text and "ts181hu" in densham.search_text

    region = densham.parent
    assert region is not None
    assert (region.code, region.kind, region.name) == (
        "16C",
        Service.Kind.REGION,
        "Commissioning area 16C",
    )
    assert region.parent is None and region.is_open

    trust = service("RTR")
    assert trust.name == "South Tees Hospitals NHS Foundation Trust"
    assert (trust.kind, trust.source, trust.parent) == (Service.Kind.TRUST, "etr.csv", None)
    james_cook = service("RTRAT")
    assert james_cook.kind == Service.Kind.HOSPITAL
    assert james_cook.parent == trust
    assert james_cook.source == "nhs_choices_hospitals.csv"
    assert james_cook.provider_review is None  # NHS site: no provider review


@pytest.mark.django_db
def test_only_gp_practices_and_their_states() -> None:
    summary = run()

    # Prescribing setting 8 (public health) is not a GP practice.
    assert not Service.objects.filter(code="A83642").exists()
    epraccur = next(f for f in summary.files if f.name == "ods/epraccur.csv")
    assert (epraccur.rows, epraccur.used) == (6, 5)
    assert epraccur.skipped == {"prescribing setting is not 4 (GP practice)": 1}

    closed = service("A81043")
    assert closed.is_open is False
    assert closed.closed_on == dt.date(2024, 6, 30)
    dormant = service("A81634")
    assert dormant.is_open is False and dormant.closed_on is None
    assert any("A81634" in line for line in summary.notes[NOTE_DORMANT])
    # 00K only has a closed practice: its region is made, not open.
    old_area = service("A81003").parent
    assert old_area is not None and old_area.code == "00K"
    assert old_area.is_open is False
    assert Service.objects.filter(kind="gp_practice", is_open=True).count() == 2


@pytest.mark.django_db
def test_closed_trust_is_closed_and_keeps_its_sites_reported() -> None:
    summary = run()

    pennine = service("RW6")
    assert pennine.is_open is False
    assert pennine.closed_on == dt.date(2021, 9, 30)
    for code in ("RW602", "RW603"):
        site = service(code)
        assert site.parent == pennine
        assert site.is_open  # the site itself is not closed
    (line,) = summary.notes[NOTE_CLOSED_PARENT]
    assert line.startswith("RW6 Pennine Acute Hospitals NHS Trust (closed 2021-09-30): 2 in ")
    assert "RW602 (line 4)" in line and "RW603 (line 5)" in line
    text = "\n".join(summary.lines())
    assert NOTE_CLOSED_PARENT in text and "RW602 (line 4)" in text


@pytest.mark.django_db
def test_sites_of_a_merged_trust_go_to_its_ods_successor(tmp_path: Path) -> None:
    data = copy_of(tmp_path)
    (data / "ods" / "succ.csv").write_text(
        '"RW6","R0A","Successor","20211001",""\r\n', encoding="utf-8"
    )

    summary = run(data)

    manchester = service("R0A")
    assert service("RW602").parent == manchester
    assert service("RW603").parent == manchester
    assert service("RW6").is_open is False  # the old trust is still there, closed
    (line,) = [n for n in summary.notes[NOTE_SUCCESSOR] if n.startswith("RW6")]
    assert line.startswith("RW6 -> R0A Manchester University NHS Foundation Trust: 2 in ")
    assert NOTE_CLOSED_PARENT not in summary.notes
    assert_paths_consistent()


@pytest.mark.django_db
def test_parents_in_no_file_get_stand_ins_and_are_reported() -> None:
    summary = run()

    longley = service("TAHCC")
    sheffield = longley.parent
    assert sheffield is not None
    assert (sheffield.code, sheffield.kind) == ("TAH", Service.Kind.TRUST)
    assert sheffield.name == "Sheffield Health and Social Care NHS Foundation Trust"
    assert sheffield.provider_review is None

    milford = service("NDA26")
    virgin = milford.parent
    assert virgin is not None
    assert (virgin.code, virgin.kind, virgin.name) == (
        "NDA",
        Service.Kind.PROVIDER,
        "Virgin Care Services Ltd",
    )
    assert virgin.provider_review is True  # independent provider: stories reviewed
    assert milford.needs_provider_review()

    stand_ins = "\n".join(summary.notes[NOTE_STAND_IN])
    assert "TAH Sheffield Health and Social Care NHS Foundation Trust (trust)" in stand_ins
    assert "NDA Virgin Care Services Ltd (provider)" in stand_ins
    # The Longley Centre is listed twice in the NHS website file: one service, reported.
    assert Service.objects.filter(code="TAHCC").count() == 1
    assert summary.notes[NOTE_DUPLICATE_SITES] == [
        "TAHCC The Longley Centre: lines 6, 7, kept line 7"
    ]


@pytest.mark.django_db
def test_scotland_boards_hospitals_and_grid_coordinates() -> None:
    summary = run()

    ayrshire = service("S08000015")
    assert (ayrshire.kind, ayrshire.name) == (Service.Kind.HEALTH_BOARD, "NHS Ayrshire and Arran")
    arran = service("A101H")
    assert arran.parent == ayrshire
    assert arran.kind == Service.Kind.HOSPITAL
    assert arran.address == "Lamlash, Isle of Arran"
    # Converted from easting 203533, northing 632121; the ONS postcode centre of KA27 8LF is
    # 55.54311, -5.11549 - a few tens of metres away at most.
    assert arran.latitude == pytest.approx(55.54311, abs=0.001)
    assert arran.longitude == pytest.approx(-5.11549, abs=0.001)

    old_fife = service("S08000018")
    assert old_fife.is_open is False and old_fife.closed_on == dt.date(2018, 2, 1)
    adamson = service("F708H")  # points at the archived Fife board in the fixture
    assert adamson.parent is not None and adamson.parent.code == "S08000029"
    assert any(line.startswith("S08000018 -> S08000029") for line in summary.notes[NOTE_SUCCESSOR])

    assert service("D102H").parent == service("SB0801")
    assert service("SB0801").name == "NHS Golden Jubilee"
    assert service("D101H").parent == service("SB0802")
    lothian = service("S08000024")  # not in the fixture's board file
    assert lothian.name == "Health board S08000024"
    # No grid reference: located from its postcode.
    children = service("S319H")
    assert children.parent == lothian
    assert (children.latitude, children.longitude) == (55.92112, -3.13789)


@pytest.mark.django_db
def test_postcodes_load_and_locate_services() -> None:
    summary = run()

    assert summary.postcodes.added == Postcode.objects.count() == 20 + 20 + 19
    full = Postcode.objects.get(code="TS181HU")
    assert full.kind == Postcode.Kind.FULL
    assert (full.latitude, full.longitude) == (54.56163, -1.31899)
    assert Postcode.objects.get(code="TS18 1").kind == Postcode.Kind.SECTOR
    assert Postcode.objects.get(code="TS18").kind == Postcode.Kind.DISTRICT
    assert not Postcode.objects.filter(code__contains="  ").exists()

    # Trusts have no coordinates in etr.csv: their postcode places them.
    trust = service("RTR")
    assert (trust.latitude, trust.longitude) == (54.55176, -1.21482)
    # TS18 2AW is not in the fixture's lookup: the sector centre of TS18 2 stands in.
    sector = Postcode.objects.get(code="TS18 2")
    queens_park = service("A81002")
    assert (queens_park.latitude, queens_park.longitude) == (sector.latitude, sector.longitude)
    assert summary.located["by sector centre"] == 1
    assert summary.located["by postcode"] >= 5


@pytest.mark.parametrize(
    ("value", "kind", "stored"),
    [
        ("ts18 1hu", "full", "TS181HU"),
        ("  SE1   7EH ", "full", "SE17EH"),
        ("EC1A1BB", "full", "EC1A1BB"),
        ("ts18 1", "sector", "TS18 1"),
        ("TS1 8", "sector", "TS1 8"),
        ("NPT 0", "sector", "NPT 0"),
        ("ts18", "district", "TS18"),
        ("NPT", "district", "NPT"),
    ],
)
def test_stored_code(value: str, kind: str, stored: str) -> None:
    assert stored_code(value, kind) == stored


@pytest.mark.parametrize(
    ("value", "kind", "message"),
    [
        ("Leeds", "full", "'Leeds' is not a full UK postcode"),
        ("", "full", "'' is not a full UK postcode"),
        ("TS18 1", "full", "'TS18 1' is not a full UK postcode"),
        ("TS18 1HU", "sector", "'TS18 1HU' is not a UK postcode sector (like TS18 1)"),
        ("TS181", "sector", "'TS181' is not a UK postcode sector (like TS18 1)"),
        ("TS18 1", "district", "'TS18 1' is not a UK postcode district (like TS18)"),
        ("ZZ9 9ZZ", "full", "'ZZ9 9ZZ' is not a full UK postcode (no UK postcode area begins so)"),
    ],
)
def test_stored_code_refuses_with_the_reason(value: str, kind: str, message: str) -> None:
    with pytest.raises(RowError) as refused:
        stored_code(value, kind)
    assert str(refused.value) == message


# --- Re-running ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_second_run_changes_nothing() -> None:
    first = run()
    before = snapshot()

    second = run()

    assert second.ok and second.written
    counts = second.services
    assert (counts.added, counts.updated, counts.closed) == (0, 0, 0)
    # Every service is accounted for: the ones in the files unchanged, and the stand-ins the
    # files refer to neither changed nor "gone".
    assert counts.unchanged + 5 == first.services.added
    assert counts.absent == 0
    assert second.postcodes.added == second.postcodes.updated == 0
    assert second.postcodes.unchanged == first.postcodes.added
    assert snapshot() == before


@pytest.mark.django_db
def test_rerun_updates_names_addresses_and_closes(tmp_path: Path) -> None:
    data = copy_of(tmp_path)
    run(data)
    queens_park_pk = service("A81002").pk
    etr = data / "ods" / "etr.csv"
    practices = data / "ods" / "epraccur.csv"
    edit(etr, "SOUTH TEES HOSPITALS NHS FOUNDATION TRUST", "SOUTH TEES AND NORTH YORKSHIRE NHS FT")
    edit(
        practices, '"THE HEALTH CENTRE","LAWSON STREET"', '"THE NEW HEALTH CENTRE","LAWSON STREET"'
    )
    # Queens Park closes on 30 June 2025 (status C and a close date).
    edit(practices, '"TS18 2AW","19740401","","A"', '"TS18 2AW","19740401","20250630","C"')

    summary = run(data)

    counts = summary.services
    assert (counts.added, counts.updated, counts.closed) == (0, 2, 1)
    trust = service("RTR")
    assert trust.name == "South Tees and North Yorkshire NHS FT"
    assert "north yorkshire" in trust.search_text
    densham = service("A81001")
    assert densham.address.startswith("The New Health Centre, Lawson Street")
    assert "new health centre" in densham.search_text
    queens_park = service("A81002")
    assert queens_park.pk == queens_park_pk  # the same row, never a new one
    assert queens_park.is_open is False
    assert queens_park.closed_on == dt.date(2025, 6, 30)
    event = AuditEvent.objects.get(action="service.close", object_id=str(queens_park.pk))
    assert event.changes == {"closed_on": "2025-06-30"}
    assert "epraccur.csv line 2" in event.reason
    assert AuditEvent.objects.filter(action="services.import").count() == 2
    assert Service.objects.filter(code="A81002").count() == 1


@pytest.mark.django_db
def test_closing_keeps_stories_and_children(tmp_path: Path) -> None:
    data = copy_of(tmp_path)
    run(data)
    practice = service("A81002")
    site = service("RTRAT")
    ward = ServiceFactory(code="RTRAT-W1", name="Ward 1", parent=site)  # staff-made, in no file
    story = StoryFactory(published=True, services=[practice, ward])
    edit(
        data / "ods" / "epraccur.csv",
        '"TS18 2AW","19740401","","A"',
        '"TS18 2AW","19740401","20250630","C"',
    )
    edit(data / "ods" / "etr.csv", '"TS4 3BW","20020401",""', '"TS4 3BW","20020401","20260331"')

    summary = run(data)

    assert summary.services.closed == 2
    assert service("A81002").is_open is False
    trust = service("RTR")
    assert trust.is_open is False and trust.closed_on == dt.date(2026, 3, 31)
    assert set(
        StoryService.objects.filter(story=story).values_list("service__code", flat=True)
    ) == {
        "A81002",
        "RTRAT-W1",
    }
    site.refresh_from_db()
    ward.refresh_from_db()
    assert site.parent_id == trust.pk and site.is_open
    assert ward.parent_id == site.pk and ward.path == f"{site.path}{ward.pk}/"
    assert summary.services.absent == 0


@pytest.mark.django_db
def test_moving_a_site_recomputes_its_whole_subtree(tmp_path: Path) -> None:
    data = copy_of(tmp_path)
    run(data)
    site = service("RW602")
    clinic = ServiceFactory(code="RW602-C", name="Clinic", parent=site)
    room = ServiceFactory(code="RW602-C-1", name="Room 1", parent=clinic)
    story = StoryFactory(services=[site])
    (data / "ods" / "succ.csv").write_text('"RW6","R0A","Successor","20211001",""\n')

    summary = run(data)

    counts = summary.services
    assert counts.moved == 2 and counts.updated == 2  # RW602, RW603
    assert counts.repathed == 2  # the clinic and the room, in no file
    manchester = service("R0A")
    site.refresh_from_db()
    clinic.refresh_from_db()
    room.refresh_from_db()
    assert site.parent_id == manchester.pk
    assert site.path == f"{manchester.path}{site.pk}/" and site.depth == 1
    assert clinic.path == f"{site.path}{clinic.pk}/" and clinic.depth == 2
    assert room.path == f"{clinic.path}{room.pk}/" and room.depth == 3
    assert set(Service.objects.subtree_of(manchester).values_list("code", flat=True)) >= {
        "RW602",
        "RW602-C",
        "RW602-C-1",
    }
    assert not Service.objects.subtree_of(service("RW6")).filter(code="RW602-C-1").exists()
    assert StoryService.objects.filter(story=story, service=site).exists()
    move = AuditEvent.objects.get(action="service.move", object_id=str(site.pk))
    assert move.changes == {"parent": ["RW6", "R0A"]}
    assert_paths_consistent()


def staff_move(code: str, parent_code: str) -> None:
    """What a staff move does to the tree (without the web UI): new parent, new paths."""
    Service.objects.filter(code=code).update(parent=service(parent_code))
    parents = dict(Service.objects.values_list("pk", "parent_id"))
    for pk, (path, depth) in paths_compute(parents).items():
        Service.objects.filter(pk=pk).update(path=path, depth=depth)


@pytest.mark.django_db
def test_a_site_staff_moved_away_from_a_closed_trust_stays_moved() -> None:
    run()
    staff_move("RW602", "R0A")

    summary = run()

    assert service("RW602").parent == service("R0A")
    assert service("RW603").parent == service("RW6")  # not moved by staff: as the file says
    assert summary.services.updated == 0 and summary.services.moved == 0
    assert summary.notes[NOTE_KEPT] == [
        "RW6 (file) -> R0A (kept): 1 in nhs_hospitals/nhs_choices_hospitals.csv: RW602 (line 4)"
    ]
    assert_paths_consistent()


@pytest.mark.django_db
def test_services_merged_by_staff_stay_merged() -> None:
    run()
    # Staff merged North Tees (still open in etr.csv) into South Tees, and commissioner 00K
    # into 16C: the merged ones are closed and their codes redirect to the survivors.
    Service.objects.filter(code="RVW").update(is_open=False, closed_on=TODAY)
    ServiceRedirect.objects.create(old_code="RVW", service=service("RTR"))
    staff_move("A81003", "16C")
    ServiceRedirect.objects.create(old_code="00K", service=service("16C"))
    before = snapshot()

    summary = run()

    assert snapshot() == before
    assert service("RVW").is_open is False  # not reopened by the file
    assert service("A81003").parent == service("16C")  # not moved back under 00K
    assert (summary.services.added, summary.services.updated) == (0, 0)
    assert summary.notes[NOTE_MERGED] == [
        "RVW -> RTR (ods/etr.csv line 3)",
        "00K -> 16C (ods/epraccur.csv line 3)",
    ]


@pytest.mark.django_db
def test_a_region_name_given_by_staff_is_kept() -> None:
    run()
    Service.objects.filter(code="16C").update(name="NHS North East and North Cumbria ICB - 16C")

    summary = run()

    assert service("16C").name == "NHS North East and North Cumbria ICB - 16C"
    assert summary.services.updated == 0


@pytest.mark.django_db
def test_import_over_the_demo_slice_updates_in_place() -> None:
    demo_tree_load()
    ed_path = service("RTR-ED").path

    summary = run()

    assert summary.ok
    assert Service.objects.filter(code="RTR").count() == 1
    assert service("RTR-ED").path == ed_path  # departments from the demo stay where they were
    assert service("A81001").source == "epraccur.csv"
    assert_paths_consistent()


# --- Refusals -------------------------------------------------------------------------------

MALFORMED_REJECTIONS = {
    Rejection("ods/etr.csv", 2, "expected 27 columns (ODS standard format), found 26"),
    Rejection("ods/etr.csv", 3, "close date (column 12) '20211340' is not a real date"),
    Rejection("ods/etr.csv", 4, "code R0A is also on line 1"),
    Rejection("ods/epraccur.csv", 2, "name (column 2) is empty"),
    Rejection(
        "ods/epraccur.csv", 3, "prescribing setting (column 26) 'four' is not a whole number"
    ),
    Rejection("nhs_hospitals/nhs_choices_hospitals.csv", 3, "latitude 'fifty-one' is not a number"),
    Rejection("postcodes/postcode_lookup.csv", 3, "'NOT A CODE' is not a full UK postcode"),
}


@pytest.mark.django_db
def test_malformed_files_are_refused_with_line_and_reason_and_change_nothing() -> None:
    run()
    before = snapshot()
    postcodes_before = Postcode.objects.count()
    events_before = AuditEvent.objects.count()

    summary = run(MALFORMED)

    assert not summary.ok and not summary.written
    assert set(summary.rejections) == MALFORMED_REJECTIONS
    assert snapshot() == before
    assert Postcode.objects.count() == postcodes_before
    assert AuditEvent.objects.count() == events_before
    text = "\n".join(summary.lines())
    assert "Rejected: 7 row(s). Nothing was written" in text
    assert "ods/etr.csv line 3: close date (column 12) '20211340' is not a real date" in text


@pytest.mark.django_db
def test_command_refuses_malformed_files_with_an_error() -> None:
    out = io.StringIO()
    with pytest.raises(CommandError, match="7 row"):
        call_command("import_ods", str(MALFORMED), stdout=out)
    assert "ods/epraccur.csv line 2: name (column 2) is empty" in out.getvalue()
    assert Service.objects.count() == 0
    assert Postcode.objects.count() == 0


@pytest.mark.django_db
def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    data = copy_of(tmp_path)
    hospitals = data / "nhs_hospitals" / "nhs_choices_hospitals.csv"
    hospitals.write_bytes(hospitals.read_bytes().replace(b"Marton Road", b"Marton\xacRoad"))

    summary = run(data)

    assert not summary.ok
    (rejection,) = summary.rejections
    assert rejection.file == "nhs_hospitals/nhs_choices_hospitals.csv"
    assert rejection.line == 2  # the James Cook row
    assert rejection.reason.startswith("not UTF-8 text")
    assert Service.objects.count() == 0


@pytest.mark.django_db
def test_a_missing_header_column_is_refused(tmp_path: Path) -> None:
    data = copy_of(tmp_path)
    edit(data / "nhs_hospitals" / "nhs_choices_hospitals.csv", "ParentODSCode", "ParentCode")

    summary = run(data)

    assert summary.rejections == [
        Rejection(
            "nhs_hospitals/nhs_choices_hospitals.csv", 1, "header lacks column(s): ParentODSCode"
        )
    ]
    assert Service.objects.count() == 0


def test_nothing_to_import(tmp_path: Path) -> None:
    with pytest.raises(ImportSetupError, match="none of the files"):
        services_import(data_dir=tmp_path)
    with pytest.raises(ImportSetupError, match="not a directory"):
        services_import(data_dir=tmp_path / "nowhere")
    with pytest.raises(ImportSetupError, match="unknown format"):
        services_import(data_dir=tmp_path, fmt="xml")


@pytest.mark.django_db
def test_dry_run_reports_and_writes_nothing() -> None:
    summary = run(dry_run=True)

    assert summary.ok and not summary.written
    assert summary.services.added == sum(SMALL_KINDS.values())
    assert summary.postcodes.added == 59
    assert Service.objects.count() == 0
    assert Postcode.objects.count() == 0
    assert "Dry run: nothing was written." in summary.lines()
    assert any(line.startswith("Services would be added 32") for line in summary.lines())
    assert "Postcodes would be added 59, updated 0, unchanged 0" in summary.lines()


# --- The command and its progress bar --------------------------------------------------------


@pytest.mark.django_db
def test_command_prints_the_summary() -> None:
    out = io.StringIO()
    call_command("import_ods", str(SMALL), stdout=out)
    text = out.getvalue()
    assert "Services added 32, updated 0, closed 0, unchanged 0; rejected 0" in text
    assert "Postcodes added 59, updated 0, unchanged 0" in text
    assert "ods/succ.csv" in text and "not found, not imported" in text

    quiet = io.StringIO()
    call_command("import_ods", str(SMALL), "--dry-run", verbosity=0, stdout=quiet)
    assert quiet.getvalue() == ""


def test_text_progress_bar() -> None:
    stream = io.StringIO()
    bar = TextProgress(stream, width=10)
    bar.start("reading", 200)
    for _ in range(200):
        bar.advance()
    bar.finish()
    out = stream.getvalue()
    assert "\rreading    [#####.....]  50%  100/200" in out
    assert out.endswith("[##########] 100%  200/200\n")
    # Redrawn only when the percentage changes: 101 draws (0..100) plus the final one.
    assert out.count("\r") == 102


# --- OS National Grid -------------------------------------------------------------------------


def test_grid_to_osgb36_matches_the_ordnance_survey_worked_example() -> None:
    # "A guide to coordinate systems in Great Britain", annex C: Caister water tower,
    # E 651409.903 N 313177.270 -> 52°39'27.2531"N 1°43'4.5177"E on OSGB36.
    lat, lon = grid_to_osgb36(651409.903, 313177.270)
    assert lat == pytest.approx(52 + 39 / 60 + 27.2531 / 3600, abs=1e-7)
    assert lon == pytest.approx(1 + 43 / 60 + 4.5177 / 3600, abs=1e-7)


def test_grid_to_wgs84() -> None:
    # The same point on WGS84 after the Helmert shift: 52°39'28.72"N 1°42'57.79"E.
    lat, lon = grid_to_wgs84(651409.903, 313177.270)
    assert lat == pytest.approx(52 + 39 / 60 + 28.72 / 3600, abs=1e-5)
    assert lon == pytest.approx(1 + 42 / 60 + 57.79 / 3600, abs=1e-5)
    # Scottish hospitals whose grid reference was taken from their postcode, against the ONS
    # WGS84 postcode centre (Brooksby Day Hospital KA30 8NE, The Knoll Hospital TD11 3EL).
    assert grid_to_wgs84(220335, 659862) == pytest.approx((55.79853, -4.86773), abs=2e-4)
    assert grid_to_wgs84(378679, 653306) == pytest.approx((55.77260, -2.34141), abs=2e-4)
    with pytest.raises(ValueError, match="outside"):
        grid_to_wgs84(-5, 100)


# --- Tree paths -----------------------------------------------------------------------------


def test_paths_compute() -> None:
    paths = paths_compute({1: None, 7: 1, 42: 7, 9: None, 10: 404})
    assert paths == {
        1: ("/1/", 0),
        7: ("/1/7/", 1),
        42: ("/1/7/42/", 2),
        9: ("/9/", 0),
        10: ("/10/", 0),  # a parent that does not exist: a root
    }
    with pytest.raises(TreeCycleError):
        paths_compute({1: 2, 2: 1})


# --- Carestory's own format -----------------------------------------------------------------


@pytest.mark.django_db
def test_carestory_format_resolves_parents_in_any_order() -> None:
    Postcode.objects.create(code="TS181HU", kind="full", latitude=54.56163, longitude=-1.31899)

    summary = run(DATA / "carestory", fmt="carestory")

    assert summary.ok and summary.services.added == 6
    ed = service("IE-SJH-ED")  # listed before its parents
    assert ed.parent is not None and ed.parent.code == "IE-SJH"
    assert ed.path == f"/{service('IE-DML').pk}/{ed.parent.pk}/{ed.pk}/"
    assert (ed.region, ed.kind, ed.source) == ("ie", "department", "services.csv")
    assert ed.postcode == "D08 NHY1"
    care_home = service("AU-HCH")
    assert (care_home.region, care_home.postcode, care_home.provider_review) == ("au", "2000", True)
    rose = service("UK-RLCH")
    assert rose.postcode == "TS18 1HU"
    assert (rose.latitude, rose.longitude) == (54.56163, -1.31899)  # from the Postcode table
    old = service("UK-OLDC")
    assert old.is_open is False and old.closed_on == dt.date(2024, 6, 30)
    assert old.provider_review is None
    assert_paths_consistent()

    again = run(DATA / "carestory", fmt="carestory")
    assert (again.services.added, again.services.updated, again.services.unchanged) == (0, 0, 6)


@pytest.mark.django_db
def test_carestory_format_refuses_bad_rows() -> None:
    summary = run(DATA / "carestory_bad_rows.csv", fmt="carestory")

    file = "carestory_bad_rows.csv"
    reasons = {r.line: r.reason for r in summary.rejections}
    assert all(r.file == file for r in summary.rejections)
    assert reasons[3].startswith("type 'hospice' is not one of care_home, department")
    assert reasons[4] == "name is empty"
    assert reasons[5] == "latitude 'north' is not a number"
    assert reasons[6] == "closed_on '30/06/2024' is not a date in the form YYYY-MM-DD"
    assert reasons[7] == "code X-1 is also on line 2"
    assert reasons[8] == "code 'X 6' may hold only letters, digits, '.', '-' and '_'"
    assert reasons[9].startswith("region '' must be a site code")
    assert reasons[10] == "expected 10 columns, found 8"
    assert 2 not in reasons
    assert Service.objects.count() == 0


@pytest.mark.django_db
def test_carestory_format_refuses_unknown_parents_and_loops() -> None:
    summary = run(DATA / "carestory_bad_tree.csv", fmt="carestory")

    assert sorted(summary.rejections) == [
        Rejection(
            "carestory_bad_tree.csv", 2, "parent NOPE of Y-1 is in no file and not in the database"
        ),
        Rejection("carestory_bad_tree.csv", 3, "Y-2 would be inside itself: Y-2 -> Y-3 -> Y-2"),
        Rejection("carestory_bad_tree.csv", 4, "Y-3 would be inside itself: Y-3 -> Y-2 -> Y-3"),
    ]
    assert Service.objects.count() == 0


@pytest.mark.django_db
def test_carestory_format_parent_already_in_the_database(tmp_path: Path) -> None:
    run()  # RTR comes from the ODS files
    extra = tmp_path / "extra.csv"
    extra.write_text(
        "code,name,type,parent_code,address,postcode,latitude,longitude,region,closed_on\n"
        "RTRAT-MAT,Maternity unit,department,RTRAT,,TS4 3BW,,,uk,\n",
        encoding="utf-8",
    )

    summary = run(extra, fmt="carestory")

    unit = service("RTRAT-MAT")
    assert unit.parent == service("RTRAT")
    assert unit.depth == 2
    assert (unit.latitude, unit.longitude) == (54.55176, -1.21482)
    assert summary.services.added == 1


@pytest.mark.django_db
def test_carestory_format_code_in_two_files_is_refused(tmp_path: Path) -> None:
    header = "code,name,type,parent_code,address,postcode,latitude,longitude,region,closed_on\n"
    (tmp_path / "a.csv").write_text(header + "Z-1,One,hospital,,,,,,ie,\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text(header + "Z-1,Other,hospital,,,,,,ie,\n", encoding="utf-8")

    summary = run(tmp_path, fmt="carestory")

    assert summary.rejections == [Rejection("b.csv", 2, "code Z-1 is also in a.csv line 2")]
    assert Service.objects.count() == 0


@pytest.mark.django_db
def test_carestory_format_header_must_match(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,kind,parent,region\nQ-1,Q,hospital,,ie\n", encoding="utf-8")

    summary = run(bad, fmt="carestory")

    (rejection,) = summary.rejections
    assert rejection.line == 1
    assert "lacks column(s): type, parent_code, address" in rejection.reason
    assert "unknown column(s): kind, parent" in rejection.reason


# --- Demo postcodes -------------------------------------------------------------------------


@pytest.mark.django_db
def test_demo_postcodes_cover_the_demo_services() -> None:
    created = demo_postcodes_load()

    assert created == Postcode.objects.count() > 0
    assert demo_postcodes_load() == 0
    with DEMO_SERVICES_CSV.open(newline="", encoding="utf-8") as fh:
        services = list(csv.DictReader(fh))
    for row in services:
        postcode = uk_postcode(row["postcode"], kinds=(Kind.FULL,))
        if postcode is None:
            continue
        _full, sector, district = (p.key for p in postcode.lookups())
        assert Postcode.objects.filter(code=sector, kind="sector").exists(), sector
        assert Postcode.objects.filter(code=district, kind="district").exists(), district
    densham = Postcode.objects.get(code="TS181HU")
    row = next(r for r in services if r["code"] == "A81001")
    assert (densham.latitude, densham.longitude) == (
        float(row["latitude"]),
        float(row["longitude"]),
    )


@pytest.mark.django_db
def test_demo_postcodes_file_errors_are_specific(tmp_path: Path) -> None:
    bad = tmp_path / "postcodes.csv"
    bad.write_text("code,kind,latitude,longitude\nTS18 1,sector,54.5,-1.3\nTS18 1HU,town,54,-1\n")
    with pytest.raises(ValueError, match=r"postcodes\.csv line 3: unknown kind 'town'"):
        demo_postcodes_load(path=bad)
    assert Postcode.objects.count() == 0


# --- The full shipped data ------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db
@needs_shared("data")
def test_full_shipped_data() -> None:
    summary = run(SHARED)

    assert summary.ok, summary.rejections[:5]
    gp = Service.objects.filter(kind=Service.Kind.GP_PRACTICE)
    assert gp.count() == 8655  # prescribing setting 4 (PROVENANCE.md)
    assert gp.filter(is_open=True).count() == 6618  # of which status A
    assert Service.objects.filter(kind=Service.Kind.TRUST, source="etr.csv").count() == 274
    assert Service.objects.filter(kind=Service.Kind.REGION).count() == 244
    assert Service.objects.filter(kind=Service.Kind.HOSPITAL).count() == 1226 + 277
    assert Service.objects.filter(kind=Service.Kind.HEALTH_BOARD).count() == 18 + 2
    assert Postcode.objects.count() == 11283 + 12269 + 3077

    densham = service("A81001")
    assert densham.name == "The Densham Surgery"
    assert densham.parent is not None and densham.parent.code == "16C"
    assert densham.latitude == pytest.approx(54.56163)
    ts18 = Postcode.objects.get(code="TS181HU")
    assert (ts18.latitude, ts18.longitude) == (54.56163, -1.31899)
    assert service("RW602").parent == service("RW6")  # closed trust, no successor file
    assert any(line.startswith("RW6 Pennine Acute") for line in summary.notes[NOTE_CLOSED_PARENT])
    assert_paths_consistent()

    again = run(SHARED)
    assert (again.services.added, again.services.updated, again.services.closed) == (0, 0, 0)
    assert again.services.unchanged == summary.services.added - len(summary.notes[NOTE_STAND_IN])


@pytest.mark.slow
@needs_shared("data")
def test_demo_slice_files_are_what_build_slice_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = importlib.util.spec_from_file_location(
        "build_slice", DEMO_SERVICES_CSV.parent / "build_slice.py"
    )
    assert spec is not None and spec.loader is not None
    build_slice = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "build_slice", build_slice)  # for its dataclasses
    spec.loader.exec_module(build_slice)
    services, postcodes = tmp_path / "services.csv", tmp_path / "postcodes.csv"

    build_slice.main([str(SHARED), "--out", str(services), "--postcodes-out", str(postcodes)])

    assert services.read_bytes() == DEMO_SERVICES_CSV.read_bytes()
    assert postcodes.read_bytes() == DEMO_POSTCODES_CSV.read_bytes()
