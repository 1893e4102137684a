"""Wall time of the service directory import: first import into an empty database, then a
re-import of the same files (which finds nothing to change), on the configured database.

    .venv/bin/python bench/import_bench.py ../shared/data            # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/carestory_imp \\
        .venv/bin/python bench/import_bench.py ../shared/data        # PostgreSQL

It never touches the configured database itself: it creates a throwaway one beside it
(var/import-bench.sqlite3, or ``<name>_import_bench`` on PostgreSQL), migrates it, runs the
imports and drops it again. ``--repeat N`` runs the pair N times on fresh databases and
reports each run. The figures go in docs/data-import.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carestory.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from carestory.services.importers.run import services_import  # noqa: E402
from carestory.services.models import Postcode, Service  # noqa: E402


def one_run(data: Path) -> tuple[float, float, int, int]:
    """(first import seconds, re-import seconds, services, postcodes) on a fresh database."""
    db = settings.DATABASES["default"]
    if connection.vendor == "sqlite":
        bench_name = str(ROOT / "var" / "import-bench.sqlite3")
    else:
        bench_name = f"{db['NAME']}_import_bench"
    db.setdefault("TEST", {})["NAME"] = bench_name
    original = db["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        start = time.perf_counter()
        first = services_import(data_dir=data)
        first_s = time.perf_counter() - start
        if not first.ok:
            raise SystemExit("\n".join(first.lines()))
        start = time.perf_counter()
        second = services_import(data_dir=data)
        second_s = time.perf_counter() - start
        if second.services.added or second.services.updated or second.services.closed:
            raise SystemExit("the re-import changed something:\n" + "\n".join(second.lines()))
        return first_s, second_s, Service.objects.count(), Postcode.objects.count()
    finally:
        connection.creation.destroy_test_db(original, verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("data_dir", type=Path, help="the shared data folder (ods/, postcodes/...)")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    print(f"database: {connection.vendor}; data: {args.data_dir}")
    for n in range(1, args.repeat + 1):
        first, again, services, postcodes = one_run(args.data_dir)
        print(
            f"run {n}: first import {first:.1f} s, re-import {again:.1f} s "
            f"({services:,} services, {postcodes:,} postcodes)"
        )


if __name__ == "__main__":
    main()
