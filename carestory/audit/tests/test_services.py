"""audit_record: who (a label kept if the account goes), what, and which object by a stable id."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from carestory.audit.models import AuditEvent
from carestory.audit.services import audit_record
from tests.factories import (
    MembershipFactory,
    ServiceFactory,
    StoryFactory,
    SubscriptionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_an_actor_is_named_by_their_full_name() -> None:
    actor = UserFactory(full_name="Mo Derator", is_moderator=True)
    event = audit_record(actor=actor, action="story.publish", obj=StoryFactory())
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.actor == actor
    assert stored.actor_label == "Mo Derator"


def test_an_actor_without_a_name_is_named_by_their_account_number_never_their_email() -> None:
    actor = UserFactory(email="no.name@example.org", full_name="")
    event = audit_record(actor=actor, action="story.withdraw", obj=StoryFactory())
    assert event.actor_label == f"user {actor.pk}"
    assert "no.name" not in str(event)


def test_an_action_without_an_actor_is_the_systems() -> None:
    event = audit_record(actor=None, action="response.release", obj=StoryFactory())
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.actor is None
    assert stored.actor_label == "system"


def test_a_story_is_named_by_its_public_id_not_its_row_number() -> None:
    story = StoryFactory()
    event = audit_record(actor=None, action="story.publish", obj=story)
    assert (event.object_type, event.object_id) == ("story", story.public_id)
    assert event.object_id != str(story.pk)


@pytest.mark.parametrize(
    ("kind", "make"),
    [
        ("service", ServiceFactory),
        ("subscription", SubscriptionFactory),
        ("membership", MembershipFactory),
    ],
)
def test_an_object_without_a_public_id_is_named_by_its_type_and_primary_key(
    kind: str, make: Callable[[], Model]
) -> None:
    obj = make()
    event = audit_record(actor=None, action=f"{kind}.change", obj=obj)
    assert (event.object_type, event.object_id) == (kind, str(obj.pk))
    # The history of an object is found by these two columns (services' history page).
    assert AuditEvent.objects.filter(object_type=kind, object_id=str(obj.pk)).get() == event


def test_the_object_type_can_be_named_by_the_caller() -> None:
    service = ServiceFactory()
    event = audit_record(actor=None, action="tree.move", obj=service, object_type="tree")
    assert (event.object_type, event.object_id) == ("tree", str(service.pk))


def test_changes_and_reason_are_kept_as_given() -> None:
    before = timezone.now()
    event = audit_record(
        actor=None,
        action="story.reject",
        obj=StoryFactory(),
        changes={"status": ["in_moderation", "rejected"], "tags": [1, 2]},
        reason="duplicate",
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.action == "story.reject"
    assert stored.changes == {"status": ["in_moderation", "rejected"], "tags": [1, 2]}
    assert stored.reason == "duplicate"
    assert before <= stored.at <= timezone.now()


def test_no_changes_are_stored_as_an_empty_object() -> None:
    event = audit_record(actor=None, action="story.verify", obj=StoryFactory())
    assert AuditEvent.objects.get(pk=event.pk).changes == {}
    assert event.reason == ""


def test_an_event_recorded_in_a_transaction_that_rolls_back_is_gone_with_the_change() -> None:
    story = StoryFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=None, action="story.publish", obj=story)
        raise RuntimeError("the change failed")
    assert not AuditEvent.objects.exists()
