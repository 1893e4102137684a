"""Alert fan-out (issue 10): one story published in a scope whose 5,000 members each have an
immediate "new stories, whole scope" alert, sent by the real outbox worker to a local SMTP
server; the time from the publication's commit to the last email received.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/carestory_alerts_bench \\
        .venv/bin/python bench/alerts_fanout.py [--members 5000] [--workers 1] [--timeout 300]

1. The database: DATABASE_URL (default ``carestory_alerts_bench`` on 127.0.0.1; PostgreSQL
   only), created if missing and migrated. It may hold other data (a synthetic dataset):
   the bench's own service, ``FANOUT-BENCH``, is covered by no other subscription.
2. The organisation, made once and reused: the service and a subscription scoped to it
   (``service_create``, ``subscription_create``), its first administrator through
   ``staff_add`` (which gives the default alert: new stories, immediately, the whole scope),
   then the other members written in bulk as ``staff_add`` and ``alert_default_create`` write
   them (a verified account with a real address and full name, an active responder
   membership, the same default alert), without hashing 5,000 passwords or auditing each.
   An author and a moderator. A story is told (``story_submit``) and waits in moderation.
3. The SMTP server: ``carestory.outbox.testing.SmtpSink`` (aiosmtpd, as the tests use) in this
   process, timing each message as it is accepted. ``--workers`` outbox workers
   (``manage.py run_worker --no-periodic``, production settings, a throwaway SECRET_KEY,
   Django's SMTP backend to the sink) are started and left to run the story's own jobs until
   nothing is due.
4. The moderator publishes the story (``story_publish``, the real path: the author's email and
   the ``alerts.story_published`` job are queued in its transaction). The clock starts when it
   has committed and stops when the sink has the last member's email (``--timeout`` at most).

Prints and writes bench/results/<date>-alerts-fanout-[<label>-]<workers>w.json: the time to
the first and the last member's email, the fan-out job's share (publication commit to the
job's commit, which queues the emails), the sending rate, duplicates, and the headers' check
(every email has ``List-Unsubscribe`` and ``List-Unsubscribe-Post``). ``--label`` names a run
so that it does not replace the day's last file. The database is left in place.
"""

# The bench runs fixed programs of its own (manage.py) and connects only to 127.0.0.1.
# ruff: noqa: S603

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PY = str(ROOT / ".venv" / "bin" / "python")
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/carestory_alerts_bench"
DATABASE_URL = os.environ.get("DATABASE_URL") or DEFAULT_DB
os.environ["DATABASE_URL"] = DATABASE_URL
os.environ["DJANGO_SETTINGS_MODULE"] = "carestory.settings"
os.environ.setdefault("CARESTORY_ENV", "development")
os.environ.setdefault("DEBUG", "false")

SERVICE_CODE = "FANOUT-BENCH"
MEMBER_DOMAIN = "fanout-bench.carestory.invalid"
ADMIN_EMAIL = f"admin@{MEMBER_DOMAIN}"
MODERATOR_EMAIL = f"moderator@{MEMBER_DOMAIN}"
MEMBER_AT = f"@{MEMBER_DOMAIN}"
AUTHOR_EMAIL = "author@fanout-author.carestory.invalid"


def log(message: str) -> None:
    print(f"[fanout {time.strftime('%H:%M:%S')}] {message}", flush=True)


