"""Helpers for response tests: the moment the ``clock`` fixture stops at, a responder's history
of decided responses, and a responder's edit of their response's text."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from carestory.accounts.models import User
from carestory.responses.models import ModerationStatus, Response
from carestory.responses.services import response_edit
from carestory.subscriptions.models import Subscription
from tests.factories import ResponseFactory

START = datetime.fromisoformat("2030-03-04T10:00:00+00:00")


def make_history(
    *,
    responder: User,
    subscription: Subscription,
    unedited: int = 0,
    edited: int = 0,
    rejected: int = 0,
    older_unedited: int = 0,
) -> None:
    """Decided responses by ``responder``. The ``older_unedited`` ones are written first
    (they count towards the ten published, not the recent ten); the rest are the most recent,
    newest last: unedited, then edited (published with a moderator's change), then rejected.
    """
    base = timezone.now() - timedelta(days=100)
    kinds = (
        ["unedited"] * older_unedited
        + ["unedited"] * unedited
        + ["edited"] * edited
        + ["rejected"] * rejected
    )
    for index, kind in enumerate(kinds):
        if kind == "rejected":
            response = ResponseFactory(
                responder=responder,
                subscription=subscription,
                status=ModerationStatus.REJECTED,
                rejection_reason="Names a member of staff",
            )
        else:
            response = ResponseFactory(
                responder=responder,
                subscription=subscription,
                published=True,
                body="Thank you for your story, edited."
                if kind == "edited"
                else "Thank you for your story.",
            )
        Response.objects.filter(pk=response.pk).update(created_at=base + timedelta(hours=index))


def edit_text(response: Response, body: str, **overrides: Any) -> Response:
    """Its responder changes the text, no change claimed, from the version ``response``
    holds; ``overrides`` are response_edit's other keywords."""
    fields: dict[str, Any] = {
        "version": response.version,
        "change": "none",
        "change_description": "",
    }
    fields.update(overrides)
    return response_edit(response=response, responder=response.responder, body=body, **fields)


def respond_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "body": "Thank you for telling us. I am sorry about the wait.",
        "change": "none",
        "change_description": "",
        "idempotency_key": str(uuid.uuid4()),
    }
    data.update(overrides)
    return data
