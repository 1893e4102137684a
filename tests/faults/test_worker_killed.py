"""The outbox worker is killed (SIGKILL: no cleanup at all) in the middle of a batch.

What this proves, with two real ``manage.py run_worker`` processes on a PostgreSQL database of
the test's own and a slow SMTP server (so the first worker is surely mid-batch when it dies):

- the rows the dead worker had claimed stay leased to it until the lease runs out
  (OUTBOX_LEASE_SECONDS, shortened here), then a second worker takes them over;
- every email arrives at least once; the one that was being sent when the worker died may
  arrive twice, and then under the same Message-ID both times;
- every row ends SENT, the recovered ones on their second attempt: nothing accepted is lost.
"""

from __future__ import annotations

import signal

import pytest

from tests.faults.conftest import FaultDb
from tests.faults.harness import (
    FaultSmtp,
    Programs,
    app_env,
    enqueue_emails,
    wait_until,
)

pytestmark = [pytest.mark.fault, pytest.mark.timeout(120)]

EMAILS = 12
LEASE_SECONDS = 10  # longer than the first worker needs to reach its kill point


def test_a_worker_killed_mid_batch_has_its_rows_recovered_and_every_email_arrives(
    pg_db: FaultDb, programs: Programs
) -> None:
    with FaultSmtp("slow", delay=0.5) as smtp:
        env = app_env(
            pg_db.url,
            EMAIL_PORT=smtp.port,
            OUTBOX_LEASE_SECONDS=LEASE_SECONDS,
            OUTBOX_BATCH_SIZE=EMAILS,
        )
        rows = enqueue_emails(env, EMAILS, prefix="killed")
        first = programs.worker(env, "--worker-id", "first", "--no-periodic")
        wait_until(lambda: smtp.delivered, timeout=30, what="the first delivery")
        # The first worker holds the whole batch; a second one polls beside it.
        second = programs.worker(env, "--worker-id", "second", "--no-periodic")
        wait_until(lambda: "started" in second.output(), timeout=30, what="the second worker")
        wait_until(lambda: len(smtp.delivered) >= 3, timeout=30, what="more deliveries")

        first.kill(signal.SIGKILL)
        first.popen.wait(10)
        lease_ends = dict(
            pg_db.rows(
                "SELECT id, lease_expires_at FROM outbox_outboxmessage "
                "WHERE status = 'sending' AND locked_by = 'first'"
            )
        )
        leased = len(lease_ends)
        assert leased, "the worker finished its batch before it was killed"
        assert pg_db.outbox_count("sending") == leased
        smtp.mode = "ok"
        wait_until(
            lambda: pg_db.outbox_count("sent") == EMAILS,
            timeout=45,
            interval=0.2,
            what="every row to be SENT",
        )
        assert second.alive()
        # Taken over only once the dead worker's lease had run out, though the second worker
        # was polling all along.
        sent_at = dict(pg_db.rows("SELECT id, sent_at FROM outbox_outboxmessage"))
        for pk, lease_end in lease_ends.items():
            assert sent_at[pk] > lease_end

        attempts = dict(
            pg_db.rows("SELECT attempts, count(*) FROM outbox_outboxmessage GROUP BY 1")
        )
        assert attempts.get(2) == leased  # exactly the leased rows were recovered, once
        received = smtp.every_email_arrived(rows)
        print(f"{EMAILS} emails, {leased} recovered, {sum(received.values())} deliveries")
