"""The staff workspace with every published story in scope (issue 10: /staff/ p95 under 100 ms
with 100,000 stories in scope, on PostgreSQL).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<a database with a synthetic dataset> \\
        .venv/bin/python bench/workspace_scope.py [--seconds 10] [--rate 5] [--page 51]

The database must hold a synthetic dataset (``manage.py generate_synthetic``); its
subscriptions each cover one organisation (South Tees, the biggest, ~8% of the stories). This
adds one, ``BENCH-WHOLE``, scoped to every open root of the service tree (so every published
story is in scope), with one responder (``staff_add``) and a finished staff sign-in
(``benchprep._session_for``). Then, as ``bench/run.py`` does: production settings, gunicorn
with 2 sync workers on 127.0.0.1:BENCH_PORT (8766), requests with ``X-Forwarded-Proto:
https``. Four pages: ``/staff/`` and ``/staff/?min_criticality=2&answered=no`` (two filters),
each first page and page ``--page`` (its keyset cursor, found with the workspace's own
selector). Each page: one probe (queries, SQL time, view time), then light concurrency for
``--seconds``: wrk with 2 connections (one per worker, closed loop) and an open loop at
``--rate`` requests a second (``run.open_loop``); p50/p95/p99 of each. Then the slowest
queries of each page with EXPLAIN (ANALYZE, BUFFERS) (``explain.explain_pages``, in this
process). Writes bench/results/<date>-workspace-scope.json and -workspace-scope-explain.md;
the subscription is left in place (reused by the next run).
"""

# ruff: noqa: S607

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if not os.environ.get("DATABASE_URL"):
    raise SystemExit("set DATABASE_URL to a PostgreSQL database holding a synthetic dataset")
os.environ.setdefault("BENCH_PORT", "8766")
os.environ["DJANGO_SETTINGS_MODULE"] = "carestory.settings"
# The session made here must be valid in gunicorn: one throwaway SECRET_KEY for both.
SECRET = secrets.token_urlsafe(48)
os.environ["SECRET_KEY"] = SECRET

from bench import run  # noqa: E402
from bench.explain import explain_pages  # noqa: E402  (sets Django up in this process)

CODE = "BENCH-WHOLE"
RESPONDER = "responder@workspace-bench.carestory.invalid"
FILTERS = "min_criticality=2&answered=no"


def prepare(page_no: int) -> dict[str, Any]:
    """The whole-tree subscription, its responder's session, and the cursors of page
    ``page_no`` of the plain and the filtered list."""
    from carestory.services.models import Service
    from carestory.stories.models import Story
    from carestory.subscriptions.models import Membership, Subscription
    from carestory.subscriptions.services import staff_add, subscription_create
    from carestory.synthetic.benchprep import _session_for
    from carestory.workspace.forms import WorkspaceFilterForm
    from carestory.workspace.selectors import workspace_page, workspace_scope
    from carestory.workspace.services import workspace_filters_clean

    subscription = Subscription.objects.filter(code=CODE).first()
    if subscription is None:
        roots = list(Service.objects.filter(parent__isnull=True, is_open=True))
        subscription = subscription_create(code=CODE, name="Whole tree (bench)", scope=roots)
        staff_add(
            email=RESPONDER,
            subscription=subscription,
            role=Membership.Role.RESPONDER,
            password=secrets.token_urlsafe(24),
            full_name="Whole-tree Responder",
        )
    membership = Membership.objects.get(subscription=subscription, user__email=RESPONDER)
    user = membership.user
    scope = workspace_scope(user=user)
    in_scope = Story.objects.published().filter(
        pk__in=Story.services.through.objects.filter(service__in=scope.services()).values("story")
    )
    cursors = {}
    for key, query in (("plain", ""), ("filtered", FILTERS)):
        given = dict(p.split("=") for p in query.split("&") if p)
        form = WorkspaceFilterForm(given, staff_tag_choices=[])
        assert form.is_valid(), form.errors
        filters = workspace_filters_clean(scope=scope, given=form.given())
        after = None
        for _n in range(page_no - 1):
            page = workspace_page(scope=scope, filters=filters, after=after, size=20)
            after = page.older
            if after is None:
                break
        cursors[key] = after.encode() if after is not None else ""
    return {
        "session": _session_for(user),
        "roots": subscription.scope.count(),
        "stories_in_scope": in_scope.count(),
        "stories_published": Story.objects.published().count(),
        "cursors": cursors,
    }