def ensure_database() -> None:
    import psycopg

    url = urllib.parse.urlparse(DATABASE_URL)
    if not url.scheme.startswith("postgres"):
        raise SystemExit("the fan-out bench measures PostgreSQL: DATABASE_URL=postgres://...")
    name = url.path.lstrip("/")
    admin = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            log(f"creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')


def member_email(n: int) -> str:
    return f"member{n:05d}@{MEMBER_DOMAIN}"


def prepare(members: int) -> Any:
    """The organisation of ``members`` members (made once, topped up), and a story in
    moderation; returns the story."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from carestory.accounts.models import User
    from carestory.accounts.services import author_get_or_create, moderator_add
    from carestory.alerts.models import Alert
    from carestory.services.models import Service
    from carestory.services.services import service_create
    from carestory.stories.services import StoryDraft, story_submit
    from carestory.subscriptions.models import Membership, Subscription
    from carestory.subscriptions.services import staff_add, subscription_create

    password = secrets.token_urlsafe(24)
    with transaction.atomic():
        service = Service.objects.filter(code=SERVICE_CODE).first() or service_create(
            code=SERVICE_CODE, name="Fan-out Bench NHS Trust", kind=Service.Kind.TRUST
        )
        subscription = Subscription.objects.filter(code=SERVICE_CODE).first()
        if subscription is None:
            subscription = subscription_create(
                code=SERVICE_CODE, name=service.name, scope=[service]
            )
            staff_add(
                email=ADMIN_EMAIL,
                subscription=subscription,
                role=Membership.Role.ADMINISTRATOR,
                password=password,
                full_name="Bench Administrator",
            )
        have = set(
            User.objects.filter(email__endswith=f"@{MEMBER_DOMAIN}").values_list("email", flat=True)
        )
        wanted = [member_email(n) for n in range(1, members)]  # the administrator is one
        missing = [e for e in wanted if e not in have]
        if missing:
            log(f"adding {len(missing):,} members")
            now = timezone.now()
            unusable = make_password(None)
            users = User.objects.bulk_create(
                [
                    User(
                        email=email,
                        password=unusable,
                        full_name=f"Member {email[6:11]}",
                        job_title="Ward manager",
                        email_verified_at=now,
                    )
                    for email in missing
                ],
                batch_size=1000,
            )
            memberships = Membership.objects.bulk_create(
                [
                    Membership(user=u, subscription=subscription, role=Membership.Role.RESPONDER)
                    for u in users
                ],
                batch_size=1000,
            )
            Alert.objects.bulk_create(
                [
                    Alert(
                        membership=m,
                        events=[Alert.Event.STORIES],
                        frequency=Alert.Frequency.IMMEDIATE,
                    )
                    for m in memberships
                ],
                batch_size=1000,
            )
        moderator = User.objects.filter(email=MODERATOR_EMAIL).first() or moderator_add(
            email=MODERATOR_EMAIL, password=password, full_name="Bench Moderator"
        )
        author = author_get_or_create(email=AUTHOR_EMAIL)
        if author.email_verified_at is None:
            author.email_verified_at = timezone.now()
            author.save(update_fields=["email_verified_at"])
    active = Alert.objects.filter(
        membership__subscription=subscription, is_active=True, frequency="immediate"
    ).count()
    log(f"{active:,} immediate alerts in {SERVICE_CODE}'s scope; moderator {moderator.pk}")
    draft = StoryDraft(
        email=author.email,
        screen_name="Bench patient",
        author_role="patient",
        title="Kind and quick care on the ward",
        body="I came in late at night with chest pain. The nurse explained everything and the "
        "doctor listened to me. The tests were done within the hour. " * 3,
        services=[service],
        consent=True,
    )
    return story_submit(draft=draft, idempotency_key=uuid.uuid4(), signed_in=author).story


def publish(story: Any) -> float:
    """The moderator publishes the story; the wall-clock time of the commit."""
    from carestory.accounts.models import User
    from carestory.moderation.services.decisions import story_publish
    from carestory.moderation.services.edits import StoryEdit

    story.refresh_from_db()
    moderator = User.objects.get(email=MODERATOR_EMAIL)
    status = story_publish(
        story=story,
        moderator=moderator,
        edit=StoryEdit(
            version=story.version,
            title=story.title,
            body=story.body,
            criticality=2,
            tags=(),
            services=tuple(story.services.all()),
        ),
    )
    committed = time.time()  # story_publish is atomic: back here, it has committed
    if status != "published":
        raise SystemExit(f"the story went to {status}, not published")
    return committed


def due_count() -> int:
    from django.utils import timezone

    from carestory.outbox.models import OutboxMessage

    return OutboxMessage.objects.filter(
        status__in=["pending", "sending"], next_attempt_at__lte=timezone.now()
    ).count()


def worker_env(port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EMAIL_", "DJANGO_"))}
    env.update(
        CARESTORY_ENV="production",
        DJANGO_SETTINGS_MODULE="carestory.settings",
        DATABASE_URL=DATABASE_URL,
        SECRET_KEY=secrets.token_urlsafe(48),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SITE_URL="https://carestory.example",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(port),
        EMAIL_USE_TLS="false",
        DEBUG="false",
        PYTHONUNBUFFERED="1",
    )
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--target", type=float, default=30.0, help="seconds (the issue's)")
    parser.add_argument(
        "--label", default="", help="in the results file's name, so a rerun keeps the last one"
    )
    args = parser.parse_args()
    ensure_database()
    log("migrating")
    subprocess.run(
        [PY, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, check=True, timeout=1800
    )

    import django

    django.setup()
    from carestory.outbox.models import OutboxMessage
    from carestory.outbox.testing import ReceivedEmail, SmtpSink

    arrivals: list[tuple[float, ReceivedEmail]] = []

    class TimedSink(SmtpSink):
        def _received(self, email: ReceivedEmail) -> None:
            arrivals.append((time.time(), email))
            super()._received(email)

    story = prepare(args.members)
    sink = TimedSink()
    sink.start()
    log(f"SMTP sink on 127.0.0.1:{sink.port}; starting {args.workers} outbox worker(s)")
    logs = ROOT / "var"
    logs.mkdir(exist_ok=True)
    env = worker_env(sink.port)
    workers = [
        subprocess.Popen(
            [PY, "manage.py", "run_worker", "--no-periodic", "--worker-id", f"fanout-{n}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(logs / f"fanout-worker-{n}.log").open("wb"),
        )
        for n in range(args.workers)
    ]
    try:
        deadline = time.monotonic() + 120
        while due_count() and time.monotonic() < deadline:
            time.sleep(0.5)  # the story's own jobs (checks, acknowledgement) first
        time.sleep(1)
        sink.clear()
        arrivals.clear()
        log(f"publishing story {story.pk}")
        committed = publish(story)
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            if len(arrivals) >= args.members:  # then count only the members' (below)
                got = sum(1 for _t, e in list(arrivals) if e.rcpt_tos[0].endswith(MEMBER_AT))
                if got >= args.members:
                    break
            time.sleep(0.2)
    finally:
        for proc in workers:
            proc.terminate()
        for proc in workers:
            proc.wait(timeout=30)
        sink.stop()

    mine = [(t, e) for t, e in arrivals if e.rcpt_tos[0].endswith(f"@{MEMBER_DOMAIN}")]
    recipients = [e.rcpt_tos[0] for _t, e in mine]
    job = OutboxMessage.objects.get(dedupe_key=f"alerts.story_published:{story.pk}")
    alert_rows = OutboxMessage.objects.filter(
        dedupe_key__startswith=f"staff-alert:story:{story.pk}:"
    )
    fanout_done = job.sent_at.timestamp() if job.sent_at else None
    last = mine[-1][0] if mine else None
    result = {
        "date": dt.date.today().isoformat(),
        "database": urllib.parse.urlparse(DATABASE_URL).path.lstrip("/"),
        "members": args.members,
        "workers": args.workers,
        "batch_size": int(os.environ.get("OUTBOX_BATCH_SIZE", 20)),
        "cpus": os.cpu_count(),
        "story_id": story.pk,
        "emails_queued": alert_rows.count(),
        "emails_received": len(mine),
        "distinct_recipients": len(set(recipients)),
        "with_list_unsubscribe": sum(
            1
            for _t, e in mine
            if e.header("List-Unsubscribe") and e.header("List-Unsubscribe-Post")
        ),
        "fanout_job_s": round(fanout_done - committed, 2) if fanout_done else None,
        "first_email_s": round(mine[0][0] - committed, 2) if mine else None,
        "last_email_s": round(last - committed, 2) if last else None,
        "sending_s": round(last - mine[0][0], 2) if mine and last else None,
        "emails_per_s": round(len(mine) / (last - mine[0][0]), 1)
        if mine and last and last > mine[0][0]
        else None,
        "target_s": args.target,
    }
    result["met"] = bool(
        result["last_email_s"] is not None
        and len(set(recipients)) >= args.members
        and result["last_email_s"] <= args.target
    )
    label = f"{args.label}-" if args.label else ""
    out = ROOT / "bench" / "results" / f"{result['date']}-alerts-fanout-{label}{args.workers}w.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    log(f"written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
