"""Outbox workers: claiming, lease recovery, racing workers and ``manage.py run_worker``."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from carestory.outbox import services
from carestory.outbox.models import OutboxMessage
from carestory.outbox.registry import register_job
from carestory.outbox.services import (
    email_enqueue,
    job_enqueue,
    outbox_claim,
    outbox_process,
    outbox_run_once,
)
from carestory.outbox.testing import SmtpSink

Status = OutboxMessage.Status
RECIPIENT = "reader@example.org"

WORKER_JOB_CALLS: list[dict[str, Any]] = []


@register_job("outbox_worker_test.record")
def record_job(payload: dict[str, Any]) -> None:
    WORKER_JOB_CALLS.append(payload)


@register_job("outbox_worker_test.sigterm")
def sigterm_job(payload: dict[str, Any]) -> None:
    WORKER_JOB_CALLS.append(payload)
    os.kill(os.getpid(), signal.SIGTERM)


@pytest.fixture(autouse=True)
def _clear_job_calls() -> None:
    WORKER_JOB_CALLS.clear()


def enqueue_email(key: str = "story:1:reader:1") -> OutboxMessage:
    message = email_enqueue(
        dedupe_key=key, to=RECIPIENT, template="outbox_test", context={"title": "T", "name": "S"}
    )
    assert message is not None
    return message


def enqueue_jobs(count: int, name: str = "outbox_worker_test.record") -> list[OutboxMessage]:
    messages = [
        job_enqueue(name=name, payload={"n": n}, dedupe_key=f"job:{n}") for n in range(count)
    ]
    assert all(messages)
    return [m for m in messages if m is not None]


def reload(message: OutboxMessage) -> OutboxMessage:
    return OutboxMessage.objects.get(pk=message.pk)


def lease() -> timedelta:
    return timedelta(seconds=django_settings.OUTBOX_LEASE_SECONDS)


# Claiming -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_claim_leases_due_rows_only() -> None:
    due = enqueue_jobs(2)
    now = timezone.now()
    future = job_enqueue(name="outbox_worker_test.record", payload={}, dedupe_key="job:later")
    assert future is not None
    OutboxMessage.objects.filter(pk=future.pk).update(next_attempt_at=now + timedelta(hours=1))

    claimed = outbox_claim(worker_id="A", limit=10, now=now)

    assert [m.pk for m in claimed] == [m.pk for m in due]
    for message in claimed:
        assert message.status == Status.SENDING
        assert message.locked_by == "A"
        assert message.attempts == 1
        assert message.lease_expires_at == now + lease()
    assert reload(future).status == Status.PENDING


@pytest.mark.django_db
def test_claim_respects_the_limit() -> None:
    enqueue_jobs(5)
    assert len(outbox_claim(worker_id="A", limit=2)) == 2
    assert len(outbox_claim(worker_id="B", limit=10)) == 3
    assert outbox_claim(worker_id="C", limit=10) == []


@pytest.mark.django_db
def test_two_claims_for_the_same_rows_never_both_get_one() -> None:
    rows = enqueue_jobs(4)
    now = timezone.now()

    first = outbox_claim(worker_id="A", limit=10, now=now)
    second = outbox_claim(worker_id="B", limit=10, now=now)

    assert {m.pk for m in first} == {m.pk for m in rows}
    assert second == []
    assert set(OutboxMessage.objects.values_list("locked_by", flat=True)) == {"A"}


@pytest.mark.django_db
def test_a_stale_candidate_list_claims_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # Worker B chose its candidates before worker A claimed them (the window a race opens):
    # the conditional UPDATE must notice that they are no longer claimable.
    rows = enqueue_jobs(3)
    now = timezone.now()
    outbox_claim(worker_id="A", limit=10, now=now)
    monkeypatch.setattr(
        services, "_candidate_ids", lambda *, claimable, limit: [m.pk for m in rows]
    )

    assert outbox_claim(worker_id="B", limit=10, now=now) == []
    assert set(OutboxMessage.objects.values_list("locked_by", flat=True)) == {"A"}
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}


@pytest.mark.django_db(transaction=True)
def test_racing_workers_in_threads_never_share_a_row() -> None:
    rows = enqueue_jobs(30)
    barrier = threading.Barrier(3)
    claimed: dict[str, list[int]] = {"A": [], "B": [], "C": []}
    errors: list[BaseException] = []

    def work(worker_id: str) -> None:
        try:
            barrier.wait(timeout=10)
            while batch := outbox_claim(worker_id=worker_id, limit=4):
                claimed[worker_id].extend(m.pk for m in batch)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(worker_id,)) for worker_id in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    everything = claimed["A"] + claimed["B"] + claimed["C"]
    assert len(everything) == len(set(everything)) == len(rows)
    for worker_id, ids in claimed.items():
        assert set(
            OutboxMessage.objects.filter(id__in=ids).values_list("locked_by", flat=True)
        ) <= {worker_id}
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}


# Lease recovery -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_expired_lease_is_recovered_and_sent_once(smtp_sink: SmtpSink) -> None:
    message = enqueue_email()
    t0 = timezone.now()
    [held_by_a] = outbox_claim(worker_id="A", limit=10, now=t0)
    # While A's lease runs, nobody else can take the row.
    assert outbox_claim(worker_id="B", limit=10, now=t0 + lease() - timedelta(seconds=1)) == []

    # A dies; after the lease expires, B recovers the row and sends it.
    later = t0 + lease() + timedelta(seconds=1)
    [held_by_b] = outbox_claim(worker_id="B", limit=10, now=later)
    assert held_by_b.pk == held_by_a.pk
    assert held_by_b.attempts == 2
    outbox_process(message=held_by_b, now=later)
    smtp_sink.wait_for(1)

    # A comes back late: it neither sends again nor changes the row.
    outbox_process(message=held_by_a, now=later)

    assert len(smtp_sink.messages) == 1
    row = reload(message)
    assert row.status == Status.SENT
    assert row.locked_by == "B"


class TakeoverBackend(BaseEmailBackend):
    """Pretends to send, while another worker takes the row over (A's send was slow)."""

    def __init__(self, *, takeover_at: datetime, fail: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.takeover_at = takeover_at
        self.fail = fail
        self.taken: list[OutboxMessage] = []

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        self.taken = outbox_claim(worker_id="B", limit=10, now=self.takeover_at)
        if self.fail:
            raise ConnectionResetError("slow and then broken")
        return len(email_messages)


@pytest.mark.django_db
@pytest.mark.parametrize("a_fails", [False, True])
def test_a_worker_whose_lease_was_taken_over_cannot_flip_the_row_back(
    smtp_sink: SmtpSink, a_fails: bool
) -> None:
    message = enqueue_email()
    t0 = timezone.now()
    [held_by_a] = outbox_claim(worker_id="A", limit=10, now=t0)
    backend = TakeoverBackend(takeover_at=t0 + lease() + timedelta(seconds=1), fail=a_fails)

    outbox_process(message=held_by_a, connection=backend, now=t0)

    assert [m.pk for m in backend.taken] == [message.pk]
    row = reload(message)
    assert row.status == Status.SENDING
    assert row.locked_by == "B"
    assert row.last_error == ""

    outbox_process(message=backend.taken[0])
    smtp_sink.wait_for(1)
    assert len(smtp_sink.messages) == 1
    assert reload(message).status == Status.SENT


@pytest.mark.django_db
def test_a_row_whose_workers_keep_dying_ends_up_failed(settings: Any) -> None:
    settings.OUTBOX_MAX_ATTEMPTS = 2
    [message] = enqueue_jobs(1)
    now = timezone.now()
    for _death in range(2):
        assert outbox_claim(worker_id="doomed", limit=1, now=now)
        now += lease() + timedelta(seconds=1)

    assert outbox_run_once(worker_id="survivor", now=now) == 1

    row = reload(message)
    assert row.status == Status.FAILED
    assert row.last_error.startswith("LeaseExpired")
    assert WORKER_JOB_CALLS == []


# The run_worker command ---------------------------------------------------------------------


@pytest.mark.django_db
def test_run_worker_once_processes_due_messages(smtp_sink: SmtpSink) -> None:
    email = enqueue_email()
    [job] = enqueue_jobs(1)
    out = StringIO()

    call_command("run_worker", "--once", "--worker-id", "cmd-worker", stdout=out)

    assert "Outbox worker cmd-worker started" in out.getvalue()
    smtp_sink.wait_for(1)
    assert reload(email).status == Status.SENT
    assert reload(job).status == Status.SENT
    assert reload(job).locked_by == "cmd-worker"
    assert WORKER_JOB_CALLS == [{"n": 0}]


@pytest.mark.django_db
def test_run_worker_once_with_nothing_due_exits() -> None:
    out = StringIO()
    call_command("run_worker", "--once", stdout=out)
    assert "started" in out.getvalue()
    assert "stopped (0 processed)" in out.getvalue()


@pytest.mark.django_db
@pytest.mark.timeout(30)
def test_run_worker_stops_after_the_current_message_on_sigterm() -> None:
    previous = signal.getsignal(signal.SIGTERM)
    rows = enqueue_jobs(3, name="outbox_worker_test.sigterm")

    out = StringIO()
    call_command("run_worker", "--interval", "30", stdout=out)

    # The first job asked the worker to stop; the others were handed back untouched.
    assert WORKER_JOB_CALLS == [{"n": 0}]
    assert reload(rows[0]).status == Status.SENT
    for row in rows[1:]:
        fresh = reload(row)
        assert fresh.status == Status.PENDING
        assert fresh.attempts == 0
        assert fresh.locked_by == ""
    assert "stopped (1 processed)" in out.getvalue()
    assert signal.getsignal(signal.SIGTERM) is previous


@pytest.mark.django_db
@pytest.mark.timeout(30)
def test_run_worker_stops_promptly_when_idle() -> None:
    timer = threading.Timer(0.3, os.kill, args=(os.getpid(), signal.SIGINT))
    started = time.monotonic()
    timer.start()
    try:
        call_command("run_worker", "--interval", "30", stdout=StringIO())
    finally:
        timer.cancel()
    assert time.monotonic() - started < 5


def test_periodic_tasks_run_when_due_and_failures_do_not_stop_the_worker() -> None:
    from carestory.outbox.management.commands.run_worker import PeriodicRunner
    from carestory.outbox.registry import _periodic, register_periodic

    calls: list[str] = []

    @register_periodic("test.every-ten", every_seconds=10)
    def every_ten() -> int:
        calls.append("ten")
        return 1

    @register_periodic("test.broken", every_seconds=10)
    def broken() -> int:
        calls.append("broken")
        raise RuntimeError("boom")

    try:
        runner = PeriodicRunner()
        runner.run_due(100.0)
        runner.run_due(105.0)  # not due yet
        runner.run_due(110.0)
        assert calls.count("ten") == 2
        assert calls.count("broken") == 2
    finally:
        _periodic.pop("test.every-ten", None)
        _periodic.pop("test.broken", None)


def test_the_apps_register_their_periodic_work() -> None:
    from carestory.outbox.registry import periodic_tasks

    assert {"moderation.publish_due_reviews", "responses.release_due"} <= set(periodic_tasks())
