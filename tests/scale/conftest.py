"""A generated dataset for the plan tests, built once per module and removed at its end.

The rows come from the project's own generator (``carestory/synthetic``, what ``make bench``
loads), over the committed demo slice of the service tree: on those 48 services the big
organisations are *large* subtrees (over ``LARGE_SUBTREE_LINKS`` story links) at a test-sized
dataset, so their pages take the path a national site takes. (On the real tree a trust needs
about 70,000 stories to get there; below that its page reads its whole subtree by design,
which no bound under the table's size can tell from a regression.)

The dataset is committed and then vacuumed (``synthetic_analyze``: ``VACUUM (ANALYZE)``, as
``make bench`` does), because plans depend on it: without the visibility map an index-only
scan costs as much as an index scan, and the planner picks other plans than a production
database that autovacuum has seen. (Building it inside a transaction rolled back at the end
would be tidier, but VACUUM cannot run in one.) Each test still runs in its own transaction
(the ``db`` fixture), so sessions and rate-limit rows made by its requests are rolled back.
At the end of the module every table that was empty before it is truncated, so the rest of
the suite sees the database as it was (as after a transactional test's flush, but keeping the
rows the migrations made), and analysed again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.db import connection
from pytest_django import DjangoDbBlocker

from carestory.accounts.models import User
from carestory.reports.services import moderation_statistics_refresh
from carestory.services.demo import demo_postcodes_load, demo_tree_load
from carestory.services.models import Service
from carestory.stories.models import Story, StoryService, Tag
from carestory.stories.selectors import StoryCursor
from carestory.stories.services import story_counts_store
from carestory.stories.vocabulary import tags_ensure
from carestory.subscriptions.models import Membership
from carestory.synthetic.benchprep import busiest_gp_practice
from carestory.synthetic.generate import (
    DOMAIN,
    SUBSCRIPTION_PREFIX,
    synthetic_analyze,
    synthetic_generate,
)

STORIES = 30_000
"""Published stories generated (about 31,800 rows in stories_story with the other states)."""
SEED = 1


@dataclass(frozen=True)
class ScaleDataset:
    stories_rows: int  # every row of stories_story, whatever its state
    big: Service  # the organisation with the most stories (a large subtree)
    big_links: int  # story links in its subtree
    deep_cursor: str  # ``after`` for the page halfway down its stories
    gp: Service  # the GP practice with the most stories
    responder: User  # a responder of the big organisation's subscription
    moderator: User

    def format(self, path: str) -> str:
        return path.format(big=self.big.code, gp=self.gp.code, deep=self.deep_cursor)


def _empty_tables() -> list[str]:
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        empty = []
        for table in tables:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {connection.ops.quote_name(table)})")  # noqa: S608
            if not cursor.fetchone()[0]:
                empty.append(table)
    return empty


def _truncate(tables: list[str]) -> None:
    """Empty these tables again (one statement, so foreign keys between them are no obstacle;
    without CASCADE, so a table that was not empty before is never touched)."""
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(connection.ops.quote_name(t) for t in tables)}")
        cursor.execute("ANALYZE")


def _links(service: Service) -> int:
    return StoryService.objects.filter(service__in=Service.objects.subtree_of(service)).count()


def _build() -> ScaleDataset:
    tags_ensure(Tag)  # a transactional test before this module may have flushed them
    demo_tree_load()
    demo_postcodes_load()
    synthetic_generate(stories=STORIES, seed=SEED)
    roots = list(Service.objects.filter(parent=None, is_open=True).order_by("code"))
    big = max(roots, key=_links)
    # What the worker keeps: a large subtree's counts (job ``stories.recount``; without them
    # the page shows none and asks) and the moderation statistics (periodic task
    # ``reports.moderation_statistics``; without them the page says they are being prepared).
    story_counts_store(service=big)
    moderation_statistics_refresh()
    synthetic_analyze()

    in_big = (
        Story.objects.published()
        .filter(
            pk__in=StoryService.objects.filter(service__in=Service.objects.subtree_of(big)).values(
                "story"
            )
        )
        .order_by("-published_at", "-id")
    )
    deep = in_big[in_big.count() // 2]
    gp = busiest_gp_practice()
    assert gp is not None, "the generator gave no GP practice a story"
    responder = (
        User.objects.filter(
            email__endswith=f"@{DOMAIN}",
            memberships__role=Membership.Role.RESPONDER,
            memberships__subscription__code=f"{SUBSCRIPTION_PREFIX}{big.code}"[:20],
        )
        .order_by("email")
        .first()
    )
    moderator = (
        User.objects.filter(email__endswith=f"@{DOMAIN}", is_moderator=True)
        .order_by("email")
        .first()
    )
    assert responder is not None and moderator is not None, "no synthetic staff"
    return ScaleDataset(
        stories_rows=Story.objects.count(),
        big=big,
        big_links=_links(big),
        deep_cursor=StoryCursor.of(deep).encode(),
        gp=gp,
        responder=responder,
        moderator=moderator,
    )


@pytest.fixture(scope="module")
def scale_dataset(
    django_db_setup: None, django_db_blocker: DjangoDbBlocker
) -> Iterator[ScaleDataset]:
    """The dataset, for every test of the module; removed when the module ends."""
    if connection.vendor != "postgresql":
        pytest.skip("the plan tests need PostgreSQL (EXPLAIN ANALYZE, the generator's COPY)")
    with django_db_blocker.unblock():
        empty = _empty_tables()
        try:
            yield _build()
        finally:
            _truncate(empty)
