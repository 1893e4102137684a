"""Keeping the tree right: add, rename, move, close, merge, describe; who may; the history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from carestory.accounts.models import User
from carestory.audit.models import AuditEvent
from carestory.lib.errors import NotAllowed
from carestory.services.models import Service, ServiceRedirect
from carestory.services.services import (
    service_add_department,
    service_close,
    service_describe,
    service_merge,
    service_move,
    service_rename,
    service_subtree_repath,
)
from carestory.stories.models import Story, StoryService
from carestory.subscriptions.models import Membership
from conftest import World
from tests.factories import MembershipFactory, ServiceFactory, StoryFactory, UserFactory

pytestmark = pytest.mark.django_db


def fresh(service: Service) -> Service:
    return Service.objects.get(pk=service.pk)


def tree_state() -> list[tuple[Any, ...]]:
    """Everything a failed operation must leave alone."""
    services = Service.objects.order_by("pk").values_list(
        "code", "name", "parent_id", "path", "depth", "is_open", "description", "website"
    )
    return [
        *services,
        ("links", *StoryService.objects.order_by("pk").values_list("story_id", "service_id")),
        ("redirects", *ServiceRedirect.objects.values_list("old_code", "service_id")),
    ]


def text(response: Any) -> str:
    return " ".join(response.content.decode().split())


def site_staff() -> User:
    return UserFactory(moderator=True, is_senior_moderator=True, full_name="Sue Senior")


def other_admin(world: World) -> User:
    return MembershipFactory(
        subscription=world.other_subscription,
        role=Membership.Role.ADMINISTRATOR,
        user=UserFactory(staff=True, full_name="Hal Hilltop Admin"),
    ).user


def assert_paths_right() -> None:
    """Every path is the parent's path plus the service's own id; depth matches."""
    for service in Service.objects.select_related("parent"):
        parent_path = service.parent.path if service.parent else "/"
        assert service.path == f"{parent_path}{service.pk}/", service.code
        assert service.depth == service.path.count("/") - 2, service.code


@pytest.fixture
def bay(world: World) -> Service:
    """A third level: trust > hospital > ward > bay."""
    return ServiceFactory(code="RXX01-W1-B", name="Bay A", parent=world.ward)


# --- The pages, one operation at a time --------------------------------------------------

# Each: url name, the service it acts on (attribute of world), good POST data, and a check
# that the change was made.
Check = Callable[[World], bool]
OPERATIONS: dict[str, tuple[str, dict[str, str], Check]] = {
    "add_department": (
        "hospital",
        {"name": "Cardiology", "code": ""},
        lambda w: Service.objects.filter(code="RXX01-CARDIOLOGY", parent=w.hospital).exists(),
    ),
    "rename": ("ward", {"name": "Ward One"}, lambda w: fresh(w.ward).name == "Ward One"),
    "move": ("ward", {"parent": "RXX"}, lambda w: fresh(w.ward).parent_id == w.trust.pk),
    "close": ("ward", {}, lambda w: not fresh(w.ward).is_open),
    "merge": (
        "ward",
        {"into": "RXX01", "confirm": "on"},
        lambda w: ServiceRedirect.objects.filter(old_code="RXX01-W1", service=w.hospital).exists(),
    ),
    "describe": (
        "ward",
        {"description": "The ward on the first floor.", "website": "https://ward.example/"},
        lambda w: fresh(w.ward).description == "The ward on the first floor.",
    ),
}
ACTIONS = {
    "add_department": "service.add_department",
    "rename": "service.rename",
    "move": "service.move",
    "close": "service.close",
    "merge": "service.merge",
    "describe": "service.describe",
}


def url_for(operation: str, service: Service) -> str:
    return reverse(f"services_manage:{operation}", args=[service.code])


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("who", ["admin", "site_staff", "superuser"])
def test_operation_succeeds_and_is_audited(
    client: Client, world: World, operation: str, who: str
) -> None:
    target_name, data, changed = OPERATIONS[operation]
    actor = {
        "admin": world.admin,
        "site_staff": site_staff(),
        "superuser": UserFactory(is_superuser=True, full_name="Root"),
    }[who]
    target = getattr(world, target_name)
    client.force_login(actor)
    assert client.get(url_for(operation, target)).status_code == 200
    result = client.post(url_for(operation, target), data)
    assert result.status_code == 302, text(result)
    assert changed(world)
    event = AuditEvent.objects.get(action=ACTIONS[operation])
    assert event.actor == actor and event.actor_label == actor.full_name
    assert event.changes
    assert_paths_right()
    # The manage page it lands on shows who did what.
    landing = text(client.get(result["Location"]))
    assert actor.full_name in landing and 'id="history"' in landing


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize(
    "who", ["other_admin", "responder", "member", "moderator", "reader", "other_responder"]
)
def test_others_get_404_and_nothing_changes(
    client: Client, world: World, operation: str, who: str
) -> None:
    target_name, data, _changed = OPERATIONS[operation]
    target = getattr(world, target_name)
    actor = other_admin(world) if who == "other_admin" else getattr(world, who)
    before = tree_state()
    client.force_login(actor)
    assert client.get(url_for(operation, target)).status_code == 404
    assert client.post(url_for(operation, target), data).status_code == 404
    assert client.get(reverse("services_manage:home", args=[target.code])).status_code == 404
    assert tree_state() == before
    assert not AuditEvent.objects.filter(action__startswith="service.").exists()


@pytest.mark.parametrize("operation", OPERATIONS)
def test_anonymous_is_sent_to_sign_in(client: Client, world: World, operation: str) -> None:
    target_name, data, _changed = OPERATIONS[operation]
    target = getattr(world, target_name)
    before = tree_state()
    for result in [
        client.get(url_for(operation, target)),
        client.post(url_for(operation, target), data),
    ]:
        assert result.status_code == 302 and "/staff/login/" in result["Location"]
    assert tree_state() == before


def test_unknown_service_is_404(client: Client, world: World) -> None:
    client.force_login(site_staff())
    assert client.get(reverse("services_manage:home", args=["NOPE"])).status_code == 404
    assert client.post(url_for("rename", Service(code="NOPE")), {"name": "x"}).status_code == 404


def test_administrator_cannot_restructure_their_organisation_itself(
    client: Client, world: World
) -> None:
    """The scope root is the organisation: rename/move/close/merge it is the site team's job.
    Adding departments under it and describing it are the administrator's."""
    client.force_login(world.admin)
    home = text(client.get(reverse("services_manage:home", args=["RXX"])))
    assert url_for("add_department", world.trust) in home
    assert url_for("rename", world.trust) not in home
    before = tree_state()
    for operation in ["rename", "move", "close", "merge"]:
        assert client.post(url_for(operation, world.trust), {"name": "X"}).status_code == 404
    assert tree_state() == before
    with pytest.raises(NotAllowed):
        service_rename(actor=world.admin, service=world.trust, name="Something else")
    assert (
        client.post(
            url_for("describe", world.trust), {"description": "Hello", "website": ""}
        ).status_code
        == 302
    )


