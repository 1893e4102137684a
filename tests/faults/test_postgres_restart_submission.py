"""PostgreSQL crashes and restarts while people are telling their stories.

What this proves, with gunicorn serving the real app against a PostgreSQL cluster of the
test's own, stopped with ``-m immediate`` (a crash: every connection cut mid-transaction) and
started again while stories are being sent through the form over HTTP in a loop:

- every submission that got the "We have saved your story" page exists, exactly once;
- every one that did not got a 503 page (not a bare 500, no traceback) saying it was not
  saved (or that we cannot be sure) and to send the form again, with a reference to quote;
  a form opened before the crash and sent during it is one of them, every time;
- sending the same form again (the same hidden idempotency key) once the database is back
  saves it, and a second resend makes no duplicate;
- each saved story has its confirmation email queued in the same transaction: nothing
  accepted is lost;
- gunicorn's workers reconnect by themselves: no restart of the web server is needed.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter

import pytest

from tests.faults.conftest import FaultDb
from tests.faults.harness import (
    Browser,
    Page,
    Programs,
    StoryAttempt,
    app_env,
    background,
    open_story_form,
    send_story,
    wait_until,
)

pytestmark = [pytest.mark.fault, pytest.mark.timeout(150)]

DOWN_SECONDS = 2.0


def test_stories_sent_across_a_postgresql_restart_are_saved_once_or_refused_clearly(
    pg_db: FaultDb, programs: Programs
) -> None:
    _web, base = programs.web(app_env(pg_db.url))
    numbers = itertools.count()
    lock = threading.Lock()
    attempts: list[StoryAttempt] = []
    unavailable_pages: list[Page] = []

    def tell_stories(stop: threading.Event) -> None:
        while not stop.is_set():
            form = open_story_form(Browser(base), next(numbers))
            if isinstance(form, Page):  # the form itself could not be shown
                with lock:
                    unavailable_pages.append(form)
                time.sleep(0.05)
                continue
            send_story(form)
            with lock:
                attempts.append(form)

    def saved_count() -> int:
        with lock:
            return sum(a.outcomes[-1] == "saved" for a in attempts)

    with background(tell_stories), background(tell_stories):
        wait_until(lambda: saved_count() >= 5, timeout=30, what="stories saved before the crash")
        # A form opened now and sent while the database is down.
        opened_before = open_story_form(Browser(base), next(numbers))
        assert isinstance(opened_before, StoryAttempt)
        pg_db.cluster.stop("immediate")
        during_outage = send_story(opened_before)
        time.sleep(DOWN_SECONDS)
        pg_db.cluster.start()
        saved_at_restart = saved_count()
        wait_until(
            lambda: saved_count() >= saved_at_restart + 5,
            timeout=30,
            what="stories saved after the restart",
        )
    attempts.append(opened_before)

    outcomes = Counter(a.outcomes[0] for a in attempts)
    print(f"first sends: {dict(outcomes)}; form pages unavailable: {len(unavailable_pages)}")
    bad = [
        (a.outcomes, a.pages[-1].status, a.pages[-1].text[:400])
        for a in attempts
        if a.outcomes[0].startswith("bad")
    ]
    assert not bad, f"answers that were neither saved nor a clear 503: {bad[:3]}"
    assert during_outage == "not-saved"
    for page in unavailable_pages:
        assert page.status == 503, page.text[:400]
        assert "not available right now" in page.text and "Traceback" not in page.text
        assert page.headers.get("x-request-id", "-") in page.text

    # What the 503 page told them to do: send the same form again. Twice, to be sure.
    to_resend = [a for a in attempts if a.outcomes[0] != "saved"]
    assert to_resend, "no submission met the outage: the test did not test anything"
    for attempt in to_resend:
        assert send_story(attempt) == "saved", attempt.pages[-1].text[:400]
        assert send_story(attempt) == "saved"

    keys = [a.key for a in attempts]
    stories = Counter(
        str(key) for (key,) in pg_db.rows("SELECT idempotency_key FROM stories_story")
    )
    assert {key: stories[key] for key in keys} == dict.fromkeys(keys, 1)
    assert sum(stories.values()) == len(keys)  # nothing saved that nobody was told about
    verify_emails = pg_db.value(
        "SELECT count(*) FROM outbox_outboxmessage WHERE kind = 'email' AND to_email LIKE %s",
        "teller-%@example.org",
    )
    assert verify_emails == len(keys)
