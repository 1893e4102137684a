"""The workspace's reads: scope, each filter, keyset order, progress, readers, answering."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from carestory.accounts.models import User
from carestory.alerts.models import Alert
from carestory.alerts.services import alerts_story_published
from carestory.responses.models import Response
from carestory.stories.models import Story, StoryTag, Tag
from carestory.subscriptions.models import Membership
from carestory.workspace.models import (
    AnsweringMarker,
    Progress,
    StaffTag,
    StoryHeard,
    StoryRead,
)
from carestory.workspace.selectors import (
    Filters,
    Scope,
    Sort,
    WorkspaceCursor,
    answering_now,
    progress_of,
    readers_of,
    story_for_staff,
    workspace_page,
    workspace_scope,
)
from carestory.workspace.services import story_heard_record
from conftest import World
from tests.factories import (
    MembershipFactory,
    ResponseFactory,
    ServiceFactory,
    StoryFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime(2026, 6, 15, 12, 0))


def story_at(world: World, days_ago: int, **fields: object) -> Story:
    services = fields.pop("services", [world.ward])
    return StoryFactory(
        published=True,
        services=services,
        published_at=NOW - timedelta(days=days_ago),
        **fields,
    )


def titles(world: World, user: User | None = None, **filters: Any) -> list[str]:
    scope = workspace_scope(user=user or world.responder)
    page = workspace_page(scope=scope, filters=Filters(**filters), size=50)
    return [s.title for s in page.stories]


def test_scope_is_every_active_membership_and_only_published(world: World) -> None:
    story_at(world, 1, title="Riverside")
    story_at(world, 2, title="Hilltop", services=[world.other_ward])
    StoryFactory(in_moderation=True, services=[world.ward], title="Not yet")
    StoryFactory(withdrawn=True, services=[world.ward], title="Withdrawn")
    assert titles(world) == ["Riverside"]
    MembershipFactory(user=world.responder, subscription=world.other_subscription)
    assert titles(world) == ["Riverside", "Hilltop"]
    Membership.objects.filter(user=world.responder, subscription=world.subscription).update(
        is_active=False
    )
    assert titles(world) == ["Hilltop"]
    assert titles(world, user=world.reader) == []


def test_service_filter_is_the_subtree(world: World) -> None:
    other_ward = ServiceFactory(code="RXX01-W2", name="Ward 2", parent=world.hospital)
    story_at(world, 1, title="Ward 1 story")
    story_at(world, 2, title="Ward 2 story", services=[other_ward])
    story_at(world, 3, title="Trust story", services=[world.trust])
    assert titles(world, service=world.ward) == ["Ward 1 story"]
    assert titles(world, service=world.hospital) == ["Ward 1 story", "Ward 2 story"]


def test_date_filter_includes_both_days(world: World) -> None:
    for days in (1, 5, 10):
        story_at(world, days, title=f"{days} days ago")
    day5 = (NOW - timedelta(days=5)).date()
    assert titles(world, published_from=day5) == ["1 days ago", "5 days ago"]
    assert titles(world, published_to=day5) == ["5 days ago", "10 days ago"]
    assert titles(world, published_from=day5, published_to=day5) == ["5 days ago"]
    assert titles(world, published_from=date(2030, 1, 1)) == []


def test_criticality_at_or_above(world: World) -> None:
    for rating in (0, 2, 3, 5):
        story_at(world, rating + 1, title=f"rated {rating}", criticality=rating)
    assert titles(world, min_criticality=3) == ["rated 3", "rated 5"]
    assert titles(world, min_criticality=0) == ["rated 0", "rated 2", "rated 3", "rated 5"]


def test_tags_filter(world: World) -> None:
    tagged = story_at(world, 1, title="Tagged")
    story_at(world, 2, title="Untagged")
    tag = Tag.objects.first()
    assert tag is not None
    StoryTag.objects.create(story=tagged, tag=tag, polarity=1)
    assert titles(world, tags=[tag.slug]) == ["Tagged"]


def staff_tag(story: Story, author: User, visibility: str, name: str = "Follow up") -> None:
    membership = Membership.objects.get(user=author)
    StaffTag.objects.create(
        story=story,
        author=author,
        subscription=membership.subscription,
        name=name,
        slug="follow-up",
        visibility=visibility,
    )


@pytest.mark.parametrize(
    ("visibility", "responder", "admin", "other"),
    [
        (StaffTag.Visibility.PRIVATE, True, False, False),
        (StaffTag.Visibility.SHARED, True, True, False),
        (StaffTag.Visibility.PUBLIC, True, True, True),
    ],
)
def test_staff_tag_filter_sees_what_the_user_may_see(
    world: World, visibility: str, responder: bool, admin: bool, other: bool
) -> None:
    # One story in both organisations' scopes: only the tag's visibility decides.
    story = story_at(world, 1, title="Both", services=[world.ward, world.other_ward])
    staff_tag(story, world.responder, visibility)
    for user, expected in ((world.responder, responder), (world.admin, admin)):
        assert titles(world, user=user, staff_tags=["follow-up"]) == (["Both"] if expected else [])
    got = titles(world, user=world.other_responder, staff_tags=["follow-up"])
    assert got == (["Both"] if other else [])


def test_answered_filter_counts_any_published_response(world: World) -> None:
    answered = story_at(world, 1, title="Answered")
    story_at(world, 2, title="Not answered")
    in_moderation = story_at(world, 3, title="Answer in moderation")
    # From another covering organisation: still answered.
    ResponseFactory(story=answered, subscription=world.other_subscription, published=True)
    ResponseFactory(story=in_moderation, subscription=world.subscription)
    assert titles(world, answered=True) == ["Answered"]
    assert titles(world, answered=False) == ["Not answered", "Answer in moderation"]


def test_read_filter_is_read_by_me(world: World) -> None:
    mine = story_at(world, 1, title="Read by me")
    theirs = story_at(world, 2, title="Read by a colleague")
    for story, user in ((mine, world.responder), (theirs, world.admin)):
        StoryRead.objects.create(story=story, user=user, first_read_at=NOW, last_read_at=NOW)
    assert titles(world, read=True) == ["Read by me"]
    assert titles(world, read=False) == ["Read by a colleague"]


def test_progress_states(world: World) -> None:
    """unheard -> heard (an alert queued for a colleague) -> read (a colleague opened it) ->
    responded -> change, for the viewer's organisation only."""
    story = story_at(world, 1, title="Progressing")
    scope = workspace_scope(user=world.member)
    other_scope = workspace_scope(user=world.other_responder)

    def progress(for_scope: Scope = scope) -> int:
        found = story_for_staff(scope=for_scope, public_id=story.public_id)
        assert found is not None
        return found.progress  # type: ignore[attr-defined, no-any-return]

    story.services.add(world.other_ward)
    assert progress() == Progress.UNHEARD
    story_heard_record(story_id=story.pk, user_ids=[world.other_responder.pk])  # not ours
    assert progress() == Progress.UNHEARD
    assert progress(other_scope) == Progress.HEARD
    story_heard_record(story_id=story.pk, user_ids=[world.responder.pk])
    assert progress() == Progress.HEARD
    assert progress(other_scope) == Progress.HEARD
    StoryRead.objects.create(story=story, user=world.admin, first_read_at=NOW, last_read_at=NOW)
    assert progress() == Progress.READ
    assert progress(other_scope) == Progress.HEARD
    response = ResponseFactory(story=story, subscription=world.subscription)
    assert progress() == Progress.READ  # not published yet
    Response.objects.filter(pk=response.pk).update(status="published", published_at=NOW)
    assert progress() == Progress.RESPONDED
    Response.objects.filter(pk=response.pk).update(change=Response.Change.PLANNED)
    assert progress() == Progress.CHANGE
    assert progress(other_scope) == Progress.HEARD
    assert titles(world, user=world.member, progress=Progress.CHANGE) == ["Progressing"]
    assert titles(world, user=world.member, progress=Progress.HEARD) == []
    assert titles(world, user=world.other_responder, progress=Progress.HEARD) == ["Progressing"]


