"""The workspace's scope as one array condition (PostgreSQL) and its cursor as a row comparison
give the same pages as the plain ORM form they replaced: an OR of one ``path LIKE`` per root
and an OR of column comparisons after the cursor. Run on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from carestory.services.models import Service
from carestory.stories.models import Story, StoryService
from carestory.subscriptions.models import Membership
from carestory.workspace import selectors
from carestory.workspace.selectors import (
    Filters,
    Scope,
    Sort,
    WorkspaceCursor,
    workspace_page,
    workspace_scope,
)
from conftest import World
from tests.factories import MembershipFactory, ServiceFactory, StoryFactory

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime(2026, 6, 15, 12, 0))


def _before_after(cursor: WorkspaceCursor, sort: str) -> Q:
    """The cursor condition as it was written before the row comparison."""
    at, pk = cursor.published_at, cursor.id
    later = Q(published_at__lt=at) | Q(published_at=at, pk__lt=pk)
    if sort != Sort.CRITICAL:
        return later
    if cursor.criticality is None:
        return Q(criticality__isnull=True) & later
    c = cursor.criticality
    return Q(criticality__lt=c) | Q(criticality__isnull=True) | (Q(criticality=c) & later)


def _before_query(scope: Scope, filters: Filters) -> Any:
    """The stories of the filters the test uses, in the page order, with the scope as an OR
    of one ``path LIKE`` per root (``Service.objects.subtrees_of``)."""

    def about(services: Any) -> Q:
        return Q(pk__in=StoryService.objects.filter(service__in=services).values("story"))

    qs = Story.objects.published().filter(about(Service.objects.subtrees_of(scope.roots)))
    if filters.service is not None:
        qs = qs.filter(about(Service.objects.subtree_of(filters.service)))
    if filters.published_from is not None:
        start = timezone.make_aware(datetime.combine(filters.published_from, datetime.min.time()))
        qs = qs.filter(published_at__gte=start)
    if filters.min_criticality is not None:
        qs = qs.filter(criticality__gte=filters.min_criticality)
    if filters.sort == Sort.CRITICAL:
        return qs.order_by(F("criticality").desc(nulls_last=True), "-published_at", "-id")
    return qs.order_by("-published_at", "-id")


@pytest.fixture(params=["roots-or", "roots-array"])
def busy_world(request: pytest.FixtureRequest, world: World) -> World:
    """Stories under three roots the responder's two memberships cover, one outside, with
    published_at and rating ties, and unrated stories; the scope as an OR of one condition a
    root, or (on PostgreSQL) as one array condition."""
    third = ServiceFactory(code="RZZ", name="Third NHS Trust", kind="trust")
    world.other_subscription.scope.add(third)
    MembershipFactory(
        user=world.responder,
        subscription=world.other_subscription,
        role=Membership.Role.RESPONDER,
    )
    outside = ServiceFactory(code="RQQ", name="Outside NHS Trust", kind="trust")
    places = [world.ward, world.hospital, world.other_ward, third, outside]
    ratings = [None, 0, 1, 2, 3, 4, 5, 2, 5, None, 3]
    for i in range(44):
        # Every third story shares its published_at with the one before: ties go by id.
        at = NOW - timedelta(hours=(i - i // 3) * 7)
        services = [places[i % len(places)]]
        if i % 7 == 0:
            services.append(places[(i + 2) % len(places)])
        StoryFactory(
            published=True,
            services=services,
            published_at=at,
            criticality=ratings[i % len(ratings)],
        )
    StoryFactory(in_moderation=True, services=[world.ward])
    if request.param == "roots-array":  # the array form from 2 roots (on PostgreSQL)
        request.getfixturevalue("monkeypatch").setattr(selectors, "LIKE_ANY_FROM_ROOTS", 2)
    return world


def _walk(scope: Scope, filters: Filters, size: int) -> list[list[int]]:
    pages: list[list[int]] = []
    after: WorkspaceCursor | None = None
    for _ in range(100):
        page = workspace_page(scope=scope, filters=filters, after=after, size=size)
        ids = [s.pk for s in page.stories]
        if after is not None:
            # The same page through the old cursor condition.
            before = _before_query(scope, filters).filter(_before_after(after, filters.sort))
            assert ids == list(before.values_list("pk", flat=True)[:size])
        pages.append(ids)
        if page.older is None:
            return pages
        after = WorkspaceCursor.decode(page.older.encode())
    raise AssertionError("the keyset walk did not end")


@pytest.mark.parametrize("sort", [Sort.NEWEST, Sort.CRITICAL])
@pytest.mark.parametrize(
    "given",
    [
        {},
        {"min_criticality": 2},
        {"published_from": (NOW - timedelta(days=4)).date()},
        {"service": "hospital"},
        {"service": "other_trust", "min_criticality": 1},
    ],
    ids=["none", "rating", "from", "service", "service-and-rating"],
)
def test_pages_are_the_same_as_with_the_plain_orm_conditions(
    busy_world: World, sort: str, given: dict[str, Any]
) -> None:
    if "service" in given:
        given = given | {"service": getattr(busy_world, given["service"])}
    filters = Filters(sort=sort, **given)
    scope = workspace_scope(user=busy_world.responder)
    assert len(scope.roots) == 3
    expected = list(_before_query(scope, filters).values_list("pk", flat=True))
    assert len(expected) >= 5  # each case pages more than once
    pages = _walk(scope, filters, size=4)
    assert [pk for page in pages for pk in page] == expected
    assert all(len(page) == 4 for page in pages[:-1])


def test_the_scope_is_the_roots_subtrees(busy_world: World) -> None:
    scope = workspace_scope(user=busy_world.responder)
    old = set(Service.objects.subtrees_of(scope.roots).values_list("pk", flat=True))
    assert set(scope.services().values_list("pk", flat=True)) == old
    array = connection.vendor == "postgresql" and len(scope.roots) >= selectors.LIKE_ANY_FROM_ROOTS
    assert ("LIKE ANY(" in str(scope.services().query)) == array
    assert busy_world.other_ward.pk in old
    assert not Service.objects.filter(code="RQQ", pk__in=old).exists()


def test_up_to_the_last_possible_day_is_every_story(busy_world: World) -> None:
    scope = workspace_scope(user=busy_world.responder)
    everything = workspace_page(scope=scope, filters=Filters(), size=100).stories
    last = Filters(published_to=date.max)
    assert workspace_page(scope=scope, filters=last, size=100).stories == everything
    first = Filters(published_from=date.min, published_to=date.max)
    assert workspace_page(scope=scope, filters=first, size=100).stories == everything
