"""Optimistic locking: a version column and a conditional UPDATE, the same on SQLite and
PostgreSQL (select_for_update does nothing on SQLite)."""

from __future__ import annotations

from typing import Any

from django.db import models


class ConflictError(Exception):
    """Someone else changed the object since it was read."""

    def __init__(self, current_version: int | None) -> None:
        super().__init__("The item was changed by someone else")
        self.current_version = current_version


def update_if_version(
    model: type[models.Model],
    *,
    pk: Any,
    expected_version: int,
    from_status: str | None = None,
    **fields: Any,
) -> None:
    """UPDATE ... SET version = version + 1, fields WHERE pk = pk AND version = expected
    (AND status = from_status, so a transition is checked against the row, not a stale copy).

    Raises ConflictError when the row has moved on; exactly one of two racing saves wins.
    """
    condition: dict[str, Any] = {"pk": pk, "version": expected_version}
    if from_status is not None:
        condition["status"] = from_status
    updated = model._default_manager.filter(**condition).update(
        version=models.F("version") + 1, **fields
    )
    if updated != 1:
        current = model._default_manager.filter(pk=pk).values_list("version", flat=True).first()
        raise ConflictError(current)
