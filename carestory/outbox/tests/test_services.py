"""Outbox services: enqueueing, sending through a real SMTP server, retries, guards, jobs."""

from __future__ import annotations

import logging
import smtplib
import socket
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from carestory.outbox import services as outbox_services
from carestory.outbox.models import OutboxMessage
from carestory.outbox.registry import (
    UnknownHandlerError,
    get_guard,
    get_job,
    register_guard,
    register_job,
)
from carestory.outbox.services import (
    backoff_seconds,
    email_enqueue,
    job_enqueue,
    message_id_for,
    outbox_backlog,
    outbox_drain,
    outbox_render,
    outbox_requeue,
    outbox_run_once,
)
from carestory.outbox.testing import SmtpSink

pytestmark = pytest.mark.django_db

Status = OutboxMessage.Status
RECIPIENT = "reader@example.org"

JOB_CALLS: list[dict[str, Any]] = []


@register_job("outbox_test.record")
def record_job(payload: dict[str, Any]) -> None:
    JOB_CALLS.append(payload)


@register_job("outbox_test.explode")
def explode_job(payload: dict[str, Any]) -> None:
    raise RuntimeError(f"could not reach {payload.get('who', '')}")


@register_job("outbox_test.enqueue_then_fail")
def enqueue_then_fail_job(payload: dict[str, Any]) -> None:
    job_enqueue(name="outbox_test.record", payload={}, dedupe_key="child-of-failing-job")
    raise RuntimeError("fails after enqueueing")


@register_guard("outbox_test.flag")
def flag_guard(args: dict[str, Any]) -> bool:
    return bool(args.get("ok"))


@pytest.fixture(autouse=True)
def _clear_job_calls() -> None:
    JOB_CALLS.clear()


def enqueue_email(
    key: str = "story:1:reader:1",
    *,
    to: str = RECIPIENT,
    title: str = "Tea & toast",
    **kwargs: Any,
) -> OutboxMessage | None:
    return email_enqueue(
        dedupe_key=key,
        to=to,
        template="outbox_test",
        context={"title": title, "name": "Sam"},
        **kwargs,
    )


def reload(message: OutboxMessage | None) -> OutboxMessage:
    assert message is not None
    return OutboxMessage.objects.get(pk=message.pk)


# Enqueueing ---------------------------------------------------------------------------------


def test_email_enqueue_is_idempotent_and_keeps_the_outer_transaction_usable() -> None:
    with transaction.atomic():
        first = enqueue_email("story:7:reader:3")
        second = enqueue_email("story:7:reader:3", title="Something else")
        # The duplicate did not poison the transaction: it can still query and write.
        assert OutboxMessage.objects.count() == 1
        job = job_enqueue(name="outbox_test.record", payload={"a": 1}, dedupe_key="job:1")
    assert first is not None
    assert second is None
    assert job is not None
    assert OutboxMessage.objects.count() == 2
    assert outbox_render(reload(first)).subject == "Test message: Tea & toast"


def test_job_enqueue_is_idempotent() -> None:
    with transaction.atomic():
        first = job_enqueue(name="outbox_test.record", payload={"n": 1}, dedupe_key="digest:1")
        second = job_enqueue(name="outbox_test.record", payload={"n": 2}, dedupe_key="digest:1")
    assert first is not None
    assert second is None
    assert list(OutboxMessage.objects.values_list("payload", flat=True)) == [{"n": 1}]


def test_the_three_templates_are_rendered_when_sent_not_stored() -> None:
    message = reload(enqueue_email(title="Tea & <toast>"))
    assert message.kind == OutboxMessage.Kind.EMAIL
    assert message.status == Status.PENDING
    assert message.to_email == RECIPIENT
    # Nothing rendered is kept in the row: only the template's name and its context.
    assert (message.subject, message.body_text, message.body_html) == ("", "", "")
    assert message.template == "outbox_test"
    rendered = outbox_render(message)
    assert rendered.subject == "Test message: Tea & <toast>"
    assert 'about "Tea & <toast>"' in rendered.body_text
    assert "<strong>Tea &amp; &lt;toast&gt;</strong>" in rendered.body_html


def test_subject_is_one_line_and_truncated() -> None:
    message = reload(enqueue_email(title="Hi\r\nBcc: x@evil.example\r\n\u2028" + "y" * 500))
    subject = outbox_render(message).subject
    assert "\r" not in subject
    assert "\n" not in subject
    assert "\u2028" not in subject
    assert subject.startswith("Test message: Hi Bcc: x@evil.example y")
    assert len(subject) == 200


@pytest.mark.parametrize(
    ("key", "to"),
    [
        ("", RECIPIENT),
        ("k" * 201, RECIPIENT),
        ("welcome:reader@example.org", RECIPIENT),
    ],
)
def test_enqueue_rejects_bad_dedupe_keys(key: str, to: str) -> None:
    with pytest.raises(ValueError, match="dedupe key"):
        enqueue_email(key, to=to)
    assert not OutboxMessage.objects.exists()


