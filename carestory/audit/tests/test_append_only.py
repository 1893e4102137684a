"""The audit log is append-only, at two levels.

In Python, on every database: the model refuses to save a change or delete an event, and its
queryset refuses an update or a delete (``bulk_update`` included). On PostgreSQL a trigger also
refuses any UPDATE or DELETE whatever the caller: a plain queryset that skips the model's
guard, raw SQL, another program. SQLite has no trigger: raw SQL there is the operator's own."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import DatabaseError, connection, models, transaction

from carestory.audit.models import AuditEvent
from carestory.audit.services import audit_record
from tests.factories import StoryFactory, UserFactory

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the trigger is PostgreSQL's (migration audit 0002); SQLite has the Python guard",
)


def _event() -> AuditEvent:
    story = StoryFactory()
    actor = UserFactory(email="mod@example.org", full_name="Mo Derator", is_moderator=True)
    return audit_record(actor=actor, action="story.publish", obj=story, changes={"a": 1})


def _assert_unchanged(event: AuditEvent) -> None:
    stored = AuditEvent.objects.get()
    assert (stored.pk, stored.action, stored.reason, stored.changes) == (
        event.pk,
        "story.publish",
        "",
        {"a": 1},
    )


# --- The Python guard (every database) -------------------------------------------------------


def test_the_model_refuses_to_save_a_change_to_an_event() -> None:
    event = _event()
    event.action = "story.reject"
    with pytest.raises(RuntimeError, match="append-only"):
        event.save()
    with pytest.raises(RuntimeError, match="append-only"):
        event.save(update_fields=["action"])
    _assert_unchanged(event)


def test_the_model_refuses_to_delete_an_event() -> None:
    event = _event()
    with pytest.raises(RuntimeError, match="append-only"):
        event.delete()
    _assert_unchanged(event)


@pytest.mark.parametrize(
    "change",
    [
        lambda: AuditEvent.objects.update(action="story.reject"),
        lambda: AuditEvent.objects.filter(action="story.publish").update(reason="x"),
        lambda: AuditEvent.objects.bulk_update(
            [AuditEvent(pk=AuditEvent.objects.get().pk, action="story.reject")], ["action"]
        ),
        lambda: AuditEvent.objects.all().delete(),
        lambda: AuditEvent.objects.filter(action="story.publish").delete(),
    ],
    ids=["update", "filtered-update", "bulk-update", "delete", "filtered-delete"],
)
def test_the_queryset_refuses_to_update_or_delete_events(change: Callable[[], object]) -> None:
    event = _event()
    with pytest.raises(RuntimeError, match="append-only"), transaction.atomic():
        change()
    _assert_unchanged(event)


# --- The PostgreSQL trigger (any caller) -----------------------------------------------------


def _raw(sql: str) -> Callable[[], object]:
    def run() -> object:
        with connection.cursor() as cursor:
            cursor.execute(sql)
        return None

    return run


# A plain QuerySet of the model has none of AuditEventQuerySet's guard: the ORM as another
# program, or a future manager, would use it.
def _plain() -> models.QuerySet[AuditEvent]:
    return models.QuerySet(model=AuditEvent)


@postgresql_only
@pytest.mark.parametrize(
    "change",
    [
        lambda: _plain().update(action="story.reject"),
        lambda: _plain().filter(action="story.publish").delete(),
        _raw("UPDATE audit_auditevent SET reason = 'x'"),
        _raw("UPDATE audit_auditevent SET actor_id = NULL, actor_label = 'someone else'"),
        _raw("DELETE FROM audit_auditevent"),
    ],
    ids=["orm-update", "orm-delete", "sql-update", "sql-update-actor", "sql-delete"],
)
def test_postgresql_refuses_any_update_or_delete(change: Callable[[], object]) -> None:
    event = _event()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        change()
    _assert_unchanged(event)
    assert AuditEvent.objects.get().actor_label == "Mo Derator"
