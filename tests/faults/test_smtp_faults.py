"""The SMTP server refuses, hangs, or drops the connection in the middle of a message.

What this proves, with the real ``manage.py run_worker --once`` (one batch, then exit) on a
PostgreSQL database of the test's own, sending to SMTP servers that misbehave on purpose:

- a temporary refusal (421) leaves the email queued with its reason and a retry time, and the
  retry delivers it once, under the Message-ID it was first offered with;
- a permanent refusal of the recipient (550) or of the message (554) marks the email FAILED at
  once with the reason (no address in it), counted in the queue's health figures and listed
  in the outbox admin, where "Retry now" is, and not tried again by itself;
- a server that never answers DATA costs the worker EMAIL_TIMEOUT per email, not forever: the
  batch finishes, the email stays queued, and a later attempt delivers it;
- a connection dropped mid-message is retried and delivered later, same Message-ID.

Retries are due 15 to 30 seconds after a failure (outbox backoff); rather than wait, the tests
move ``next_attempt_at`` of the queued rows to now, as the clock would.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.faults.conftest import FaultDb
from tests.faults.harness import (
    DroppingSmtp,
    FaultSmtp,
    app_env,
    enqueue_emails,
    expected_message_id,
    manage,
    run_worker_once,
)

pytestmark = [pytest.mark.fault, pytest.mark.timeout(120)]


def rows_by_key(db: FaultDb) -> dict[str, tuple[str, int, str]]:
    """dedupe key -> (status, attempts, last_error)."""
    return {
        str(key): (str(status), int(str(attempts)), str(error))
        for key, status, attempts, error in db.rows(
            "SELECT dedupe_key, status, attempts, last_error FROM outbox_outboxmessage"
        )
    }


def make_due_now(db: FaultDb) -> None:
    """What the passing of the backoff time would do."""
    db.rows(
        "UPDATE outbox_outboxmessage SET next_attempt_at = now() "
        "WHERE status = 'pending' AND next_attempt_at > now()"
    )


def test_a_temporary_refusal_is_retried_and_delivered_once(pg_db: FaultDb) -> None:
    smtp = FaultSmtp("temp_fail").start()
    try:
        env = app_env(pg_db.url, EMAIL_PORT=smtp.port)
        rows = enqueue_emails(env, 3, prefix="refused-421")

        run_worker_once(env)
        after_refusal = rows_by_key(pg_db)
        assert smtp.delivered == []
        for key, _to in rows:
            status, attempts, error = after_refusal[key]
            assert (status, attempts) == ("pending", 1)
            assert "421" in error
        retry_in = pg_db.value("SELECT min(next_attempt_at - now()) FROM outbox_outboxmessage")
        assert isinstance(retry_in, timedelta) and retry_in.total_seconds() > 5  # backed off

        make_due_now(pg_db)
        run_worker_once(env)
        assert {status for status, _, _ in rows_by_key(pg_db).values()} == {"sent"}
        expected = sorted(expected_message_id(key) for key, _to in rows)
        assert sorted(smtp.message_ids()) == expected  # once each
        assert sorted(set(smtp.offered)) == expected  # the refused offer had the same id
    finally:
        smtp.stop()


@pytest.mark.parametrize(
    ("mode", "reasons"),
    [("perm_fail_rcpt", ("SMTPRecipientsRefused", "550")), ("perm_fail_data", ("554",))],
    ids=["recipient-refused-550", "message-refused-554"],
)
def test_a_permanent_refusal_fails_at_once_and_is_visible(
    pg_db: FaultDb, mode: str, reasons: tuple[str, ...]
) -> None:
    smtp = FaultSmtp(mode).start()
    try:
        env = app_env(pg_db.url, EMAIL_PORT=smtp.port)
        [(key, to)] = enqueue_emails(env, 1, prefix=mode)
        run_worker_once(env)
        status, attempts, error = rows_by_key(pg_db)[key]
        assert (status, attempts) == ("failed", 1)
        assert all(reason in error for reason in reasons), error
        assert to not in error and "@" not in error
        failed = manage(
            env,
            "shell",
            "-c",
            "from carestory.outbox.services import outbox_backlog; "
            "print(outbox_backlog()['failed'])",
        )
        assert failed.strip().splitlines()[-1] == "1"
        make_due_now(pg_db)
        run_worker_once(env)  # a FAILED row is not tried again by itself
        assert rows_by_key(pg_db)[key][:2] == ("failed", 1)
    finally:
        smtp.stop()


def test_a_hung_smtp_server_does_not_hold_the_worker_and_the_email_is_retried(
    pg_db: FaultDb,
) -> None:
    timeout = 2
    hung = FaultSmtp("hang").start()
    smtp = FaultSmtp("ok").start()
    try:
        rows = enqueue_emails(app_env(pg_db.url), 2, prefix="hung")
        took, _output = run_worker_once(
            app_env(pg_db.url, EMAIL_PORT=hung.port, EMAIL_TIMEOUT=timeout), timeout=60
        )
        # Two emails, EMAIL_TIMEOUT each, plus starting Django: bounded, not stuck.
        assert took < 2 * timeout + 15
        for key, _to in rows:
            status, attempts, error = rows_by_key(pg_db)[key]
            assert (status, attempts) == ("pending", 1)
            assert "timed out" in error.lower() or "timeout" in error.lower()
        hung.released.set()

        make_due_now(pg_db)
        run_worker_once(app_env(pg_db.url, EMAIL_PORT=smtp.port))
        assert {status for status, _, _ in rows_by_key(pg_db).values()} == {"sent"}
        expected = sorted(expected_message_id(key) for key, _to in rows)
        assert sorted(smtp.message_ids()) == expected
        assert sorted(hung.offered) == expected  # the hung attempt had the same ids
    finally:
        hung.stop()
        smtp.stop()


def test_a_connection_dropped_mid_message_is_retried_and_delivered(pg_db: FaultDb) -> None:
    dropper = DroppingSmtp().start()
    smtp = FaultSmtp("ok").start()
    try:
        [(key, _to)] = enqueue_emails(app_env(pg_db.url), 1, prefix="dropped")
        run_worker_once(app_env(pg_db.url, EMAIL_PORT=dropper.port))
        status, attempts, error = rows_by_key(pg_db)[key]
        assert (status, attempts) == ("pending", 1)
        assert error.startswith(("SMTPServerDisconnected", "ConnectionResetError", "BrokenPipe"))
        assert dropper.offered == [expected_message_id(key)]

        make_due_now(pg_db)
        run_worker_once(app_env(pg_db.url, EMAIL_PORT=smtp.port))
        assert rows_by_key(pg_db)[key][:2] == ("sent", 2)
        assert smtp.message_ids() == [expected_message_id(key)]
    finally:
        dropper.stop()
        smtp.stop()