def test_enqueue_rejects_a_bad_address() -> None:
    with pytest.raises(ValidationError):
        enqueue_email(to="not an address\r\nBcc: x@evil.example")
    assert not OutboxMessage.objects.exists()


def test_enqueue_rejects_unknown_guards_and_jobs() -> None:
    with pytest.raises(UnknownHandlerError):
        enqueue_email(guard="outbox_test.no_such_guard")
    with pytest.raises(UnknownHandlerError):
        job_enqueue(name="outbox_test.no_such_job", payload={}, dedupe_key="job:x")
    assert not OutboxMessage.objects.exists()


def test_registry_refuses_a_second_handler_under_the_same_name() -> None:
    assert get_job("outbox_test.record") is record_job
    assert get_guard("outbox_test.flag") is flag_guard
    # Registering the same function again (a module imported twice) is harmless.
    register_job("outbox_test.record")(record_job)
    with pytest.raises(ValueError, match="already registered"):
        register_job("outbox_test.record")(explode_job)
    with pytest.raises(ValueError, match="already registered"):
        register_guard("outbox_test.flag")(lambda args: True)


# Sending through the real SMTP sink -------------------------------------------------------


def test_email_is_delivered_end_to_end_with_text_and_html(smtp_sink: SmtpSink) -> None:
    message = enqueue_email("story:1:reader:1")

    assert outbox_run_once(worker_id="w1") == 1

    [received] = smtp_sink.wait_for(1)
    assert received.rcpt_tos == [RECIPIENT]
    assert received.subject == "Test message: Tea & toast"
    assert "Hello Sam," in received.text
    assert 'about "Tea & toast"' in received.text
    assert "<strong>Tea &amp; toast</strong>" in received.html
    assert received.header("Message-ID") == message_id_for("story:1:reader:1")
    assert received.header("Auto-Submitted") == "auto-generated"
    row = reload(message)
    assert row.status == Status.SENT
    assert row.sent_at is not None
    assert row.lease_expires_at is None
    assert row.attempts == 1
    assert smtp_sink.find(to=RECIPIENT, subject_contains="Tea") == [received]


def test_header_injection_in_the_title_reaches_only_the_one_recipient(
    smtp_sink: SmtpSink,
) -> None:
    enqueue_email(title="Hi\r\nBcc: x@evil.example")

    outbox_drain()

    [received] = smtp_sink.wait_for(1)
    assert received.rcpt_tos == [RECIPIENT]
    assert received.message["Bcc"] is None
    assert received.subject == "Test message: Hi Bcc: x@evil.example"
    assert smtp_sink.find(to="x@evil.example") == []


def test_smtp_down_is_retried_later_and_delivered_once(smtp_sink: SmtpSink) -> None:
    message = enqueue_email()
    smtp_sink.stop()
    now = timezone.now()

    assert outbox_run_once(worker_id="w1", now=now) == 1

    row = reload(message)
    assert row.status == Status.PENDING
    assert row.attempts == 1
    assert row.next_attempt_at > now
    assert row.last_error.startswith("ConnectionRefusedError")
    assert row.locked_by == ""
    assert row.lease_expires_at is None

    smtp_sink.start()
    # Not due yet: the backoff holds it back even though SMTP is up again.
    assert outbox_run_once(worker_id="w1", now=now) == 0
    later = now + timedelta(hours=2)
    assert outbox_run_once(worker_id="w1", now=later) == 1
    assert outbox_run_once(worker_id="w1", now=later) == 0

    smtp_sink.wait_for(1)
    assert len(smtp_sink.messages) == 1
    row = reload(message)
    assert row.status == Status.SENT
    assert row.attempts == 2


