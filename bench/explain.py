"""The slowest SQL of every page `make bench` measures, with EXPLAIN (ANALYZE, BUFFERS).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/carestory_bench \\
        .venv/bin/python bench/explain.py [--top 2] [--min-ms 5] [--out FILE]

Runs each page once in this process (Django's test client, the bench database, DEBUG off),
records its queries with their times, then explains the ``--top`` slowest SELECTs that took at
least ``--min-ms`` (each is run again by EXPLAIN ANALYZE). Writes Markdown, by default to
bench/results/<date>-explain.md. The database must hold a synthetic dataset (make bench).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carestory.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/carestory_bench")
os.environ.setdefault("CARESTORY_ENV", "development")
os.environ.setdefault("DEBUG", "false")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench.run import Page, pages_for  # noqa: E402
from carestory.synthetic.benchprep import prepare  # noqa: E402
from carestory.synthetic.generate import synthetic_marker  # noqa: E402


def explain_pages(pages: list[Page], *, top: int, min_ms: float) -> list[str]:
    """Each page run once in this process; its ``top`` slowest SELECTs of at least ``min_ms``
    explained (EXPLAIN (ANALYZE, BUFFERS)), as Markdown lines."""
    lines: list[str] = []
    for page in pages:
        client = Client(HTTP_X_FORWARDED_PROTO="https")
        if page.cookie:
            client.cookies[settings.SESSION_COOKIE_NAME] = page.cookie.split("=", 1)[1]
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(page.path)
        elapsed = (time.perf_counter() - started) * 1000
        queries = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))
        total_sql = sum(float(q["time"]) for q in queries) * 1000
        lines += [
            f"## {page.label}",
            "",
            f"`GET {page.path}`: HTTP {response.status_code}, {elapsed:.0f} ms, "
            f"{len(queries)} queries, {total_sql:.0f} ms of SQL.",
            "",
        ]
        explained = 0
        for query in queries:
            ms = float(query["time"]) * 1000
            sql = query["sql"]
            if explained >= top or ms < min_ms:
                break
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                plan = "\n".join(row[0] for row in cursor.fetchall())
            lines += [
                f"### {ms:.0f} ms",
                "",
                "```sql",
                sql,
                "```",
                "",
                "```",
                plan,
                "```",
                "",
            ]
            explained += 1
        if not explained:
            lines += [f"No SELECT over {min_ms} ms.", ""]
        print(
            f"{page.key:<20} {elapsed:8.0f} ms  {len(queries):3d} queries  {total_sql:8.0f} ms SQL"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--top", type=int, default=2)
    parser.add_argument("--min-ms", type=float, default=5.0)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--pages", default="", help="comma-separated page keys (default all)")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("EXPLAIN (ANALYZE, BUFFERS) needs PostgreSQL: set DATABASE_URL")
    marker = synthetic_marker()
    if marker is None:
        raise SystemExit("no synthetic dataset in this database: run make bench first")
    targets = prepare(stories=int(marker["stories"]), seed=int(marker["seed"]))
    only = {p for p in args.pages.split(",") if p}
    pages = [p for p in pages_for(targets) if not only or p.key in only]
    out = args.out or ROOT / "bench" / "results" / f"{dt.date.today().isoformat()}-explain.md"
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    lines = [
        f"# Slowest queries per page, {dt.date.today().isoformat()}, commit `{commit}`",
        "",
        f"Database `{settings.DATABASES['default']['NAME']}`: {int(marker['stories']):,} "
        f"published stories (seed {marker['seed']}). Each page run once in-process; the "
        f"{args.top} slowest SELECTs of at least {args.min_ms} ms explained. Made by "
        "`bench/explain.py`.",
        "",
    ]
    lines += explain_pages(pages, top=args.top, min_ms=args.min_ms)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
