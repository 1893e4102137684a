"""Outbox jobs for responses."""

from __future__ import annotations

from typing import Any

from carestory.outbox.registry import register_job
from carestory.responses.services import RELEASE_JOB, response_release


@register_job(RELEASE_JOB)
def release_job(payload: dict[str, Any]) -> None:
    """Due at the response's ``editable_until``; does nothing if it was released or deleted
    already, or (a clock running early) if its window has not ended: the periodic
    ``release_responses`` command then picks it up."""
    response_release(response_id=int(payload["response_id"]))
