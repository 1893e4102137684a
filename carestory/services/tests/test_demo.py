"""The committed demo slice of real NHS services loads into a correct tree."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from carestory.services.demo import DEMO_SERVICES_CSV, demo_tree_load
from carestory.services.models import Service

pytestmark = pytest.mark.django_db


def _csv_rows() -> list[dict[str, str]]:
    with DEMO_SERVICES_CSV.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_slice_file_is_well_formed() -> None:
    rows = _csv_rows()
    assert rows, "services.csv is empty"
    seen: set[str] = set()
    kinds = set(Service.Kind.values)
    for row in rows:
        assert row["code"] not in seen, f"duplicate code {row['code']}"
        assert row["kind"] in kinds
        assert row["is_open"] in {"true", "false"}
        if row["parent_code"]:
            assert row["parent_code"] in seen, f"{row['code']} comes before its parent"
        seen.add(row["code"])


def test_load_creates_the_tree() -> None:
    rows = _csv_rows()
    created = demo_tree_load()

    assert created == len(rows)
    assert Service.objects.count() == len(rows)
    for row in rows:
        service = Service.objects.get(code=row["code"])
        assert service.kind == row["kind"]
        if row["parent_code"]:
            assert service.parent is not None
            assert service.parent.code == row["parent_code"]
            assert service.path == f"{service.parent.path}{service.pk}/"
            assert service.depth == service.parent.depth + 1
        else:
            assert service.parent is None
            assert service.path == f"/{service.pk}/"
            assert service.depth == 0


def test_real_organisations_and_departments() -> None:
    demo_tree_load()

    trust = Service.objects.get(code="RTR")
    assert trust.name == "South Tees Hospitals NHS Foundation Trust"
    assert trust.kind == Service.Kind.TRUST
    assert Service.objects.get(code="RVW").name == "North Tees and Hartlepool NHS Foundation Trust"

    james_cook = Service.objects.get(code="RTRAT")
    assert james_cook.kind == Service.Kind.HOSPITAL
    assert james_cook.parent == trust
    assert james_cook.postcode == "TS4 3BW"
    assert james_cook.latitude is not None
    assert james_cook.longitude is not None

    ed = Service.objects.get(code="RTR-ED")
    assert ed.kind == Service.Kind.DEPARTMENT
    assert ed.parent == james_cook
    assert ed.depth == 2
    assert ed.ancestor_ids() == [trust.pk, james_cook.pk, ed.pk]
    assert [s.code for s in ed.ancestors()] == ["RTR", "RTRAT"]


def test_gp_practices_sit_under_their_commissioner() -> None:
    demo_tree_load()

    densham = Service.objects.get(code="A81001")
    assert densham.name == "The Densham Surgery"
    assert densham.kind == Service.Kind.GP_PRACTICE
    assert densham.is_open
    assert densham.postcode == "TS18 1HU"
    assert densham.latitude == pytest.approx(54.56, abs=0.05)

    region = densham.parent
    assert region is not None
    assert region.code == "16C"
    assert region.kind == Service.Kind.REGION
    assert region.parent is None
    assert densham.path == f"/{region.pk}/{densham.pk}/"

    practices = Service.objects.filter(kind=Service.Kind.GP_PRACTICE)
    assert practices.count() >= 15
    assert all(p.parent_id == region.pk for p in practices)


def test_closed_practice_is_loaded_closed() -> None:
    demo_tree_load()

    closed = Service.objects.get(code="A81043")
    assert closed.name == "The Manor House Surgery"
    assert closed.is_open is False
    assert not Service.objects.open().filter(code="A81043").exists()
    assert Service.objects.filter(kind=Service.Kind.GP_PRACTICE, is_open=False).count() == 1


def test_loading_twice_creates_nothing_new() -> None:
    first = demo_tree_load()
    paths = dict(Service.objects.values_list("code", "path"))

    assert demo_tree_load() == 0
    assert Service.objects.count() == first
    assert dict(Service.objects.values_list("code", "path")) == paths


def test_existing_codes_are_skipped_and_children_attach_to_them() -> None:
    from carestory.services.services import service_create

    mine = service_create(code="RTR", name="Our own South Tees", kind=Service.Kind.TRUST)

    created = demo_tree_load()

    assert created == len(_csv_rows()) - 1
    mine.refresh_from_db()
    assert mine.name == "Our own South Tees"
    assert Service.objects.get(code="RTRAT").parent == mine


def test_trust_subtree_holds_its_sites_and_departments() -> None:
    demo_tree_load()
    rows = _csv_rows()
    sites = {r["code"] for r in rows if r["parent_code"] == "RTR"}
    departments = {r["code"] for r in rows if r["parent_code"] in sites}

    trust = Service.objects.get(code="RTR")
    subtree = set(Service.objects.subtree_of(trust).values_list("code", flat=True))

    assert {"RTRAT", "RTR03", "RTRAQ"} <= sites
    assert {"RTR-ED", "RTR-MAT", "RTR-CHW"} <= departments
    assert subtree == {"RTR"} | sites | departments
    # Nothing from the other trusts or the GP practices leaks in.
    assert "RVW" not in subtree
    assert "RVWAE" not in subtree
    assert "A81001" not in subtree


def test_custom_path_and_bad_parent(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(
        "code,name,kind,parent_code,address,postcode,latitude,longitude,is_open\n"
        "x1,Test Trust,trust,,,,,,true\n"
        "X1-A,Ward A,department,X1,1 High Street,ts1 1aa,54.5,-1.2,false\n",
        encoding="utf-8",
    )
    assert demo_tree_load(path=good) == 2
    ward = Service.objects.get(code="X1-A")
    assert ward.parent is not None
    assert ward.parent.code == "X1"
    assert ward.postcode == "TS1 1AA"
    assert ward.is_open is False

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "code,name,kind,parent_code,address,postcode,latitude,longitude,is_open\n"
        "Y1-A,Orphan,department,Y1,,,,,true\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="parent"):
        demo_tree_load(path=bad)
