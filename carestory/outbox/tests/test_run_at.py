"""job_enqueue(run_at=...): a delayed job is not claimed before its time, then runs once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from carestory.outbox.models import OutboxMessage
from carestory.outbox.registry import register_job
from carestory.outbox.services import job_enqueue, outbox_drain

pytestmark = pytest.mark.django_db

DELAYED_CALLS: list[dict[str, Any]] = []


@register_job("outbox_test.delayed")
def delayed_job(payload: dict[str, Any]) -> None:
    DELAYED_CALLS.append(payload)


def test_a_delayed_job_waits_for_run_at_then_runs_once() -> None:
    DELAYED_CALLS.clear()
    run_at = timezone.now() + timedelta(minutes=30)
    message = job_enqueue(
        name="outbox_test.delayed", payload={"n": 1}, dedupe_key="delayed:1", run_at=run_at
    )
    assert message is not None
    assert message.next_attempt_at == run_at

    assert outbox_drain() == 0
    assert DELAYED_CALLS == []
    with time_machine.travel(run_at - timedelta(seconds=1)):
        assert outbox_drain() == 0
    assert DELAYED_CALLS == []

    with time_machine.travel(run_at + timedelta(seconds=1)):
        assert outbox_drain() == 1
        assert outbox_drain() == 0
    assert DELAYED_CALLS == [{"n": 1}]
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT


def test_without_run_at_a_job_is_due_at_once() -> None:
    DELAYED_CALLS.clear()
    message = job_enqueue(name="outbox_test.delayed", payload={"n": 2}, dedupe_key="delayed:2")
    assert message is not None
    assert message.next_attempt_at <= timezone.now()
    assert outbox_drain() == 1
    assert DELAYED_CALLS == [{"n": 2}]


def test_a_naive_run_at_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        job_enqueue(
            name="outbox_test.delayed",
            payload={},
            dedupe_key="delayed:naive",
            run_at=datetime(2030, 1, 1, 12, 0),
        )
    assert not OutboxMessage.objects.exists()