# --- Bad input: a specific message, nothing changed ------------------------------------------


@pytest.mark.parametrize(
    ("operation", "target_name", "data", "message"),
    [
        ("add_department", "hospital", {"name": "   "}, "Enter a name for the service"),
        ("add_department", "hospital", {"name": "X", "code": "RXX01"}, "already used"),
        ("add_department", "hospital", {"name": "X", "code": "BAD CODE!"}, "letters, numbers"),
        ("add_department", "closed", {"name": "X"}, "closed service"),
        ("rename", "ward", {"name": ""}, "Enter a name for the service"),
        ("rename", "ward", {"name": "   "}, "Enter a name for the service"),
        ("rename", "ward", {"name": "Ward 1"}, "same as the current name"),
        ("rename", "ward", {"name": "x" * 201}, "200 characters or fewer"),
        ("move", "hospital", {"parent": "RXX01-W1"}, "under one of the services below it"),
        ("move", "hospital", {"parent": "RXX01"}, "cannot be moved under itself"),
        ("move", "ward", {"parent": "RXX01"}, "already under Riverside Hospital"),
        ("move", "ward", {"parent": "RYY"}, "a service that your organisation manages"),
        ("move", "ward", {"parent": "RXX99"}, "under a closed service"),
        ("move", "ward", {"parent": "NOPE"}, "No service has the code NOPE"),
        ("move", "ward", {"parent": ""}, "Enter the code of the service to move it under"),
        ("move", "ward", {"parent": "X" * 21}, "The code must be 20 characters or fewer"),
        (
            "merge",
            "ward",
            {"into": "X" * 21, "confirm": "on"},
            "The code must be 20 characters or fewer",
        ),
        ("close", "closed", {}, "already closed"),
        ("merge", "ward", {"into": "RXX01-W1", "confirm": "on"}, "merged into itself"),
        ("merge", "hospital", {"into": "RXX01-W1", "confirm": "on"}, "services below it"),
        ("merge", "ward", {"into": "RYY", "confirm": "on"}, "your organisation manages"),
        ("merge", "ward", {"into": "RXX99", "confirm": "on"}, "into a closed service"),
        ("merge", "ward", {"into": "RXX01"}, "Confirm that you want to merge"),
        ("describe", "ward", {"website": "javascript:alert(1)"}, "starting https://"),
        ("describe", "ward", {"website": "riverside"}, "starting https://"),
        ("describe", "ward", {"description": "x" * 5001}, "5,000 characters or fewer"),
    ],
)
def test_bad_input_gets_a_specific_message_and_changes_nothing(
    client: Client,
    world: World,
    operation: str,
    target_name: str,
    data: dict[str, str],
    message: str,
) -> None:
    target = getattr(world, target_name)
    client.force_login(site_staff() if target_name == "closed" else world.admin)
    before = tree_state()
    result = client.post(url_for(operation, target), data)
    assert result.status_code == 400
    body = text(result)
    assert "There is a problem" in body and message in body.replace("&#x27;", "'")
    assert tree_state() == before
    assert not AuditEvent.objects.filter(action__startswith="service.").exists()