def test_newest_order_pages_by_keyset(world: World) -> None:
    stories = [story_at(world, days) for days in range(7)]
    scope = workspace_scope(user=world.responder)
    seen: list[int] = []
    after: WorkspaceCursor | None = None
    while True:
        page = workspace_page(scope=scope, filters=Filters(), after=after, size=3)
        seen += [s.pk for s in page.stories]
        if page.older is None:
            break
        after = page.older
    assert seen == [s.pk for s in stories]  # newest first, each once


def test_critical_order_pages_by_keyset_with_ties_and_no_rating(world: World) -> None:
    ratings = [2, 5, None, 5, 0, 2, 3, None]
    stories = [story_at(world, i, criticality=r) for i, r in enumerate(ratings)]
    expected = sorted(
        stories,
        key=lambda s: (-(s.criticality if s.criticality is not None else -1), s.pk),
    )
    scope = workspace_scope(user=world.responder)
    filters = Filters(sort=Sort.CRITICAL)
    seen: list[int] = []
    after: WorkspaceCursor | None = None
    for _ in range(10):
        page = workspace_page(scope=scope, filters=filters, after=after, size=3)
        seen += [s.pk for s in page.stories]
        if page.older is None:
            break
        after = WorkspaceCursor.decode(page.older.encode())
    # Older (larger days) stories have larger pk here, and ties go newest first.
    assert seen == [s.pk for s in expected]