class SilentSmtpServer:
    """Accepts TCP connections and never says a word (no SMTP banner)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port: int = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.connections:
            conn.close()
        self.thread.join(timeout=2)


def test_a_silent_smtp_server_times_out_and_is_retried(settings: Any) -> None:
    server = SilentSmtpServer()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 1
    message = enqueue_email()
    now = timezone.now()
    try:
        started = time.monotonic()
        assert outbox_run_once(worker_id="w1", now=now) == 1
        elapsed = time.monotonic() - started
    finally:
        server.close()

    assert server.connections, "the worker never connected"
    assert elapsed < 5
    row = reload(message)
    assert row.status == Status.PENDING
    assert row.attempts == 1
    assert row.next_attempt_at > now
    # smtplib reports the read timeout as a disconnection.
    assert "timed out" in row.last_error


def test_a_permanently_refused_recipient_fails_at_once(smtp_sink: SmtpSink) -> None:
    smtp_sink.reject_recipients = {"gone@example.org"}
    message = enqueue_email(to="gone@example.org")

    outbox_run_once(worker_id="w1")

    row = reload(message)
    assert row.status == Status.FAILED
    assert row.attempts == 1
    assert row.last_error.startswith("SMTPRecipientsRefused")
    assert "gone@example.org" not in row.last_error
    assert smtp_sink.messages == []


def test_a_batch_shares_one_smtp_connection_and_goes_on_after_a_refusal(
    smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fan-out of thousands is one connection a batch, not one an email; a refused message
    closes it and the next email opens a new one. Counted as SMTP sessions (connect, EHLO),
    not backends: Django's backend connects and quits per message unless opened first."""
    opened: list[object] = []
    sessions: list[tuple[str, int]] = []
    real = mail.get_connection
    real_connect = smtplib.SMTP.connect

    def counting(*args: Any, **kwargs: Any) -> Any:
        opened.append(real(*args, **kwargs))
        return opened[-1]

    def counting_connect(
        self: smtplib.SMTP, host: str = "localhost", port: int = 0, **kw: Any
    ) -> Any:
        sessions.append((host, port))
        return real_connect(self, host, port, **kw)

    monkeypatch.setattr(outbox_services, "get_connection", counting)
    monkeypatch.setattr(smtplib.SMTP, "connect", counting_connect)
    smtp_sink.reject_recipients = {"gone@example.org"}
    refused = enqueue_email("story:1:reader:0", to="gone@example.org")
    for n in (1, 2, 3):
        enqueue_email(f"story:1:reader:{n}", to=f"reader{n}@example.org")

    assert outbox_run_once(worker_id="w1") == 4

    assert len(opened) == 1
    assert len(sessions) == 2  # the refused message's, then one for the three others
    assert sorted(m.rcpt_tos[0] for m in smtp_sink.wait_for(3)) == [
        "reader1@example.org",
        "reader2@example.org",
        "reader3@example.org",
    ]
    assert reload(refused).status == Status.FAILED


@pytest.mark.parametrize(
    ("exc", "permanent"),
    [
        (smtplib.SMTPDataError(554, b"message refused"), True),
        (smtplib.SMTPSenderRefused(550, b"sender refused", "from@example.org"), True),
        (smtplib.SMTPDataError(451, b"try later"), False),
        (smtplib.SMTPAuthenticationError(535, b"bad password"), False),
        (smtplib.SMTPServerDisconnected("dropped"), False),
        (smtplib.SMTPRecipientsRefused({"a@example.org": (550, b"no")}), True),
        (smtplib.SMTPRecipientsRefused({"a@example.org": (450, b"later")}), False),
    ],
)
def test_which_smtp_refusals_are_permanent(exc: Exception, permanent: bool) -> None:
    from carestory.outbox.services import _is_permanent

    assert _is_permanent(exc) is permanent


def test_max_attempts_marks_the_row_failed(settings: Any) -> None:
    settings.OUTBOX_MAX_ATTEMPTS = 3
    message = job_enqueue(
        name="outbox_test.explode", payload={"who": "person@example.org"}, dedupe_key="boom:1"
    )
    now = timezone.now()
    for attempt in (1, 2):
        now += timedelta(hours=2)
        assert outbox_run_once(worker_id="w1", now=now) == 1
        row = reload(message)
        assert row.status == Status.PENDING
        assert row.attempts == attempt

    now += timedelta(hours=2)
    assert outbox_run_once(worker_id="w1", now=now) == 1
    row = reload(message)
    assert row.status == Status.FAILED
    assert row.attempts == 3
    assert row.last_error.startswith("RuntimeError: could not reach")
    assert "person@example.org" not in row.last_error
    # A failed row is never picked up again...
    assert outbox_run_once(worker_id="w1", now=now + timedelta(days=1)) == 0
    # ...until someone asks for it.
    assert outbox_requeue(ids=[row.pk], actor=None) == 1
    assert reload(message).status == Status.PENDING
    assert reload(message).attempts == 0