# --- The service functions -----------------------------------------------------------------


def test_add_department_codes_are_made_unique(world: World) -> None:
    first = service_add_department(actor=world.admin, parent=world.hospital, name="Eye clinic")
    second = service_add_department(actor=world.admin, parent=world.hospital, name="Eye clinic")
    assert (first.code, second.code) == ("RXX01-EYE-CLINIC", "RXX01-EYE-CLINIC-2")
    long = service_add_department(
        actor=world.admin, parent=world.ward, name="Paediatric intensive care"
    )
    assert long.code == "RXX01-W1-PAEDIATRIC" and len(long.code) <= 20
    typed = service_add_department(
        actor=world.admin, parent=world.ward, name="Side room", code=" rxx01-w1-sr "
    )
    assert typed.code == "RXX01-W1-SR"
    for department in [first, second, long, typed]:
        assert department.kind == Service.Kind.DEPARTMENT and department.is_open
        assert department.source == "staff"
    assert "eye clinic" in first.search_text
    assert_paths_right()
    event = AuditEvent.objects.get(object_id=str(first.pk))
    assert event.action == "service.add_department" and event.actor == world.admin
    assert event.changes == {"parent": "RXX01", "code": "RXX01-EYE-CLINIC", "name": "Eye clinic"}
    on_parent = AuditEvent.objects.filter(
        action="service.department_added", object_id=str(world.hospital.pk)
    )
    assert on_parent.count() == 2


def test_the_tree_takes_the_codes_the_import_may_make(world: World) -> None:
    """One grammar (services/codes.py): '.' and '_' as the import format allows."""
    typed = service_add_department(
        actor=world.admin, parent=world.hospital, name="X", code="rxx01.w_2"
    )
    assert typed.code == "RXX01.W_2"


