"""PostgreSQL crashes and restarts while the outbox worker is in the middle of a batch.

What this proves, with the real ``manage.py run_worker`` against a PostgreSQL cluster of the
test's own that is stopped with ``-m immediate`` (a crash: every connection cut) and started
again while the worker is sending a batch through a slow SMTP server:

- the worker does not die: its loop logs the error, drops the broken connection, backs off
  and carries on by itself once the database is back;
- every queued email is delivered at least once, and a repeat (an email sent whose SENT mark
  was lost with the connection, sent again after its lease ran out) carries the same
  Message-ID, so a mail server or client can recognise it;
- every row ends SENT: nothing accepted is lost.
"""

from __future__ import annotations

import pytest

from tests.faults.conftest import FaultDb
from tests.faults.harness import (
    FaultSmtp,
    Programs,
    app_env,
    enqueue_emails,
    wait_until,
)

pytestmark = [pytest.mark.fault, pytest.mark.timeout(150)]

EMAILS = 30
LEASE_SECONDS = 4


def test_worker_survives_a_postgresql_restart_mid_batch_and_every_email_arrives(
    pg_db: FaultDb, programs: Programs
) -> None:
    with FaultSmtp("slow", delay=0.15) as smtp:
        env = app_env(
            pg_db.url,
            EMAIL_PORT=smtp.port,
            EMAIL_TIMEOUT=5,
            OUTBOX_LEASE_SECONDS=LEASE_SECONDS,
            OUTBOX_BATCH_SIZE=10,
        )
        rows = enqueue_emails(env, EMAILS, prefix="pg-restart")
        worker = programs.worker(env)

        # Mid-batch: some delivered, most still to go.
        wait_until(lambda: len(smtp.delivered) >= 4, timeout=30, what="the first deliveries")
        pg_db.cluster.restart_immediately(down_seconds=2.0)
        delivered_before_restart_done = len(smtp.delivered)

        wait_until(
            lambda: pg_db.outbox_count("sent") == EMAILS,
            timeout=60,
            interval=0.3,
            what=f"all {EMAILS} rows to be SENT",
        )

        assert worker.alive(), "the worker died with the database"
        log = worker.output()
        assert "batch-error" in log or "process-error" in log, (
            "the worker never noticed the outage: the test did not test anything"
        )
        assert delivered_before_restart_done < EMAILS, "the batch finished before the crash"

        received = smtp.every_email_arrived(rows)
        statuses = dict(pg_db.rows("SELECT status, count(*) FROM outbox_outboxmessage GROUP BY 1"))
        assert statuses == {"sent": EMAILS}
        print(
            f"{EMAILS} emails, {sum(received.values())} deliveries, "
            f"{sum(1 for n in received.values() if n > 1)} delivered twice"
        )
