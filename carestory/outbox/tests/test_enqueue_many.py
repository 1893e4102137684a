"""The bulk enqueue of a fan-out (``email_enqueue_many``) and the batch's memory of its guards'
answers: one question per (guard, args), yet every email of a guard that fails is cancelled."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from carestory.lib.tokens import secret_link
from carestory.lib.urls import absolute_url
from carestory.outbox import services as outbox_services
from carestory.outbox.models import OutboxMessage
from carestory.outbox.registry import register_guard, register_job
from carestory.outbox.services import (
    QueuedEmail,
    email_enqueue,
    email_enqueue_many,
    job_enqueue,
    outbox_render,
    outbox_run_once,
    signed_link,
)
from carestory.outbox.testing import SmtpSink

pytestmark = pytest.mark.django_db

Status = OutboxMessage.Status
GUARD = "outbox_test.story_open"
# The guard's world: which "stories" are still open, and every question it was asked.
OPEN: set[int] = set()
ASKED: list[int] = []


@register_guard(GUARD)
def story_open_guard(args: dict[str, Any]) -> bool:
    ASKED.append(args["story"])
    return args["story"] in OPEN


@register_job("outbox_test.close_story")
def close_story_job(payload: dict[str, Any]) -> None:
    OPEN.discard(payload["story"])


@pytest.fixture(autouse=True)
def _guard_world() -> None:
    OPEN.clear()
    ASKED.clear()


def email(
    n: int, *, story: int = 1, headers: dict[str, Any] | None = None, **context: Any
) -> QueuedEmail:
    return QueuedEmail(
        dedupe_key=f"fanout:{story}:{n}",
        to=f"member{n}@example.org",
        context={"title": f"Story {story}", "name": f"Member {n}", **context},
        headers=headers or {},
    )


def enqueue(emails: list[QueuedEmail], **kwargs: Any) -> int:
    return email_enqueue_many(template="outbox_test", emails=emails, **kwargs)


def by_key() -> dict[str, OutboxMessage]:
    return {m.dedupe_key: m for m in OutboxMessage.objects.all()}


# The bulk enqueue ---------------------------------------------------------------------------


def test_each_row_is_what_email_enqueue_writes() -> None:
    headers = {"List-Unsubscribe": ["<", signed_link("home", salt="s", value="1"), ">"]}
    one = email_enqueue(
        dedupe_key="single:1",
        to="member1@example.org",
        template="outbox_test",
        context={"title": "Story 1", "name": "Member 1"},
        guard=GUARD,
        guard_args={"story": 1},
        headers=headers,
    )
    assert enqueue([email(1, headers=headers)], guard=GUARD, guard_args={"story": 1}) == 1
    assert one is not None
    many = by_key()["fanout:1:1"]
    fields = ("kind", "status", "to_email", "template", "context", "language", "guard")
    for name in (*fields, "guard_args", "headers", "refresh", "attempts"):
        assert getattr(many, name) == getattr(one, name), name
    assert many.next_attempt_at <= one.next_attempt_at + timedelta(seconds=5)
    assert outbox_render(many) == outbox_render(one)


def test_a_key_already_queued_is_skipped_and_the_transaction_stays_usable() -> None:
    with transaction.atomic():
        email_enqueue(
            dedupe_key="fanout:1:2",
            to="first@example.org",
            template="outbox_test",
            context={"title": "First", "name": "Sam"},
        )
        assert enqueue([email(1), email(2), email(3), email(1)]) == 2  # 2 queued, 1 twice
        assert enqueue([email(1), email(2), email(3)]) == 0  # a re-run adds nothing
        # The skipped rows did not poison the transaction: it can still write.
        job_enqueue(name="outbox_test.close_story", payload={"story": 1}, dedupe_key="job:1")
    rows = by_key()
    assert sorted(rows) == ["fanout:1:1", "fanout:1:2", "fanout:1:3", "job:1"]
    assert rows["fanout:1:2"].to_email == "first@example.org"  # the first row stays


def test_the_rows_are_part_of_the_callers_transaction() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        assert enqueue([email(n) for n in range(3)]) == 3
        assert OutboxMessage.objects.count() == 3
        raise RuntimeError("the change that caused them failed")
    assert OutboxMessage.objects.count() == 0


def test_more_rows_than_one_insert_takes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbox_services, "ENQUEUE_MANY_BATCH", 4)
    email_enqueue(
        dedupe_key="fanout:1:5",
        to="first@example.org",
        template="outbox_test",
        context={"title": "First", "name": "Sam"},
    )
    assert enqueue([email(n) for n in range(11)]) == 10
    assert OutboxMessage.objects.count() == 11


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ({"to": "not an address"}, ValidationError),
        ({"dedupe_key": "fanout:someone@example.org"}, ValueError),
        ({"context": {"link": "RAW_TOKEN_LINK"}}, ValueError),
        ({"context": {"when": object()}}, TypeError),
        ({"headers": {"Subject": "spoofed"}}, ValueError),
        ({"headers": {"X-Note": "two\r\nlines"}}, ValueError),
    ],
)
def test_one_bad_row_queues_nothing(bad: dict[str, Any], error: type[Exception]) -> None:
    if bad.get("context") == {"link": "RAW_TOKEN_LINK"}:
        bad = {"context": {"link": absolute_url("stories:verify", "a-working-token")}}
    good = email(1)
    fields = {"dedupe_key": "fanout:1:9", "to": "ok@example.org", "context": {}, "headers": {}}
    with pytest.raises(error):
        enqueue([good, QueuedEmail(**{**fields, **bad})])
    assert OutboxMessage.objects.count() == 0


def test_a_secret_link_is_stored_as_its_seed() -> None:
    link = secret_link("stories:verify", "a-seed")
    assert enqueue([email(1, link=link)]) == 1
    assert by_key()["fanout:1:1"].context["link"] == link


def test_unknown_templates_and_guards_are_refused_before_anything_is_written() -> None:
    with pytest.raises(Exception, match="no_such"):
        email_enqueue_many(template="no_such_template", emails=[email(1)])
    with pytest.raises(LookupError):
        enqueue([email(1)], guard="outbox_test.no_such_guard")
    assert OutboxMessage.objects.count() == 0


# The guard, once per batch ------------------------------------------------------------------


def test_a_guard_is_asked_once_per_args_in_a_batch(smtp_sink: SmtpSink) -> None:
    OPEN.update({1, 2})
    enqueue([email(n, story=1) for n in range(5)], guard=GUARD, guard_args={"story": 1})
    enqueue([email(n, story=2) for n in range(3)], guard=GUARD, guard_args={"story": 2})
    assert outbox_run_once(worker_id="w", limit=50) == 8
    assert sorted(ASKED) == [1, 2]
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {Status.SENT}
    smtp_sink.wait_for(8)
    # The next batch asks again.
    enqueue([email(9, story=1)], guard=GUARD, guard_args={"story": 1})
    assert outbox_run_once(worker_id="w", limit=50) == 1
    assert sorted(ASKED) == [1, 1, 2]


def test_a_failing_guard_cancels_every_email_it_guards_in_the_batch(smtp_sink: SmtpSink) -> None:
    OPEN.add(2)  # story 1 was withdrawn after its emails were queued; story 2 was not
    emails = [email(n, story=1 + n % 2) for n in range(6)]
    for queued in emails:
        enqueue([queued], guard=GUARD, guard_args={"story": int(queued.dedupe_key.split(":")[1])})
    assert outbox_run_once(worker_id="w", limit=50) == 6
    status = {k: m.status for k, m in by_key().items()}
    assert status == {
        e.dedupe_key: Status.SENT if e.dedupe_key.startswith("fanout:2:") else Status.CANCELLED
        for e in emails
    }
    assert sorted(ASKED) == [1, 2]
    assert sorted(r for m in smtp_sink.wait_for(3) for r in m.rcpt_tos) == [
        "member1@example.org",
        "member3@example.org",
        "member5@example.org",
    ]


def test_a_guard_failing_mid_batch_stops_every_email_after_it() -> None:
    """A job in the batch withdraws the story: the emails after it ask again, and stop."""
    OPEN.add(1)
    enqueue([email(n) for n in range(3)], guard=GUARD, guard_args={"story": 1})
    job_enqueue(name="outbox_test.close_story", payload={"story": 1}, dedupe_key="withdraw:1")
    enqueue([email(n) for n in range(3, 6)], guard=GUARD, guard_args={"story": 1})
    assert outbox_run_once(worker_id="w", limit=50) == 7
    status = {k: m.status for k, m in by_key().items()}
    assert [status[f"fanout:1:{n}"] for n in range(6)] == [Status.SENT] * 3 + [Status.CANCELLED] * 3
    assert ASKED == [1, 1]


def test_a_guards_answer_is_kept_only_for_a_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    """An answer older than GUARD_ANSWER_SECONDS is asked again, within one batch: a story
    withdrawn while a long batch is sending stops the emails not yet sent."""
    monkeypatch.setattr(outbox_services, "GUARD_ANSWER_SECONDS", 0.0)
    OPEN.add(1)
    sends = 0

    def send_then_withdraw(message: OutboxMessage, connection: Any) -> None:
        nonlocal sends
        sends += 1
        if sends == 2:
            OPEN.discard(1)  # withdrawn while the second email was being sent

    monkeypatch.setattr(outbox_services, "_send_email", send_then_withdraw)
    enqueue([email(n) for n in range(5)], guard=GUARD, guard_args={"story": 1})
    assert outbox_run_once(worker_id="w", limit=50) == 5
    status = {k: m.status for k, m in by_key().items()}
    assert [status[f"fanout:1:{n}"] for n in range(5)] == [Status.SENT] * 2 + [Status.CANCELLED] * 3
    assert ASKED == [1] * 5
