"""No list page reads a whole table: the plan of every query a page runs, on a generated
dataset (issue 8; PostgreSQL only).

Query counts can stay flat while query cost explodes: at a million stories an annotation over
a join of every row, sorted before the LIMIT, took seconds, with the same four queries as on
an empty database. Tests assert no timings (``make bench`` measures), so this module asserts
the structure of the plans instead. It builds a dataset with the project's generator
(conftest.py: 30,000 published stories over the demo slice), requests each list page as the
person who sees it, runs ``EXPLAIN (ANALYZE, FORMAT JSON)`` on every SELECT the request ran,
and asserts three things a whole-table plan cannot pass:

* **rows read**: for every scan node, the rows it returned plus the rows its filter or
  recheck removed, times its loops, summed over all the page's SELECTs, stay under the page's
  bound. The bounds are constants of the design, not of the data. A page that is not about a
  subtree (home, lists, feed, API, moderation queue and statistics, searches) reads a few
  rows per listed item: LIST_BOUND. A page about a subtree (a service, a staff member's
  scope) first counts up to ``LARGE_SUBTREE_LINKS`` story links (an index-only count that
  stops there) to choose its path, then reads about a page's worth: SUBTREE_BOUND. The
  stories table holds over three times the larger bound (``test_the_dataset_can_tell``), so
  reading it whole fails;
* **no big sort**: no Sort node sorts more rows than the bound (the shape of the old
  regressions: every row of a subtree or table sorted before the LIMIT);
* **indexes**: tables that grow with the data are read through an index; a Seq Scan is
  allowed only on the small tables of SEQ_SCAN_ALLOWED, each with its reason.

A failure prints the page's queries, heaviest first, with their scans, sorts and SQL; the
same report for passing pages is shown by ``pytest -rP``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from carestory.stories.selectors import LARGE_SUBTREE_LINKS, subtree_is_large
from tests.scale.conftest import ScaleDataset

pytestmark = [
    pytest.mark.scale,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="plans are PostgreSQL's (EXPLAIN ANALYZE); CI's PostgreSQL leg runs these",
    ),
]

LIST_BOUND = 2_000
"""The most rows any other list page may read in all: up to 100 stories (or services) with
their tags, services and response counts, a few rows each, and the page's small lookups."""
SUBTREE_BOUND = 2 * LARGE_SUBTREE_LINKS
"""The most rows a page about a subtree may read in all (10,000): the count that chooses the
path (5,000 index entries at most), then its page of stories, by either path."""

SEQ_SCAN_ALLOWED = {
    # Table: why the planner may read it whole here.
    "services_service": "the demo slice's tree is 48 services (a national tree is not)",
    "services_postcode": "the demo slice's 155 postcodes",
    "stories_tag": "the fixed vocabulary of tags, from a migration",
    "subscriptions_subscription": "a few subscriptions per organisation, not per story",
    "subscriptions_subscription_scope": "a few subscriptions per organisation, not per story",
    "subscriptions_membership": "the staff of those few subscriptions",
    "stories_servicestorycounts": "one row per large subtree, kept by the worker",
    "reports_moderationsnapshot": "the moderation statistics' one snapshot",
    "reports_moderationsnapshotwindow": "the few windows of that snapshot",
    "pagecache_pagegeneration": "one row, the page cache's generation",
    "django_content_type": "one row per model",
    # Looked up by unique keys, but the generator makes none: a row or two made by the test.
    "django_session": "the test's own sign-in",
    "accounts_ratelimitbucket": "the test's own requests",
    # The workspace's own records, which the generator does not make (no one has read, tagged,
    # been alerted about or saved anything): an empty table is read whole whatever its index.
    "workspace_storyread": "empty in the generated data (indexed by story, user)",
    "workspace_storyheard": "empty in the generated data (indexed by story, subscription)",
    "workspace_stafftag": "empty in the generated data (indexed by story and by slug)",
    "workspace_savedsearch": "empty in the generated data (indexed by user, name)",
    # The generator asks a question of each story waiting for its author: a handful.
    "moderation_authorquestion": "a handful of questions to authors",
}


# --- Reading plans ---------------------------------------------------------------------------

