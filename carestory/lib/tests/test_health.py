"""/healthz answers 503 when the database cannot take a write, not only when it is down.

These run outside a test transaction (``transaction=True``): the SQLite test database is a
file (settings.py), so a second connection can really hold its write lock.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from carestory.lib import health

pytestmark = pytest.mark.django_db(transaction=True)

sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="SQLite's write lock (DATABASE_URL is PostgreSQL)"
)
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs DATABASE_URL=postgres://..."
)


@pytest.fixture
def write_lock_holder() -> Iterator[sqlite3.Connection]:
    """Another process's connection to the same database file, holding the write lock."""
    other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        yield other
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_ok_when_the_database_takes_writes(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@sqlite_only
def test_degraded_while_another_connection_holds_the_sqlite_write_lock(
    client: Client, write_lock_holder: sqlite3.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response.json() == {"status": "degraded"}
    # It gave up after the probe's timeout, not the 20 s every other query waits for a lock.
    assert elapsed < health.PROBE_TIMEOUT_SECONDS + 4
    assert "cannot take a write (OperationalError)" in caplog.text


@sqlite_only
def test_ok_again_once_the_lock_is_released(client: Client) -> None:
    other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    assert client.get("/healthz").status_code == 503
    other.execute("ROLLBACK")
    other.close()
    assert client.get("/healthz").status_code == 200


@sqlite_only
def test_the_probe_writes_nothing(client: Client) -> None:
    path = Path(connection.settings_dict["NAME"])
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA data_version")
        before = cursor.fetchone()
    assert client.get("/healthz").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA data_version")  # changes when another connection commits
        assert cursor.fetchone() == before
    assert path.exists()


@sqlite_only
def test_degraded_when_the_database_file_is_gone(
    client: Client, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "moved-away.sqlite3"
    monkeypatch.setitem(connection.settings_dict, "NAME", str(missing))
    assert client.get("/healthz").status_code == 503
    assert not missing.exists()  # the probe did not create an empty database


@postgresql_only
def test_degraded_when_postgresql_refuses_writes(client: Client) -> None:
    """A standby after failover, or a database set read-only, answers SELECT 1 happily."""
    with connection.cursor() as cursor:
        cursor.execute("SET default_transaction_read_only = on")
    try:
        response = client.get("/healthz")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET default_transaction_read_only = off")
    assert response.status_code == 503
    assert response.json() == {"status": "degraded"}
    assert client.get("/healthz").status_code == 200
