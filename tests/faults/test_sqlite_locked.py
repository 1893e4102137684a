"""The SQLite database stays locked for longer than its busy timeout while a story is sent.

What this proves, with gunicorn serving the real app on a file-based SQLite database (the
default install) while another connection holds ``BEGIN EXCLUSIVE`` on the file for longer
than the 20-second busy timeout in settings.py:

- the person gets a 503 page saying their story was not saved and to send the form again,
  with a reference to quote (not a 500, no traceback), after the busy timeout, not never;
- nothing was saved meanwhile;
- once the lock is released, sending the same form again saves exactly one story, and a
  second resend still makes one.

No PostgreSQL is needed: this runs wherever the fault tests run.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests.faults.harness import (
    Browser,
    Programs,
    StoryAttempt,
    app_env,
    migrate_and_seed,
    open_story_form,
    send_story,
)

pytestmark = [pytest.mark.fault, pytest.mark.timeout(120)]

BUSY_TIMEOUT_SECONDS = 20  # DATABASES["default"]["OPTIONS"]["timeout"] for SQLite


def story_count(path: Path, key: str) -> int:
    with sqlite3.connect(path) as db:
        (count,) = db.execute(
            "SELECT count(*) FROM stories_story WHERE replace(idempotency_key, '-', '') = ?",
            (key.replace("-", ""),),
        ).fetchone()
    return int(count)


def test_a_story_sent_while_sqlite_is_locked_is_refused_clearly_then_saved_once(
    tmp_path: Path, programs: Programs
) -> None:
    path = tmp_path / "carestory.sqlite3"
    env = app_env(f"sqlite:///{path}")
    migrate_and_seed(env)
    _web, base = programs.web(env, workers=1)
    attempt = open_story_form(Browser(base), 1)
    assert isinstance(attempt, StoryAttempt)

    locker = sqlite3.connect(path, isolation_level=None, timeout=1)
    try:
        locker.execute("BEGIN EXCLUSIVE")
        started = time.monotonic()
        outcome = send_story(attempt)
        waited = time.monotonic() - started
    finally:
        locker.execute("ROLLBACK")
        locker.close()

    page = attempt.pages[-1]
    assert outcome == "not-saved", (page.status, page.text[:500])
    assert "Sorry, we could not save what you sent" in page.text
    assert page.headers["x-request-id"] in page.text
    assert waited >= BUSY_TIMEOUT_SECONDS - 1  # it waited for the lock, then gave up
    assert story_count(path, attempt.key) == 0

    assert send_story(attempt) == "saved"
    assert send_story(attempt) == "saved"
    assert story_count(path, attempt.key) == 1