SCAN_NODES = frozenset(
    {
        "Seq Scan",
        "Index Scan",
        "Index Only Scan",
        "Bitmap Heap Scan",  # with the index entries its Bitmap Index Scans found
        "Tid Scan",
        "Tid Range Scan",
        "Sample Scan",
    }
)
SORT_NODES = frozenset({"Sort", "Incremental Sort"})


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of a plan, InitPlans and SubPlans included."""
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _rows_read(node: dict[str, Any]) -> int:
    """Rows a scan node looked at: returned plus removed by its filter or recheck, times its
    loops (EXPLAIN gives the row figures per loop)."""
    per_loop: float = (
        node.get("Actual Rows", 0)
        + node.get("Rows Removed by Filter", 0)
        + node.get("Rows Removed by Index Recheck", 0)
    )
    loops: float = node.get("Actual Loops", 0)
    return round(per_loop * loops)


def _rows_out(node: dict[str, Any]) -> float:
    """Rows a node produced over all its loops."""
    return float(node.get("Actual Rows", 0)) * float(node.get("Actual Loops", 0))


@dataclass
class Scan:
    node: str
    relation: str
    index: str
    rows: int
    loops: int

    def __str__(self) -> str:
        on = self.relation + (f" using {self.index}" if self.index else "")
        return f"{self.node} on {on}: {self.rows:,} rows in {self.loops:,} loop(s)"


@dataclass
class QueryPlan:
    sql: str
    ms: float
    scans: list[Scan] = field(default_factory=list)
    sorts: list[int] = field(default_factory=list)  # rows into each sort, per execution

    @property
    def rows_read(self) -> int:
        return sum(scan.rows for scan in self.scans)

    @property
    def seq_scans(self) -> list[Scan]:
        return [s for s in self.scans if s.node == "Seq Scan" and s.loops]

    def summary(self, sql_chars: int = 1500) -> str:
        lines = [f"  {self.rows_read:,} rows read, {self.ms:.1f} ms, sorts of {self.sorts}:"]
        lines += [f"    {scan}" for scan in sorted(self.scans, key=lambda s: -s.rows)]
        sql = self.sql if len(self.sql) <= sql_chars else self.sql[:sql_chars] + " [...]"
        lines.append(f"    SQL: {sql}")
        return "\n".join(lines)


def explain(sql: str) -> QueryPlan:
    """Run the query again under EXPLAIN (ANALYZE, FORMAT JSON) and read its plan. ``sql`` is
    what Django sent: psycopg binds parameters on the client, so it holds their values."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
        (raw,) = cursor.fetchone()
    document = (json.loads(raw) if isinstance(raw, str) else raw)[0]
    plan = QueryPlan(sql=sql, ms=float(document.get("Execution Time", 0.0)))
    for node in _nodes(document["Plan"]):
        kind = node["Node Type"]
        if kind in SCAN_NODES:
            rows = _rows_read(node)
            if kind == "Bitmap Heap Scan":
                # The bitmap's index scans may read more entries than the heap rows they
                # leave (an AND of two): count the larger of the two stages.
                entries = sum(
                    _rows_read(n)
                    for n in _nodes(node["Plans"][0])
                    if n["Node Type"] == "Bitmap Index Scan"
                )
                rows = max(rows, entries)
            plan.scans.append(
                Scan(
                    node=kind,
                    relation=node.get("Relation Name", "?"),
                    index=node.get("Index Name", ""),
                    rows=rows,
                    loops=int(node.get("Actual Loops", 0)),
                )
            )
        elif kind in SORT_NODES:
            child = node["Plans"][0]
            executions = max(int(node.get("Actual Loops", 0)), 1)
            plan.sorts.append(round(_rows_out(child) / executions))
    return plan


@dataclass
class PageRun:
    path: str
    bound: int
    status: int
    queries: int
    plans: list[QueryPlan]

    @property
    def rows_read(self) -> int:
        return sum(p.rows_read for p in self.plans)

    def report(self, problem: str) -> str:
        heaviest = sorted(self.plans, key=lambda p: (-p.rows_read, -max(p.sorts, default=0)))
        lines = [
            f"GET {self.path}: {problem}",
            f"{self.queries} queries ({len(self.plans)} SELECTs explained), "
            f"{self.rows_read:,} rows read in all (bound {self.bound:,}). Heaviest first:",
        ]
        lines += [plan.summary() for plan in heaviest[:6]]
        return "\n".join(lines)


def run_page(client: Client, path: str, bound: int) -> PageRun:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    plans = [
        explain(query["sql"])
        for query in captured.captured_queries
        if query["sql"].lstrip()[:6].upper() == "SELECT"
    ]
    return PageRun(
        path=path, bound=bound, status=response.status_code, queries=len(captured), plans=plans
    )


# --- The pages -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    path: str  # formatted with the dataset: {big}, {gp}, {deep}
    persona: str = "anonymous"  # or "responder" (of the big organisation), "moderator"
    older: bool = False  # follow the page's "older stories" link and measure that page
    reads: str = "stories_story"  # a table the page must read (so it cannot pass empty)
    bound: int = LIST_BOUND


