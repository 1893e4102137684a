"""``manage.py run_worker``: send outbox email and run outbox jobs until stopped."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections, connections

from carestory.outbox.registry import periodic_tasks
from carestory.outbox.services import outbox_run_once

logger = logging.getLogger(__name__)


def default_worker_id() -> str:
    # locked_by holds 80 characters; keep the pid, which tells workers on one host apart.
    suffix = f":{os.getpid()}"
    return socket.gethostname()[: 80 - len(suffix)] + suffix


def _in_transaction() -> bool:
    # call_command from a test runs inside the test's transaction, which closing would destroy.
    return any(conn.in_atomic_block for conn in connections.all(initialized_only=True))


def _close_old_connections() -> None:
    """Drop broken or expired DB connections between batches (as Django does between requests)."""
    if not _in_transaction():
        close_old_connections()


def _close_all_connections() -> None:
    """After a database error: drop every connection, so the next batch opens a new one."""
    if not _in_transaction():
        connections.close_all()


ERROR_BACKOFF_CAP_SECONDS = 30.0


def error_backoff_seconds(failures: int, interval: float) -> float:
    """The wait after ``failures`` batches in a row failed (the database is down, say): the idle
    interval (1 s if none), doubling with each failure, at most 30 s; a database coming back
    after a restart is not hammered, and the worker is back within 30 s of it."""
    base = interval if interval > 0 else 1.0
    return float(min(ERROR_BACKOFF_CAP_SECONDS, base * 2 ** min(max(failures - 1, 0), 16)))


def _wait(stop: threading.Event, seconds: float) -> None:
    stop.wait(seconds)


class PeriodicRunner:
    """Runs the registered periodic tasks when each is due (monotonic clock, in-process)."""

    def __init__(self) -> None:
        self.next_run: dict[str, float] = {}

    def run_due(self, now: float) -> int:
        ran = 0
        for name, (every, fn) in periodic_tasks().items():
            if now < self.next_run.get(name, 0.0):
                continue
            self.next_run[name] = now + every
            try:
                count = fn()
            except Exception as exc:  # one task failing must not stop the worker
                logger.error("periodic task=%s error=%s", name, type(exc).__name__)
                continue
            ran += 1
            if count:
                logger.info("periodic task=%s count=%s", name, count)
        return ran


class Command(BaseCommand):
    help = "Send queued email and run queued jobs from the outbox."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Process one batch and exit.")
        parser.add_argument(
            "--interval",
            type=float,
            default=2.0,
            help="Seconds to sleep when nothing is due (default 2).",
        )
        parser.add_argument(
            "--worker-id", default="", help="Name recorded on claimed rows (default host:pid)."
        )
        parser.add_argument(
            "--no-periodic",
            action="store_true",
            help="Do not run periodic tasks (when cron runs their commands instead).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        worker_id: str = options["worker_id"] or default_worker_id()
        interval: float = max(options["interval"], 0.0)
        once: bool = options["once"]
        stop = threading.Event()
        previous = self._install_signal_handlers(stop)
        self.stdout.write(
            f"Outbox worker {worker_id} started "
            f"(batch {settings.OUTBOX_BATCH_SIZE}, idle interval {interval:g}s)"
        )
        processed_total = 0
        failures = 0
        periodic = None if options["no_periodic"] else PeriodicRunner()
        try:
            while not stop.is_set():
                _close_old_connections()
                if periodic is not None and not once:
                    periodic.run_due(time.monotonic())
                try:
                    processed = outbox_run_once(
                        worker_id=worker_id,
                        limit=settings.OUTBOX_BATCH_SIZE,
                        should_stop=stop.is_set,
                    )
                except Exception as exc:
                    if once:
                        raise
                    # The database is unreachable, say: never exit (nothing would send the
                    # queue), drop the broken connection, back off and try again. Rows this
                    # worker had claimed come back to a worker when their lease runs out.
                    failures += 1
                    wait = error_backoff_seconds(failures, interval)
                    logger.error(
                        "outbox worker batch-error error=%s failures=%s retry_in=%.1fs",
                        type(exc).__name__,
                        failures,
                        wait,
                    )
                    _close_all_connections()
                    _wait(stop, wait)
                    continue
                if failures:
                    logger.info("outbox worker recovered after failures=%s", failures)
                    failures = 0
                processed_total += processed
                if once:
                    break
                if processed == 0:
                    _wait(stop, interval)
        finally:
            _close_old_connections()
            self._restore_signal_handlers(previous)
        self.stdout.write(f"Outbox worker {worker_id} stopped ({processed_total} processed)")

    def _install_signal_handlers(self, stop: threading.Event) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        return {
            signum: signal.signal(signum, request_stop)
            for signum in (signal.SIGTERM, signal.SIGINT)
        }

    def _restore_signal_handlers(self, previous: dict[int, Any]) -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
