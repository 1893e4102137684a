"""Fixtures of the fault tests: our own PostgreSQL cluster, a fresh database per test, the
programs a test starts (stopped at its end, their logs printed when it fails)."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.faults.harness import (
    PgCluster,
    Programs,
    app_env,
    manage,
    migrate_and_seed,
    postgres_bindir,
)

TEMPLATE_DB = "carestory_fault_template"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A PostgreSQL cluster of our own (never the shared one on 5432), with a migrated
    template database each test copies."""
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    cluster = PgCluster(bindir)
    try:
        cluster.init()
        cluster.start()
        cluster.execute("postgres", f"CREATE DATABASE {TEMPLATE_DB}")
        migrate_and_seed(app_env(cluster.url(TEMPLATE_DB)))
        yield cluster
    finally:
        cluster.destroy()


@dataclass(frozen=True)
class FaultDb:
    cluster: PgCluster
    name: str

    @property
    def url(self) -> str:
        return self.cluster.url(self.name)

    def rows(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        return self.cluster.execute(self.name, sql, params)

    def value(self, sql: str, *params: object) -> object:
        return self.rows(sql, *params)[0][0]

    def outbox_count(self, status: str) -> object:
        """How many outbox rows are in ``status`` ('sending', 'sent'...)."""
        return self.value("SELECT count(*) FROM outbox_outboxmessage WHERE status = %s", status)


@pytest.fixture
def pg_db(pg_cluster: PgCluster) -> Iterator[FaultDb]:
    """A fresh, migrated database on the throwaway cluster (a copy of the template)."""
    name = f"fault_{uuid.uuid4().hex[:12]}"
    pg_cluster.execute("postgres", f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
    yield FaultDb(pg_cluster, name)
    # The cluster may have been left stopped by a failing test.
    try:
        pg_cluster.execute("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    except Exception:
        pg_cluster.start()
        pg_cluster.execute("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def programs() -> Iterator[Programs]:
    """Start gunicorn and workers through this; all are stopped when the test ends."""
    with tempfile.TemporaryDirectory(prefix="carestory-fault-logs-") as logs:
        started = Programs(Path(logs))
        try:
            yield started
        finally:
            started.stop_all()
            print(started.report())


__all__ = ["FaultDb", "manage"]
