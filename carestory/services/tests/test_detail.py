"""The public service page: content, counts, filters, keyset pagination, redirects."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from carestory.accounts.models import User
from carestory.responses.models import ModerationStatus
from carestory.services.models import Service
from carestory.services.services import service_describe, service_merge
from carestory.stories.models import Story, StoryTag, Tag
from carestory.subscriptions.models import Membership
from conftest import World
from tests.factories import (
    MembershipFactory,
    ResponseFactory,
    ServiceFactory,
    StoryFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)


def page(client: Client, service: Service, **params: str) -> Any:
    return client.get(reverse("services:detail", args=[service.code]), params)


def text(response: Any) -> str:
    return " ".join(response.content.decode().split())


def site_staff() -> User:
    return UserFactory(moderator=True, is_senior_moderator=True)


def test_page_shows_what_and_where_the_service_is(client: Client, world: World) -> None:
    Service.objects.filter(pk=world.hospital.pk).update(
        address="1 River Road, Riverside", postcode="RV1 2AB", latitude=54.5, longitude=-1.25
    )
    body = text(page(client, world.hospital))
    assert "<h1>Riverside Hospital</h1>" in body
    assert "Hospital" in body  # the type
    assert "1 River Road, Riverside RV1 2AB" in body
    assert (
        'href="https://www.openstreetmap.org/?mlat=54.500000&amp;mlon=-1.250000'
        '#map=16/54.500000/-1.250000"' in body
    )
    assert "<iframe" not in body  # a link, never embedded third-party content
    # Breadcrumbs to the root, and the service below it.
    crumbs = body.split('class="nhsuk-breadcrumb"')[1].split("</nav>")[0]
    assert world.trust.get_absolute_url() in crumbs and "Riverside NHS Trust" in crumbs
    children = body.split('id="children"')[1].split("</ul>")[0]
    assert "Ward 1" in children and world.ward.get_absolute_url() in children


def test_no_map_link_without_coordinates(client: Client, world: World) -> None:
    body = text(page(client, world.ward))
    assert "openstreetmap" not in body


def test_breadcrumbs_of_a_deep_service_go_to_the_root(client: Client, world: World) -> None:
    body = text(page(client, world.ward))
    crumbs = body.split('class="nhsuk-breadcrumb"')[1].split("</nav>")[0]
    assert crumbs.index("Riverside NHS Trust") < crumbs.index("Riverside Hospital")
    assert "Ward 1" not in crumbs


def test_closed_service_says_so_and_offers_no_story_button(client: Client, world: World) -> None:
    StoryFactory(published=True, services=[world.closed], title="An old visit")
    body = text(page(client, world.closed))
    assert "This service has closed" in body
    assert reverse("stories:tell") not in body.split("</header>")[1]
    assert "An old visit" in body  # its stories stay
    open_body = text(page(client, world.ward))
    assert f"{reverse('stories:tell')}?service=RXX01-W1" in open_body
    assert "This service has closed" not in open_body


def test_counts_and_share_answered_cover_the_subtree(client: Client, world: World) -> None:
    # About the ward and the hospital at once: counted once.
    both = StoryFactory(published=True, services=[world.ward, world.hospital])
    ResponseFactory(story=both, published=True, subscription=world.subscription)
    # A response still in moderation does not answer a story.
    waiting = StoryFactory(published=True, services=[world.hospital])
    ResponseFactory(story=waiting, subscription=world.subscription)
    twice = StoryFactory(published=True, services=[world.ward])
    ResponseFactory(story=twice, published=True, subscription=world.subscription)
    ResponseFactory(story=twice, published=True, subscription=world.subscription)
    StoryFactory(services=[world.ward])  # not published
    elsewhere = StoryFactory(published=True, services=[world.other_ward])
    ResponseFactory(story=elsewhere, published=True, subscription=world.other_subscription)

    counts = text(page(client, world.trust)).split('id="counts"')[1].split("</ul>")[0]
    assert "3 stories published" in counts
    assert "3 responses published" in counts
    assert "67% of stories have a published response" in counts

    ward = text(page(client, world.ward)).split('id="counts"')[1].split("</ul>")[0]
    assert "2 stories published" in ward and "100% of stories" in ward


def test_no_share_when_there_are_no_stories(client: Client, world: World) -> None:
    body = text(page(client, world.ward))
    assert "0 stories published" in body
    assert "% of stories" not in body


def test_description_is_the_organisations_and_inherited(client: Client, world: World) -> None:
    service_describe(
        actor=world.admin,
        service=world.trust,
        description="We run Riverside's hospitals.",
        website="https://riverside.example/",
    )
    ward = text(page(client, world.ward))
    assert "We run Riverside&#x27;s hospitals." in ward
    assert 'href="https://riverside.example/"' in ward
    # A service with its own words shows them instead; the website is still inherited.
    service_describe(
        actor=world.admin, service=world.hospital, description="Our hospital.", website=""
    )
    ward = text(page(client, world.ward))
    assert "Our hospital." in ward and "We run Riverside" not in ward
    assert 'href="https://riverside.example/"' in ward


def test_description_only_while_a_subscription_covers_it(client: Client, world: World) -> None:
    loner = ServiceFactory(code="RZZ", kind="trust")
    Service.objects.filter(pk=loner.pk).update(description="Unsubscribed words.")
    assert "Unsubscribed words." not in text(page(client, loner))
    Service.objects.filter(pk=world.trust.pk).update(description="Subscribed words.")
    assert "Subscribed words." in text(page(client, world.ward))
    world.subscription.is_active = False
    world.subscription.save()
    assert "Subscribed words." not in text(page(client, world.ward))


def test_manage_link_only_for_those_who_may_manage(client: Client, world: World) -> None:
    url = reverse("services_manage:home", args=[world.ward.code])
    assert url not in text(page(client, world.ward))
    for user in [world.reader, world.responder, world.member, world.moderator]:
        client.force_login(user)
        assert url not in text(page(client, world.ward)), user
    other_admin = MembershipFactory(
        subscription=world.other_subscription, role=Membership.Role.ADMINISTRATOR
    ).user
    client.force_login(other_admin)
    assert url not in text(page(client, world.ward))
    for user in [world.admin, site_staff()]:
        client.force_login(user)
        assert url in text(page(client, world.ward))


def test_stories_newest_first_for_the_whole_subtree(client: Client, world: World) -> None:
    StoryFactory(published=True, published_at=T0, services=[world.ward], title="Ward story")
    StoryFactory(
        published=True, published_at=T0 + timedelta(days=1), services=[world.hospital], title="H"
    )
    StoryFactory(published=True, published_at=T0, services=[world.other_ward], title="Elsewhere")
    StoryFactory(services=[world.ward], title="Not yet published")
    body = text(page(client, world.trust))
    assert "Ward story" in body and "Elsewhere" not in body and "Not yet published" not in body
    assert body.index(">H</a>") < body.index("Ward story")


def _tag(story: Story, slug: str) -> None:
    StoryTag.objects.create(story=story, tag=Tag.objects.get(slug=slug), polarity=1)


def test_filter_by_tag(client: Client, world: World) -> None:
    food = StoryFactory(published=True, services=[world.ward], title="About the food")
    _tag(food, "food")
    StoryFactory(published=True, services=[world.ward], title="About parking")
    result = page(client, world.trust, tag="food")
    assert result.status_code == 200
    body = text(result)
    assert "About the food" in body and "About parking" not in body
    assert "Clear filters" in body


def test_filter_by_dates_includes_both_days(client: Client, world: World) -> None:
    for day, title in [(1, "January"), (40, "February"), (70, "March")]:
        StoryFactory(
            published=True,
            published_at=datetime(2024, 1, 1, 12, tzinfo=UTC) + timedelta(days=day - 1),
            services=[world.ward],
            title=title,
        )
    body = text(page(client, world.ward, **{"from": "2024-02-09", "to": "2024-02-09"}))
    assert "February" in body and "January" not in body and "March" not in body
    body = text(page(client, world.ward, **{"from": "09/02/2024"}))
    assert "February" in body and "March" in body and "January" not in body
    body = text(page(client, world.ward, to="2024-02-08"))
    assert "January" in body and "February" not in body


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2024-02-30"}, "Enter the &#x27;from&#x27; date as a real date"),
        ({"to": "next tuesday"}, "Enter the &#x27;to&#x27; date as a real date"),
        (
            {"from": "2024-03-01", "to": "2024-02-01"},
            "The &#x27;to&#x27; date must be the same as or after the &#x27;from&#x27; date",
        ),
        ({"from": "0001-01-01"}, "between the years 1900 and 2999"),
        ({"tag": "no-such-tag"}, "Choose a tag from the list"),
        ({"after": "not-a-cursor"}, "This page link is not valid"),
        ({"before": "99999999999999999999.1"}, "This page link is not valid"),
    ],
)
def test_bad_filters_get_a_specific_message(
    client: Client, world: World, params: dict[str, str], message: str
) -> None:
    StoryFactory(published=True, published_at=T0, services=[world.ward], title="Still listed")
    result = page(client, world.ward, **params)
    assert result.status_code == 400
    body = text(result)
    assert "There is a problem" in body and message in body
    assert "Still listed" in body  # the page still works, unfiltered


def _walk(client: Client, service: Service, direction: str, **start: str) -> list[list[int]]:
    """Follow "Older stories" (or "Newer stories") links; the ids on each page."""
    pages: list[list[int]] = []
    params: dict[str, str] = dict(start)
    for _ in range(50):
        result = page(client, service, **params)
        assert result.status_code == 200
        pages.append([s.pk for s in result.context["page"].stories])
        link = result.context[f"{direction}_url"]
        if not link:
            return pages
        assert link.startswith("?")
        params = dict(re.findall(r"([^?&=]+)=([^&]*)", link))
    raise AssertionError("pagination did not end")


def test_keyset_pages_have_no_gaps_or_duplicates(client: Client, world: World) -> None:
    # 47 stories in runs sharing one published_at, so the id must break the ties.
    for n in range(47):
        StoryFactory(
            published=True,
            published_at=T0 - timedelta(hours=n // 6),
            services=[world.ward if n % 2 else world.hospital],
        )
    expected = list(
        Story.objects.published().order_by("-published_at", "-id").values_list("pk", flat=True)
    )
    older = _walk(client, world.trust, "older")
    assert [len(p) for p in older] == [20, 20, 7]
    assert [pk for p in older for pk in p] == expected

    # And back again from the last page, with "Newer stories".
    last = page(client, world.trust, after=_cursor_of(older[1][-1]))
    assert [s.pk for s in last.context["page"].stories] == older[2]
    newer_link = last.context["newer_url"]
    newer = _walk(
        client, world.trust, "newer", **dict(re.findall(r"([^?&=]+)=([^&]*)", newer_link))
    )
    assert newer == [older[1], older[0]]


def _cursor_of(pk: int) -> str:
    from carestory.stories.selectors import StoryCursor

    return StoryCursor.of(Story.objects.get(pk=pk)).encode()


def test_keyset_links_keep_the_filters(client: Client, world: World) -> None:
    for n in range(30):
        story = StoryFactory(
            published=True, published_at=T0 - timedelta(minutes=n), services=[world.ward]
        )
        if n % 5:
            _tag(story, "food")
    first = page(client, world.ward, tag="food", **{"from": "2024-03-01"})
    older = first.context["older_url"]
    assert "tag=food" in older and "from=2024-03-01" in older and "after=" in older
    pages = _walk(client, world.ward, "older", tag="food", **{"from": "2024-03-01"})
    ids = [pk for p in pages for pk in p]
    assert len(ids) == len(set(ids)) == 24
    assert set(ids) == set(
        StoryTag.objects.filter(tag__slug="food").values_list("story_id", flat=True)
    )


def test_pages_use_no_offset(client: Client, world: World) -> None:
    for n in range(25):
        StoryFactory(published=True, published_at=T0 - timedelta(minutes=n), services=[world.ward])
    first = page(client, world.trust)
    with CaptureQueriesContext(connection) as queries:
        second = client.get(reverse("services:detail", args=["RXX"]) + first.context["older_url"])
    assert len(second.context["page"].stories) == 5
    assert not [q for q in queries.captured_queries if "OFFSET" in q["sql"].upper()]


def _busy_subtree(world: World, stories: int) -> None:
    for n in range(stories):
        story = StoryFactory(
            published=True,
            published_at=T0 - timedelta(minutes=n),
            services=[world.ward, world.hospital] if n % 3 else [world.ward],
        )
        _tag(story, "food")
        ResponseFactory(story=story, published=True, subscription=world.subscription)
        if n % 2:
            ResponseFactory(story=story, status=ModerationStatus.IN_MODERATION)


def test_query_count_is_pinned_and_flat(
    client: Client, world: World, django_assert_max_num_queries: Any
) -> None:
    _busy_subtree(world, 3)
    with CaptureQueriesContext(connection) as few:
        page(client, world.trust)
    _busy_subtree(world, 30)
    with CaptureQueriesContext(connection) as many:
        first = page(client, world.trust)
    assert len(many) == len(few)  # no N+1: 30 stories cost what 3 do
    with django_assert_max_num_queries(10):
        page(client, world.trust)
    with django_assert_max_num_queries(10):
        page(client, world.trust, tag="food", after=first.context["older_url"].split("after=")[1])
    client.force_login(world.admin)
    with django_assert_max_num_queries(13):  # + session, user, may-manage
        page(client, world.trust)


def test_merged_code_redirects_permanently_to_the_survivor(client: Client, world: World) -> None:
    staff = site_staff()
    service_merge(actor=staff, service=world.closed, into=world.hospital)
    result = client.get(reverse("services:detail", args=["RXX99"]) + "?tag=food")
    assert result.status_code == 301
    assert result["Location"] == world.hospital.get_absolute_url() + "?tag=food"
    # Lower-case codes find it too.
    assert client.get("/services/rxx99/")["Location"] == world.hospital.get_absolute_url()
    # Merge the survivor in turn: the first old code now goes straight to the last survivor.
    service_merge(actor=staff, service=world.hospital, into=world.trust)
    for old in ["RXX99", "RXX01"]:
        result = client.get(reverse("services:detail", args=[old]))
        assert result.status_code == 301
        assert result["Location"] == world.trust.get_absolute_url()


def test_unknown_code_is_404(client: Client, world: World) -> None:
    assert client.get(reverse("services:detail", args=["NOPE"])).status_code == 404


def test_story_cards_count_only_published_responses(client: Client, world: World) -> None:
    story = StoryFactory(published=True, services=[world.ward], title="Answered")
    ResponseFactory(story=story, published=True, subscription=world.subscription)
    ResponseFactory(story=story, published=True, subscription=world.subscription)
    ResponseFactory(story=story, subscription=world.subscription)  # still in moderation
    StoryFactory(published=True, services=[world.ward], title="Unanswered")
    cards = {
        s.title: s.published_response_count
        for s in page(client, world.ward).context["page"].stories
    }
    assert cards == {"Answered": 2, "Unanswered": 0}
    assert "2 responses" in text(page(client, world.ward))