@pytest.mark.parametrize("value", ["", "x.1.2", "6.1.2.3", "1.99999999999999999999.1", "n.1"])
def test_cursor_refuses_what_it_did_not_make(value: str) -> None:
    with pytest.raises(ValueError, match="cursor"):
        WorkspaceCursor.decode(value)


def test_story_for_staff_is_none_outside_scope_or_unpublished(world: World) -> None:
    scope = workspace_scope(user=world.responder)
    outside = story_at(world, 1, services=[world.other_ward])
    assert story_for_staff(scope=scope, public_id=outside.public_id) is None
    for status in Story.Status:
        if status == Story.Status.PUBLISHED:
            continue
        story = StoryFactory(**{status.value: True}, services=[world.ward])
        assert story_for_staff(scope=scope, public_id=story.public_id) is None
    inside = story_at(world, 1)
    assert story_for_staff(scope=scope, public_id=inside.public_id) is not None


def test_readers_are_my_organisations_only(world: World) -> None:
    story = story_at(world, 1, services=[world.ward, world.other_ward])
    for user in (world.admin, world.other_responder):
        StoryRead.objects.create(story=story, user=user, first_read_at=NOW, last_read_at=NOW)
    readers = readers_of(scope=workspace_scope(user=world.responder), story=story)
    assert [r.user_id for r in readers] == [world.admin.pk]


def test_answering_marker_expires_after_30_minutes_or_on_sending(world: World) -> None:
    story = story_at(world, 1)
    scope = workspace_scope(user=world.member)
    now = timezone.now()
    AnsweringMarker.objects.create(
        story=story, user=world.responder, subscription=world.subscription, started_at=now
    )
    AnsweringMarker.objects.create(
        story=story,
        user=world.admin,
        subscription=world.subscription,
        started_at=now - timedelta(minutes=31),
    )
    assert [m.user_id for m in answering_now(scope=scope, story=story)] == [world.responder.pk]
    assert answering_now(scope=workspace_scope(user=world.other_responder), story=story) == []
    ResponseFactory(story=story, responder=world.responder, subscription=world.subscription)
    assert answering_now(scope=scope, story=story) == []


def test_a_user_without_memberships_sees_nothing(world: World) -> None:
    story_at(world, 1)
    lone = UserFactory(staff=True)
    scope = workspace_scope(user=lone)
    assert scope.roots == []
    assert workspace_page(scope=scope, filters=Filters()).stories == []


def test_a_story_alert_makes_the_story_heard(world: World) -> None:
    """alerts_story_published records "heard" for the subscription of each person alerted."""
    story = story_at(world, 1)
    Alert.objects.all().delete()  # only this one: the responder's
    membership = Membership.objects.get(user=world.responder)
    Alert.objects.create(membership=membership, events=[Alert.Event.STORIES])
    assert alerts_story_published(story=story) == 1
    assert list(StoryHeard.objects.values_list("story_id", "subscription_id")) == [
        (story.pk, world.subscription.pk)
    ]
    alerts_story_published(story=story)  # a re-run adds nothing
    assert StoryHeard.objects.count() == 1
    scope = workspace_scope(user=world.member)
    assert progress_of(scope=scope, story_ids=[story.pk]) == {story.pk: Progress.HEARD}


def test_the_progress_filter_takes_the_highest_stage_reached(world: World) -> None:
    unheard = story_at(world, 1, title="unheard")
    heard = story_at(world, 2, title="heard")
    read = story_at(world, 3, title="read")
    responded = story_at(world, 4, title="responded")
    change = story_at(world, 5, title="change")
    for story in (heard, read, responded, change):
        story_heard_record(story_id=story.pk, user_ids=[world.admin.pk])
    for story in (read, responded):
        StoryRead.objects.create(story=story, user=world.admin, first_read_at=NOW, last_read_at=NOW)
    ResponseFactory(story=responded, subscription=world.subscription, published=True)
    ResponseFactory(story=change, subscription=world.subscription, published=True, change="made")
    expected = {
        Progress.UNHEARD: [unheard.title],
        Progress.HEARD: [heard.title],
        Progress.READ: [read.title],
        Progress.RESPONDED: [responded.title],
        Progress.CHANGE: [change.title],
    }
    for stage, want in expected.items():
        assert titles(world, user=world.member, progress=stage) == want, stage
    scope = workspace_scope(user=world.member)
    ids = [s.pk for s in (unheard, heard, read, responded, change)]
    assert list(progress_of(scope=scope, story_ids=ids).values()) == list(expected)
