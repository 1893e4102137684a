"""Service search latency on a full-size tree: p50/p95 per query, on the configured database.

    .venv/bin/python bench/search_bench.py                      # SQLite (FTS5)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/carestory_srch \\
        .venv/bin/python bench/search_bench.py                  # PostgreSQL (pg_trgm)

(On PostgreSQL, PGOPTIONS='-c random_page_cost=1.1' measures with the SSD setting that
docs/search.md recommends.)

It never touches the configured database itself: it creates a throwaway one beside it
(``<name>_search_bench``, or var/search-bench.sqlite3), migrates it, loads the tree, times
service_search for a set of realistic queries and drops it again (``--keep`` keeps it and
``--reuse`` starts from a kept one, skipping the load).

The tree comes from ``manage.py import_ods DATA_DIR`` (the shared ODS, hospital and postcode
files: about 10,800 services). The ODS files have no departments, which trusts add in
production, so each open hospital then gets three to eight made-up ones (``--no-departments``
skips them): about 19,000 services in all.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carestory.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command, get_commands  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from carestory.services.models import Postcode, Service  # noqa: E402
from carestory.services.selectors import service_search  # noqa: E402
from carestory.services.services import search_text_for  # noqa: E402

# The shared folder beside the repository; --data names another.
DEFAULT_DATA = ROOT.parent / "shared" / "data"

# (query, keyword arguments): what people type, as names, codes, towns and postcodes.
QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("densham", {}),
    ("densham surgery", {}),
    ("james cook", {}),
    ("guys thomas", {}),
    ("Guy's & Saint Thomas'", {}),
    ("st thomas", {}),
    ("leeds general", {}),
    ("royal infirmary", {}),
    ("manchester royal", {}),
    ("queens park medical", {}),
    ("surgery", {}),
    ("medical centre", {}),
    ("health centre london", {}),
    ("maternity", {}),
    ("children's ward", {}),
    ("sheffield", {}),
    ("bradford", {}),
    ("stockton on tees", {}),
    ("hosp", {}),
    ("wh", {}),
    ("A81001", {}),
    ("RTR", {}),
    ("densam surgery", {}),  # a typo: near misses on PostgreSQL, nothing on SQLite
    ("TS18 1HU", {}),
    ("near LS1 3EX", {}),
    ("near SW1A 2AA", {}),
    ("M13", {}),
    ("surgery near TS18 1HU", {}),
    ("near TS18 1HU", {"kind": "hospital"}),
    ("leeds", {"kind": "hospital"}),
    ("jam", {"limit": 8, "open_only": True}),  # suggestions in the chooser
    ("st jam", {"limit": 8, "open_only": True}),
]

DEPARTMENTS = [
    "Emergency department",
    "Maternity services",
    "Children's ward",
    "Cardiology",
    "Outpatient clinics",
    "Radiology",
    "Oncology",
    "Orthopaedics",
    "Ophthalmology",
    "Intensive care unit",
    "Stroke unit",
    "Day surgery unit",
    "Dermatology",
    "Renal unit",
    "Neonatal unit",
    "Physiotherapy",
    "Pharmacy",
    "Ward 1",
    "Ward 12",
    "Ward 24",
]


def add_departments(rng: random.Random) -> int:
    """Made-up departments under each open NHS hospital, as trusts add them in production."""
    hospitals = Service.objects.filter(kind=Service.Kind.HOSPITAL, is_open=True).exclude(
        children__isnull=False
    )
    departments: list[Service] = []
    for hospital in hospitals.order_by("pk"):
        for n, name in enumerate(rng.sample(DEPARTMENTS, rng.randint(3, 8))):
            departments.append(
                Service(
                    code=f"{hospital.code}-D{n:02d}",
                    name=name,
                    kind=Service.Kind.DEPARTMENT,
                    parent=hospital,
                    address=hospital.address,
                    postcode=hospital.postcode,
                    latitude=hospital.latitude,
                    longitude=hospital.longitude,
                )
            )
    for service in departments:
        service.search_text = search_text_for(service)
    with transaction.atomic():
        created = Service.objects.bulk_create(departments, batch_size=1000)
        for service in created:
            assert service.parent is not None
            service.path = f"{service.parent.path}{service.pk}/"
            service.depth = service.path.count("/") - 2
        Service.objects.bulk_update(created, ["path", "depth"], batch_size=1000)
    return len(created)


def load(data: Path, *, departments: bool) -> str:
    if "import_ods" not in get_commands():
        raise SystemExit("manage.py import_ods is missing: nothing to load the tree with")
    call_command("import_ods", str(data), stdout=io.StringIO(), stderr=io.StringIO())
    source = f"manage.py import_ods {data}"
    if departments:
        added = add_departments(random.Random(20261126))  # noqa: S311 (names, not secrets)
        source += f", plus {added:,} made-up departments under open hospitals"
    return source


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def bench(repeat: int) -> list[tuple[str, int, float, float]]:
    rows = []
    for query, kwargs in QUERIES:
        service_search(query=query, **kwargs)  # warm caches and plans
        samples = []
        found = 0
        for _ in range(repeat):
            start = time.perf_counter()
            hits = service_search(query=query, **kwargs)
            samples.append((time.perf_counter() - start) * 1000)
            found = len(hits)
        label = query + "".join(f" [{k}={v}]" for k, v in kwargs.items())
        rows.append((label, found, percentile(samples, 0.5), percentile(samples, 0.95)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument("--reuse", action="store_true", help="start from a kept bench database")
    parser.add_argument("--no-departments", action="store_true", help="only what import_ods loads")
    args = parser.parse_args()
    if not args.reuse and not args.data.is_dir():
        parser.error(f"{args.data} is not here: --data DIR names the ODS, hospital and postcodes")

    settings.DEBUG = False  # no query log
    db = settings.DATABASES["default"]
    original_name = db["NAME"]
    if connection.vendor == "sqlite":
        bench_name = str(ROOT / "var" / "search-bench.sqlite3")
    else:
        bench_name = f"{db['NAME']}_search_bench"
    db.setdefault("TEST", {})["NAME"] = bench_name
    started = time.perf_counter()
    connection.creation.create_test_db(
        verbosity=0, autoclobber=True, serialize=False, keepdb=args.reuse
    )
    try:
        if args.reuse and Service.objects.count() > 1000:
            source = "kept bench database"
        else:
            source = load(args.data, departments=not args.no_departments)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE services_service; ANALYZE services_postcode")
        loaded = time.perf_counter() - started
        total = Service.objects.count()
        closed = Service.objects.filter(is_open=False).count()
        print(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SHOW random_page_cost")
                cost = cursor.fetchone()[0]
            print(f"random_page_cost: {cost} (try PGOPTIONS='-c random_page_cost=1.1')")
        print(
            f"tree: {total:,} services ({closed:,} closed), {Postcode.objects.count():,} postcodes"
        )
        print(f"loaded by: {source} in {loaded:.0f} s")
        print(f"each query run {args.repeat} times after one warm-up; milliseconds\n")
        rows = bench(args.repeat)
        width = max(len(r[0]) for r in rows)
        print(f"{'query':<{width}}  {'hits':>4}  {'p50':>7}  {'p95':>7}")
        for label, found, p50, p95 in rows:
            print(f"{label:<{width}}  {found:>4}  {p50:>7.1f}  {p95:>7.1f}")
        all_p50 = statistics.median(r[2] for r in rows)
        worst = max(r[3] for r in rows)
        print(f"\nmedian of the per-query p50s: {all_p50:.1f} ms; worst p95: {worst:.1f} ms")
    finally:
        if not args.keep:
            connection.creation.destroy_test_db(original_name, verbosity=0)


if __name__ == "__main__":
    main()
