"""``run_worker`` outlives a database outage: it backs off, drops the broken connection and
carries on. The real crash (PostgreSQL stopped mid-batch) is tests/faults/; this checks the
loop's arithmetic and bookkeeping in-process."""

from __future__ import annotations

import os
import signal
from io import StringIO
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import OperationalError

from carestory.outbox.management.commands import run_worker
from carestory.outbox.management.commands.run_worker import error_backoff_seconds


def test_the_wait_after_errors_doubles_from_the_interval_up_to_thirty_seconds() -> None:
    assert [error_backoff_seconds(n, 2.0) for n in range(1, 8)] == [2, 4, 8, 16, 30, 30, 30]
    assert error_backoff_seconds(1, 0.0) == 1.0  # no idle interval: start at one second
    assert error_backoff_seconds(10_000, 2.0) == 30


@pytest.mark.timeout(30)
def test_the_worker_survives_repeated_database_errors_backing_off_and_reconnecting() -> None:
    outcomes: list[Any] = [OperationalError("server closed the connection unexpectedly")] * 3

    def run_once(**kwargs: Any) -> int:
        if outcomes:
            raise outcomes.pop(0)
        if not waits or waits[-1] != "stop":
            waits.append("stop")
            os.kill(os.getpid(), signal.SIGTERM)  # the database is back: one batch, then stop
        return 0

    waits: list[Any] = []
    out = StringIO()
    with (
        mock.patch.object(run_worker, "outbox_run_once", side_effect=run_once),
        mock.patch.object(run_worker, "_wait", side_effect=lambda stop, s: waits.append(s)),
        mock.patch.object(run_worker, "_close_all_connections") as close_all,
        mock.patch.object(run_worker, "logger") as logger,
    ):
        call_command("run_worker", "--interval", "0.5", "--no-periodic", stdout=out)

    assert waits[:3] == [0.5, 1.0, 2.0]  # backing off, not retrying at the idle pace
    assert close_all.call_count == 3  # a fresh connection after each error
    assert "stopped (0 processed)" in out.getvalue()
    errors = [call.args[0] % call.args[1:] for call in logger.error.call_args_list]
    assert errors[0] == "outbox worker batch-error error=OperationalError failures=1 retry_in=0.5s"
    infos = [call.args[0] % call.args[1:] for call in logger.info.call_args_list]
    assert "outbox worker recovered after failures=3" in infos
