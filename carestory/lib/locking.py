"""Optimistic locking: a version column and a conditional UPDATE, the same on SQLite and
PostgreSQL (select_for_update does nothing on SQLite)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models

from carestory.lib.errors import ConflictError

__all__ = ["update_if_version"]


def update_if_version(
    model: type[models.Model],
    *,
    pk: Any,
    expected_version: int | None,
    from_status: str | None = None,
    **fields: Any,
) -> None:
    """UPDATE ... SET version = version + 1, fields WHERE pk = pk AND version = expected
    (AND status = from_status, so a transition is checked against the row, not a stale copy).

    ``expected_version=None`` is for a caller that never read a version (an emailed link, the
    worker): then ``from_status`` is required and is the whole condition, so the update is
    still checked against the row, and a concurrent edit that only bumped the version does not
    stop it. Updates of ``version`` alone (no fields) stay possible.

    Raises ConflictError when the row has moved on; exactly one of two racing saves wins.
    Story status changes go through ``stories/lifecycle.story_transition``, which calls this.
    """
    condition: dict[str, Any] = {"pk": pk}
    if expected_version is not None:
        condition["version"] = expected_version
    elif from_status is None:
        raise ValueError("update_if_version needs an expected version or a from_status")
    if from_status is not None:
        condition["status"] = from_status
    updated = model._default_manager.filter(**condition).update(
        version=models.F("version") + 1, **fields
    )
    if updated != 1:
        current = model._default_manager.filter(pk=pk).values_list("version", flat=True).first()
        raise ConflictError(current)


class VersionForm(forms.Form):
    """The version the user read (a hidden field), for ``update_if_version``: every form that
    changes a versioned row carries it, or inherits it from here."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
