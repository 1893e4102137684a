"""The audit log is append-only: the model refuses changes, and on PostgreSQL a trigger refuses
them whatever the caller (a queryset update, raw SQL, another program)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from carestory.audit.models import AuditEvent
from carestory.audit.services import audit_record
from tests.factories import StoryFactory, UserFactory

pytestmark = pytest.mark.django_db


def _event() -> AuditEvent:
    story = StoryFactory()
    actor = UserFactory(email="mod@example.org", full_name="Mo Derator", is_moderator=True)
    return audit_record(actor=actor, action="story.publish", obj=story, changes={"a": 1})


def test_audit_record_names_the_actor_and_the_object() -> None:
    event = _event()
    assert event.actor_label == "Mo Derator"
    assert event.object_type == "story"
    assert event.object_id  # the story's public id
    assert AuditEvent.objects.count() == 1


def test_system_actions_are_labelled_system() -> None:
    event = audit_record(actor=None, action="response.release", obj=StoryFactory())
    assert event.actor is None and event.actor_label == "system"


def test_the_model_refuses_to_change_or_delete_an_event() -> None:
    event = _event()
    event.action = "story.reject"
    with pytest.raises(RuntimeError, match="append-only"):
        event.save()
    with pytest.raises(RuntimeError, match="append-only"):
        event.delete()
    assert AuditEvent.objects.get().action == "story.publish"


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the trigger is PostgreSQL's; SQLite has the model"
)
@pytest.mark.parametrize(
    "change",
    [
        lambda: AuditEvent.objects.update(action="story.reject"),
        lambda: AuditEvent.objects.all().delete(),
        lambda: connection.cursor().execute("UPDATE audit_auditevent SET reason = 'x'"),
        lambda: connection.cursor().execute("DELETE FROM audit_auditevent"),
    ],
)
def test_postgresql_refuses_any_update_or_delete(change: object) -> None:
    _event()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        change()  # type: ignore[operator]
    event = AuditEvent.objects.get()
    assert event.action == "story.publish" and event.reason == ""
