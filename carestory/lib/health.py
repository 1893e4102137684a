"""``/healthz`` for load balancers: 200 only if the database can take a write now.

A database that answers ``SELECT 1`` may still refuse every write: an SQLite file whose write
lock another process holds (a long migration, a stuck writer), a PostgreSQL standby after a
failover, a database switched to read-only. Each probe writes nothing and gives up after
``PROBE_TIMEOUT_SECONDS``:

- SQLite: a second connection to the same file runs ``BEGIN IMMEDIATE`` (takes the write lock,
  waiting at most the timeout) and ``ROLLBACK``. Opened with ``mode=rw``, so a missing file is an
  error, not a new empty database.
- PostgreSQL: in a transaction bounded by ``SET LOCAL statement_timeout``, ``SELECT
  pg_is_in_recovery()`` and the ``transaction_read_only`` setting; an unreachable server fails
  within the connection's ``connect_timeout``.

The answer says only ok or degraded; the reason goes to the log, by exception class.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 1.0


class DatabaseNotWritable(Exception):
    """The database answered but would refuse a write."""


def _probe_sqlite() -> None:
    name = str(connection.settings_dict["NAME"])
    if connection.in_atomic_block:
        # This connection is inside a transaction (a test's, or ATOMIC_REQUESTS). Django opens
        # SQLite transactions with BEGIN IMMEDIATE here (settings: transaction_mode), so it
        # already holds the write lock and a second connection would only wait for it.
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM sqlite_master")
        return
    uri = f"{Path(name).resolve().as_uri()}?mode=rw"
    probe = sqlite3.connect(
        uri, uri=True, timeout=PROBE_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
    )
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
    finally:
        probe.close()


def _probe_postgresql() -> None:
    timeout_ms = int(PROBE_TIMEOUT_SECONDS * 1000)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL statement_timeout = {timeout_ms}")
        cursor.execute("SELECT pg_is_in_recovery(), current_setting('transaction_read_only')")
        row = cursor.fetchone()
        # Inside an outer transaction (tests) the setting would outlive this savepoint.
        cursor.execute("SET LOCAL statement_timeout = DEFAULT")
    if row is None or row[0] or row[1] != "off":
        raise DatabaseNotWritable("standby or read-only")


def database_writable() -> bool:
    """True if the default database could take a write within the probe timeout."""
    try:
        if connection.vendor == "sqlite":
            _probe_sqlite()
        elif connection.vendor == "postgresql":
            _probe_postgresql()
        else:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
    except Exception as exc:
        logger.warning("healthz: the database cannot take a write (%s)", type(exc).__name__)
        return False
    return True


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database writability, for load balancers. No private data."""
    if database_writable():
        return JsonResponse({"status": "ok"})
    return JsonResponse({"status": "degraded"}, status=503)
