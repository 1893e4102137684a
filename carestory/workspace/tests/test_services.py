"""The workspace's writes and its filter check."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from carestory.audit.models import AuditEvent
from carestory.lib.errors import NotAllowed
from carestory.stories.models import Story
from carestory.workspace.models import AnsweringMarker, SavedSearch, StaffTag, StoryRead
from carestory.workspace.selectors import saved_search_for, saved_searches_for, workspace_scope
from carestory.workspace.services import (
    FilterInput,
    saved_search_create,
    saved_search_delete,
    staff_tag_add,
    staff_tag_remove,
    story_answering_start,
    story_read_record,
    workspace_filters_clean,
)
from conftest import World
from tests.factories import StoryFactory

pytestmark = pytest.mark.django_db


def messages(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return exc.value.message_dict


def test_filters_clean_names_every_problem(world: World) -> None:
    scope = workspace_scope(user=world.responder)
    given = FilterInput(
        service=world.other_ward.code,
        published_from=date(2026, 5, 2),
        published_to=date(2026, 5, 1),
        min_criticality=9,
        progress=7,
        sort="random",
    )
    with pytest.raises(ValidationError) as exc:
        workspace_filters_clean(scope=scope, given=given)
    assert messages(exc) == {
        "service": ["Choose a service inside your organisation's services"],
        "published_to": ["The end date must be on or after the start"],
        "min_criticality": ["Choose one of the options"],
        "progress": ["Choose one of the options"],
        "sort": ["Choose one of the options"],
    }


def test_filters_clean_takes_a_service_inside_the_scope(world: World) -> None:
    scope = workspace_scope(user=world.responder)
    filters = workspace_filters_clean(scope=scope, given=FilterInput(service="rxx01"))
    assert filters.service == world.hospital
    with pytest.raises(ValidationError):
        workspace_filters_clean(scope=scope, given=FilterInput(service="NOPE"))


def published(world: World) -> Story:
    return StoryFactory(published=True, services=[world.ward])


def test_read_is_recorded_once_per_person(world: World) -> None:
    story = published(world)
    scope = workspace_scope(user=world.member)
    first = story_read_record(scope=scope, story=story)
    story_read_record(scope=scope, story=story)
    read = StoryRead.objects.get()
    assert read.pk == first.pk and read.last_read_at >= read.first_read_at


@pytest.mark.parametrize("kind", ["outside", "unpublished"])
def test_writes_refuse_a_story_outside_scope(world: World, kind: str) -> None:
    if kind == "outside":
        story = StoryFactory(published=True, services=[world.other_ward])
    else:
        story = StoryFactory(in_moderation=True, services=[world.ward])
    scope = workspace_scope(user=world.responder)
    with pytest.raises(NotAllowed):
        story_read_record(scope=scope, story=story)
    with pytest.raises(NotAllowed):
        story_answering_start(scope=scope, story=story)
    with pytest.raises(NotAllowed):
        staff_tag_add(scope=scope, story=story, name="x", visibility="private", polarity=0)


def test_only_responders_mark_themselves_answering(world: World) -> None:
    story = published(world)
    with pytest.raises(NotAllowed):
        story_answering_start(scope=workspace_scope(user=world.member), story=story)
    marker = story_answering_start(scope=workspace_scope(user=world.responder), story=story)
    assert marker.subscription == world.subscription
    story_answering_start(scope=workspace_scope(user=world.responder), story=story)
    assert AnsweringMarker.objects.count() == 1


def test_staff_tag_add_checks_and_audits(world: World) -> None:
    story = published(world)
    scope = workspace_scope(user=world.member)
    tag = staff_tag_add(
        scope=scope, story=story, name="  Call back ", visibility="shared", polarity=-1
    )
    assert (tag.name, tag.slug, tag.polarity, tag.subscription) == (
        "Call back",
        "call-back",
        -1,
        world.subscription,
    )
    assert AuditEvent.objects.filter(action="staff_tag.add", object_id=story.public_id).exists()
    with pytest.raises(ValidationError) as exc:
        staff_tag_add(scope=scope, story=story, name="Call back", visibility="shared", polarity=0)
    assert messages(exc) == {"name": ["You have already added this tag"]}
    with pytest.raises(ValidationError) as exc:
        staff_tag_add(scope=scope, story=story, name="!!", visibility="public", polarity=3)
    assert messages(exc) == {
        "name": ["A tag needs at least one letter or number"],
        "visibility": ["Only responders and administrators can add public tags"],
        "polarity": ["Choose one of the options"],
    }
    responder = workspace_scope(user=world.responder)
    public = staff_tag_add(
        scope=responder, story=story, name="Praise", visibility="public", polarity=1
    )
    assert public.visibility == StaffTag.Visibility.PUBLIC


def test_staff_tag_remove_by_author_or_organisation_administrator(world: World) -> None:
    story = published(world)
    member = workspace_scope(user=world.member)
    private = staff_tag_add(
        scope=member, story=story, name="Mine", visibility="private", polarity=0
    )
    shared = staff_tag_add(scope=member, story=story, name="Ours", visibility="shared", polarity=0)
    admin = workspace_scope(user=world.admin)
    with pytest.raises(NotAllowed):
        staff_tag_remove(scope=admin, tag=private)
    with pytest.raises(NotAllowed):
        staff_tag_remove(scope=workspace_scope(user=world.responder), tag=shared)
    staff_tag_remove(scope=admin, tag=shared)
    staff_tag_remove(scope=member, tag=private)
    assert not StaffTag.objects.exists()
    assert AuditEvent.objects.filter(action="staff_tag.remove").count() == 2


def test_saved_searches_are_only_mine(world: World) -> None:
    mine = saved_search_create(user=world.responder, name="Critical", query="min_criticality=4")
    theirs = saved_search_create(user=world.admin, name="Critical", query="read=no")
    assert saved_searches_for(user=world.responder) == [mine]
    assert saved_search_for(user=world.responder, pk=theirs.pk) is None
    with pytest.raises(NotAllowed):
        saved_search_delete(user=world.responder, search=theirs)
    with pytest.raises(ValidationError) as exc:
        saved_search_create(user=world.responder, name="Critical", query="")
    assert messages(exc) == {"name": ["You already have a search with this name"]}
    saved_search_delete(user=world.responder, search=mine)
    assert list(SavedSearch.objects.all()) == [theirs]
    done = AuditEvent.objects.filter(actor=world.responder, action__startswith="saved_search.")
    assert list(done.order_by("pk").values_list("action", flat=True)) == [
        "saved_search.create",
        "saved_search.delete",
    ]


def test_saved_search_keeps_a_query_string_only(world: World) -> None:
    saved = saved_search_create(
        user=world.responder, name="Odd", query="read=no&x=a b\r\nLocation: /evil"
    )
    assert "\n" not in saved.query and "\r" not in saved.query
