"""Outbox jobs for responses."""

from __future__ import annotations

from typing import Any

from carestory.outbox.registry import register_job, register_periodic
from carestory.responses.services import RELEASE_JOB, response_release, responses_release_due


@register_job(RELEASE_JOB)
def release_job(payload: dict[str, Any]) -> None:
    """Due at the response's ``editable_until``; does nothing if it was released or deleted
    already, or (a clock running early) if its window has not ended: the periodic
    ``release_responses`` command then picks it up."""
    response_release(response_id=int(payload["response_id"]))


@register_periodic("responses.release_due", every_seconds=60)
def release_due() -> int:
    """Safety net for the release job (also `manage.py release_responses`)."""
    return responses_release_due()