def test_a_code_that_redirects_is_not_reused(world: World) -> None:
    ServiceRedirect.objects.create(old_code="RXX01-GONE", service=world.hospital)
    with pytest.raises(ValidationError) as caught:
        service_add_department(
            actor=world.admin, parent=world.hospital, name="X", code="RXX01-GONE"
        )
    assert "already used" in str(caught.value)
    made = service_add_department(actor=world.admin, parent=world.hospital, name="Gone")
    assert made.code == "RXX01-GONE-2"


def test_move_rewrites_the_whole_subtree(world: World, bay: Service) -> None:
    deep = ServiceFactory(code="RXX01-W1-B1", name="Bed 1", parent=bay)
    new_site = ServiceFactory(
        code="RXX02", name="Riverside North", kind="hospital", parent=world.trust
    )
    service_move(actor=world.admin, service=world.ward, new_parent=new_site)
    assert_paths_right()
    assert (
        fresh(deep).path == f"{world.trust.path}{new_site.pk}/{world.ward.pk}/{bay.pk}/{deep.pk}/"
    )
    assert fresh(deep).depth == 4
    # And up a level: depths shrink.
    service_move(actor=world.admin, service=world.ward, new_parent=world.trust)
    assert_paths_right()
    assert fresh(deep).depth == 3
    event = AuditEvent.objects.filter(action="service.move").first()
    assert event is not None
    assert event.changes == {"parent": ["RXX02", "RXX"], "services_moved": 3}


def test_move_never_under_own_descendant(world: World, bay: Service) -> None:
    before = tree_state()
    staff = site_staff()
    for target in [world.hospital, world.ward, bay]:
        with pytest.raises(ValidationError):
            service_move(actor=staff, service=world.hospital, new_parent=target)
    with pytest.raises(ValueError, match="cycle"):
        service_subtree_repath(service=world.hospital, parent=bay)
    assert tree_state() == before


def test_moved_stories_follow_their_service(client: Client, world: World) -> None:
    StoryFactory(published=True, services=[world.ward], title="Moves with the ward")
    other = ServiceFactory(
        code="RXX02", name="Riverside North", kind="hospital", parent=world.trust
    )
    service_move(actor=world.admin, service=world.ward, new_parent=other)
    assert "Moves with the ward" in text(client.get(other.get_absolute_url()))
    assert "Moves with the ward" not in text(client.get(world.hospital.get_absolute_url()))


def test_close_closes_the_subtree_and_keeps_stories(world: World, bay: Service) -> None:
    story = StoryFactory(published=True, services=[bay])
    service_close(actor=world.admin, service=world.ward)
    today = timezone.localdate()
    for service in [world.ward, bay]:
        assert not fresh(service).is_open and fresh(service).closed_on == today
    assert fresh(world.hospital).is_open
    story.refresh_from_db()
    assert story.status == Story.Status.PUBLISHED
    assert StoryService.objects.filter(story=story, service=bay).exists()
    event = AuditEvent.objects.get(action="service.close")
    assert event.changes["also_closed"] == 1


def test_merge_moves_stories_children_and_redirects(world: World, bay: Service) -> None:
    survivor = ServiceFactory(code="RXX01-W2", name="Ward 2", parent=world.hospital)
    only_old = StoryFactory(published=True, services=[world.ward])
    both = StoryFactory(published=True, services=[world.ward, survivor])
    unrelated = StoryFactory(published=True, services=[world.hospital])
    ServiceRedirect.objects.create(old_code="OLDWARD", service=world.ward)

    result = service_merge(actor=world.admin, service=world.ward, into=survivor)

    assert result.survivor == survivor and result.stories_moved == 1
    links = set(StoryService.objects.values_list("story_id", "service_id"))
    assert links == {
        (only_old.pk, survivor.pk),
        (both.pk, survivor.pk),
        (unrelated.pk, world.hospital.pk),
    }
    assert fresh(bay).parent_id == survivor.pk
    assert_paths_right()
    old = fresh(world.ward)
    assert not old.is_open and old.closed_on == timezone.localdate()
    assert dict(ServiceRedirect.objects.values_list("old_code", "service_id")) == {
        "RXX01-W1": survivor.pk,
        "OLDWARD": survivor.pk,
    }
    merged = AuditEvent.objects.get(action="service.merge")
    assert merged.actor == world.admin and merged.object_id == str(world.ward.pk)
    assert merged.changes["into"] == "RXX01-W2"
    assert AuditEvent.objects.get(action="service.merge_in").object_id == str(survivor.pk)