def test_retry_now_in_the_admin_is_audited(client: Any, settings: Any) -> None:
    from carestory.audit.models import AuditEvent
    from tests.factories import UserFactory

    message = enqueue_email()
    assert message is not None
    OutboxMessage.objects.filter(pk=message.pk).update(status=Status.FAILED)
    admin_user = UserFactory(email="admin@example.org", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    response = client.post(
        f"/{settings.ADMIN_URL}outbox/outboxmessage/",
        {"action": "retry_now", "_selected_action": [message.pk]},
    )
    assert response.status_code == 302
    assert reload(message).status == Status.PENDING
    event = AuditEvent.objects.get(action="outbox.requeue")
    assert event.actor == admin_user and event.object_id == str(message.pk)


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    for attempts, full in [(1, 30), (2, 60), (3, 120), (7, 1920), (8, 3600), (40, 3600)]:
        for _ in range(20):
            delay = backoff_seconds(attempts)
            assert full / 2 <= delay <= full


def test_a_guard_that_no_longer_holds_cancels_and_sends_nothing(smtp_sink: SmtpSink) -> None:
    cancelled = enqueue_email("k:1", guard="outbox_test.flag", guard_args={"ok": False})
    allowed = enqueue_email("k:2", guard="outbox_test.flag", guard_args={"ok": True})

    assert outbox_drain() == 2

    assert reload(cancelled).status == Status.CANCELLED
    assert reload(allowed).status == Status.SENT
    [received] = smtp_sink.wait_for(1)
    assert received.header("Message-ID") == message_id_for("k:2")


def test_a_guarded_job_is_cancelled_without_running() -> None:
    message = job_enqueue(
        name="outbox_test.record",
        payload={"n": 1},
        dedupe_key="job:guarded",
        guard="outbox_test.flag",
        guard_args={"ok": False},
    )
    outbox_drain()
    assert reload(message).status == Status.CANCELLED
    assert JOB_CALLS == []


def test_a_job_handler_is_called_once_with_its_payload() -> None:
    payload = {"story": 12, "tags": ["a", "b"]}
    first = job_enqueue(name="outbox_test.record", payload=payload, dedupe_key="job:12")
    job_enqueue(name="outbox_test.record", payload=payload, dedupe_key="job:12")

    assert outbox_drain() == 1
    assert outbox_drain() == 0

    assert [payload] == JOB_CALLS
    row = reload(first)
    assert row.status == Status.SENT
    assert row.sent_at is not None


def test_a_failing_job_rolls_back_what_it_wrote() -> None:
    message = job_enqueue(name="outbox_test.enqueue_then_fail", payload={}, dedupe_key="job:f")

    outbox_run_once(worker_id="w1")

    assert reload(message).status == Status.PENDING
    assert not OutboxMessage.objects.filter(dedupe_key="child-of-failing-job").exists()


def test_a_job_registered_nowhere_is_retried_not_lost() -> None:
    # Written directly: a worker still on old code may meet a job name it does not know.
    message = OutboxMessage.objects.create(
        kind=OutboxMessage.Kind.JOB, dedupe_key="job:new", job_name="outbox_test.from_the_future"
    )
    outbox_run_once(worker_id="w1")
    row = reload(message)
    assert row.status == Status.PENDING
    assert row.last_error.startswith("UnknownHandlerError")


def test_logs_never_contain_the_address_or_the_subject(
    smtp_sink: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    canary_title = "Canary title 5f1c"
    smtp_sink.reject_recipients = {"refused@example.org"}
    with transaction.atomic():
        enqueue_email("log:1", title=canary_title)
        enqueue_email("log:1", title=canary_title)  # duplicate
        enqueue_email("log:2", title=canary_title, guard="outbox_test.flag")  # cancelled
        enqueue_email("log:3", title=canary_title, to="refused@example.org")  # refused
    outbox_drain()
    smtp_sink.stop()
    enqueue_email("log:4", title=canary_title)
    outbox_drain()  # SMTP down: retry

    ours = [record for record in caplog.records if record.name.startswith("carestory")]
    outcomes = " ".join(record.getMessage() for record in ours)
    for expected in ("enqueued", "duplicate", "sent", "cancelled", "failed", "retry"):
        assert f"outbox {expected}" in outcomes
    for record in ours:
        text = record.getMessage() + (record.exc_text or "")
        for secret in (RECIPIENT, "refused@example.org", canary_title, "Test message"):
            assert secret not in text, record.getMessage()


def test_backlog_reports_pending_and_failed(settings: Any) -> None:
    now = timezone.now()
    assert outbox_backlog(now=now)["pending"] == 0
    OutboxMessage.objects.create(
        kind=OutboxMessage.Kind.JOB,
        dedupe_key="old",
        job_name="outbox_test.record",
        created_at=now - timedelta(minutes=10),
        next_attempt_at=now - timedelta(minutes=5),
    )
    OutboxMessage.objects.create(
        kind=OutboxMessage.Kind.JOB,
        dedupe_key="later",
        job_name="outbox_test.record",
        next_attempt_at=now + timedelta(minutes=5),
    )
    OutboxMessage.objects.create(
        kind=OutboxMessage.Kind.JOB, dedupe_key="dead", status=Status.FAILED
    )
    backlog = outbox_backlog(now=now)
    assert backlog["pending"] == 2
    assert backlog["due"] == 1
    assert backlog["failed"] == 1
    assert backlog["sending"] == 0
    assert backlog["oldest_pending_age_seconds"] == pytest.approx(600, abs=1)
    assert backlog["oldest_due_lag_seconds"] == pytest.approx(300, abs=1)