PAGES = {
    "home": Page("/"),
    "story_list": Page("/stories/"),
    "feed": Page("/stories/feed.atom"),
    "api_list": Page("/api/v1/stories"),
    "api_list_100": Page("/api/v1/stories?limit=100"),
    "service_big": Page("/services/{big}/", bound=SUBTREE_BOUND),
    "service_big_page_2": Page("/services/{big}/", older=True, bound=SUBTREE_BOUND),
    "service_big_deep": Page("/services/{big}/?after={deep}", bound=SUBTREE_BOUND),
    "service_gp": Page("/services/{gp}/", bound=SUBTREE_BOUND),
    "staff": Page("/staff/", persona="responder", bound=SUBTREE_BOUND),
    "staff_page_2": Page("/staff/", persona="responder", older=True, bound=SUBTREE_BOUND),
    # The workspace's filters (each an indexed semi-join or EXISTS) and its critical-first order.
    "staff_filtered": Page(
        "/staff/?min_criticality=2&answered=no&read=no&sort=critical",
        persona="responder",
        bound=SUBTREE_BOUND,
    ),
    "staff_filtered_page_2": Page(
        "/staff/?min_criticality=2&answered=no&read=no&sort=critical",
        persona="responder",
        older=True,
        bound=SUBTREE_BOUND,
    ),
    "staff_progress": Page("/staff/?progress=0", persona="responder", bound=SUBTREE_BOUND),
    "moderation_queue": Page("/moderation/", persona="moderator"),
    "statistics": Page("/statistics/moderation/", reads="reports_moderationsnapshot"),
    "search": Page("/services/?q=hospital", reads="services_service"),
    "search_postcode": Page("/services/?q=TS18+1HU", reads="services_service"),
    "suggest": Page("/services/suggest?q=lee", reads="services_service"),
}


def _client(dataset: ScaleDataset, persona: str) -> Client:
    client = Client()
    if persona == "responder":
        client.force_login(dataset.responder)
    elif persona == "moderator":
        client.force_login(dataset.moderator)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("key", PAGES)
def test_page_reads_a_bounded_number_of_rows(scale_dataset: ScaleDataset, key: str) -> None:
    page = PAGES[key]
    client = _client(scale_dataset, page.persona)
    path = scale_dataset.format(page.path)
    if page.older:
        first = client.get(path)
        assert first.status_code == 200
        older = first.context["older_url"]
        assert older, f"{path} has no older page: the dataset is too small for this test"
        path = path.split("?")[0] + older

    run = run_page(client, path, page.bound)
    print(run.report("the plans"))  # shown for passing pages by pytest -rP

    assert run.status == 200, f"GET {path} answered {run.status}"
    assert run.plans, run.report("no SELECT ran: was the page served from a cache?")
    assert any(s.relation == page.reads for plan in run.plans for s in plan.scans), run.report(
        f"no query read {page.reads}: was the page served from a cache?"
    )
    assert run.rows_read <= page.bound, run.report(
        f"read {run.rows_read:,} rows, over the bound of {page.bound:,}"
    )
    big_sorts = [n for plan in run.plans for n in plan.sorts if n > page.bound]
    assert not big_sorts, run.report(f"sorts {big_sorts} rows, over {page.bound:,}")
    unindexed = sorted(
        {s.relation for plan in run.plans for s in plan.seq_scans} - SEQ_SCAN_ALLOWED.keys()
    )
    assert not unindexed, run.report(f"reads {', '.join(unindexed)} without an index")


@pytest.mark.django_db
def test_the_dataset_can_tell(scale_dataset: ScaleDataset) -> None:
    """A plan that reads the stories table whole reads over three times SUBTREE_BOUND, and
    the big organisation's pages take the large-subtree path (walking the newest-first
    index)."""
    assert scale_dataset.stories_rows >= 3 * SUBTREE_BOUND
    assert subtree_is_large(scale_dataset.big)
    assert scale_dataset.big_links > LARGE_SUBTREE_LINKS


@pytest.mark.django_db
def test_a_whole_table_plan_fails_the_bound(scale_dataset: ScaleDataset) -> None:
    """The measure sees the regression it is for: the old story list (every published story
    with its response count, grouped and sorted before the LIMIT)."""
    plan = explain(
        "SELECT s.id, COUNT(r.id) AS n FROM stories_story s "
        "LEFT JOIN responses_response r ON r.story_id = s.id "
        "WHERE s.status = 'published' GROUP BY s.id "
        "ORDER BY s.published_at DESC, s.id DESC LIMIT 21"
    )
    assert plan.rows_read > SUBTREE_BOUND
    assert max(plan.sorts) > SUBTREE_BOUND