def pages(targets: dict[str, Any], page_no: int) -> list[run.Page]:
    cookie = f"__Host-sessionid={targets['session']}"
    plain, filtered = targets["cursors"]["plain"], targets["cursors"]["filtered"]
    return [
        run.Page("ws", "`/staff/`", "/staff/", cookie=cookie),
        run.Page("ws_later", f"`/staff/?after=…` (page {page_no})", f"/staff/?after={plain}",
                 cookie=cookie),
        run.Page("ws_filtered", f"`/staff/?{FILTERS}`", f"/staff/?{FILTERS}", cookie=cookie),
        run.Page("ws_filtered_later", f"`/staff/?{FILTERS}&after=…` (page {page_no})",
                 f"/staff/?{FILTERS}&after={filtered}", cookie=cookie),
    ]  # fmt: skip


def measure(page: run.Page, *, seconds: int, rate: float, directory: Path) -> dict[str, Any]:
    probes = [run.probe(page) for _ in range(3)]
    probe = sorted(probes, key=lambda p: p.get("latency_ms", 0))[1]
    if probe.get("status") != 200:
        raise SystemExit(f"{page.path} answered {probe.get('status')}, not 200")
    closed = run.run_wrk(
        run.ensure_wrk(), page, connections=2, seconds=seconds, salt=1, directory=directory
    )
    run.wait_idle(30)
    opened = run.open_loop(page, rate, seconds)
    run.wait_idle(30)
    return {"probe": probe, "wrk_2_connections": closed, "open_loop": opened}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--page", type=int, default=51)
    args = parser.parse_args()
    targets = prepare(args.page)
    run.log(
        f"{targets['stories_in_scope']:,} of {targets['stories_published']:,} published "
        f"stories in scope ({targets['roots']} roots)"
    )
    measured_pages = pages(targets, args.page)
    env = run.server_env(SECRET)
    run.log("collectstatic")
    run.manage("collectstatic", "--no-input", env=env, timeout=600)
    (ROOT / "var").mkdir(exist_ok=True)
    proc = run.start_server(env, ROOT / "var" / "bench-workspace-gunicorn.log")
    results: dict[str, Any] = {}
    try:
        for page in measured_pages:
            run.probe(page)  # warm-up
        import tempfile

        with tempfile.TemporaryDirectory(prefix="carestory-ws-bench-") as tmp:
            for page in measured_pages:
                results[page.key] = measure(
                    page, seconds=args.seconds, rate=args.rate, directory=Path(tmp)
                )
                r = results[page.key]
                run.log(
                    f"{page.key:<18} probe {r['probe'].get('latency_ms')} ms "
                    f"(q {r['probe'].get('queries')}, sql {r['probe'].get('sql_ms')} ms, view "
                    f"{r['probe'].get('view_ms')} ms)  wrk-2 p95 "
                    f"{r['wrk_2_connections'].get('p95_ms')} ms  open-loop p95 "
                    f"{r['open_loop'].get('p95_ms')} ms"
                )
    finally:
        run.stop_server(proc)
    today = dt.date.today().isoformat()
    explain_out = ROOT / "bench" / "results" / f"{today}-workspace-scope-explain.md"
    lines = [
        f"# /staff/ with {targets['stories_in_scope']:,} stories in scope, {today}",
        "",
        "Each page run once in-process; the 2 slowest SELECTs of at least 5 ms explained. "
        "Made by `bench/workspace_scope.py`.",
        "",
    ]
    lines += explain_pages(measured_pages, top=2, min_ms=5.0)
    explain_out.write_text("\n".join(lines) + "\n")
    out = ROOT / "bench" / "results" / f"{today}-workspace-scope.json"
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    summary = {
        "date": today,
        "commit": commit,
        "cpus": os.cpu_count(),
        "gunicorn_workers": run.WORKERS,
        "seconds": args.seconds,
        "open_loop_rate": args.rate,
        "targets": {k: v for k, v in targets.items() if k != "session"},
        "pages": {p.key: {"label": p.label, **results[p.key]} for p in measured_pages},
    }
    out.write_text(json.dumps(summary, indent=1) + "\n")
    print("| page | probe ms | queries | SQL ms | view ms | wrk 2 conn: req/s, p50, p95, p99 ms "
          "| open loop: p50, p95, p99 ms |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for p in measured_pages:
        r = results[p.key]
        w, o, pr = r["wrk_2_connections"], r["open_loop"], r["probe"]
        print(
            f"| {p.label} | {pr.get('latency_ms')} | {pr.get('queries')} | {pr.get('sql_ms')} "
            f"| {pr.get('view_ms')} | {w.get('rps')}, {w.get('p50_ms')}, {w.get('p95_ms')}, "
            f"{w.get('p99_ms')} | {o.get('p50_ms')}, {o.get('p95_ms')}, {o.get('p99_ms')} |"
        )
    run.log(f"written {out.relative_to(ROOT)}, {explain_out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