def test_merge_into_itself_changes_nothing(world: World) -> None:
    before = tree_state()
    with pytest.raises(ValidationError, match="itself"):
        service_merge(actor=world.admin, service=world.ward, into=world.ward)
    assert tree_state() == before


def test_out_of_scope_targets_and_services_are_refused(world: World) -> None:
    before = tree_state()
    with pytest.raises(NotAllowed):
        service_rename(actor=other_admin(world), service=world.ward, name="Mine now")
    with pytest.raises(NotAllowed):
        service_add_department(actor=world.responder, parent=world.ward, name="X")
    with pytest.raises(ValidationError):
        service_move(actor=world.admin, service=world.ward, new_parent=world.other_trust)
    assert tree_state() == before


def test_a_frozen_administrator_may_not(world: World) -> None:
    Membership.objects.filter(user=world.admin).update(is_active=False)
    with pytest.raises(NotAllowed):
        service_rename(actor=world.admin, service=world.ward, name="Frozen")


def test_history_lists_who_did_what(client: Client, world: World) -> None:
    service_rename(actor=world.admin, service=world.ward, name="Ward One")
    staff = site_staff()
    service_close(actor=staff, service=world.ward)
    client.force_login(world.admin)
    body = text(client.get(reverse("services_manage:home", args=[world.ward.code])))
    history = body.split('id="history"')[1].split("</table>")[0]
    assert history.index("Sue Senior") < history.index("Adam Admin")  # newest first
    assert "Renamed" in history and "name: Ward 1 → Ward One" in history
    assert "services below it also closed: 0" in history
    assert "Closed" in history
    # Events about other services are not listed.
    service_rename(actor=world.admin, service=world.hospital, name="Riverside General")
    body = text(client.get(reverse("services_manage:home", args=[world.ward.code])))
    assert "Riverside General" not in body.split('id="history"')[1]


# --- Validate once: the rules and their messages are the service's ---------------------------


@pytest.mark.parametrize(
    ("call", "messages"),
    [
        (
            lambda w: service_add_department(actor=w.admin, parent=w.hospital, name=" "),
            {"name": ["Enter a name for the service"]},
        ),
        (
            lambda w: service_add_department(
                actor=w.admin, parent=w.hospital, name="x" * 201, code="X" * 21
            ),
            {
                "name": ["The name must be 200 characters or fewer"],
                "code": ["The code must be 20 characters or fewer"],
            },
        ),
        (
            lambda w: service_rename(actor=w.admin, service=w.ward, name="x" * 201),
            {"name": ["The name must be 200 characters or fewer"]},
        ),
        (
            lambda w: service_describe(
                actor=w.admin, service=w.ward, description="x" * 5001, website="x" * 201
            ),
            {
                "description": ["The description must be 5,000 characters or fewer"],
                "website": ["The website address must be 200 characters or fewer"],
            },
        ),
    ],
)
def test_the_rules_and_their_messages_come_from_the_service(
    world: World, call: Callable[[World], object], messages: dict[str, list[str]]
) -> None:
    """The forms check only types: every caller gets these messages, on the form's field
    names, every problem at once, and nothing changes."""
    before = tree_state()
    with pytest.raises(ValidationError) as caught:
        call(world)
    assert caught.value.message_dict == messages
    assert tree_state() == before
