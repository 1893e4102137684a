"""Worst-case text inputs end to end, through the real views (issue: bounded work per request).

    .venv/bin/python bench/hardening_bench.py

On a throwaway SQLite database (var/hardening-bench.sqlite3, removed afterwards) it times, with
Django's test client in this process (no network):

* POST /tell-your-story/ with a 120,000-character body (refused with a message);
* POST /tell-your-story/guidance with 120,000 "!" (refused) and with 20,000 "!" (analysed);
* the author's story of 20,000 characters of "a.a.a.a" and "!!!!" submitted, then checked by
  the worker job (the whole automated analysis);
* a moderator opening the workbench for a story whose public version differs from the original
  in about 400 scattered places over about 40,000 tokens (both versions), and for the
  adversarial "a.a.a" story whose public text was rewritten.

Each is timed 5 times; the median and the worst are printed (seconds). The target is under one
second for every line.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB = ROOT / "var" / "hardening-bench.sqlite3"
os.environ["DATABASE_URL"] = f"sqlite:///{DB}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carestory.settings")
os.environ.setdefault("CARESTORY_ENV", "test")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

ROUNDS = 5


def timed(label: str, fn: Callable[[], object]) -> None:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    print(f"{label:<72} median {statistics.median(times):7.3f} s   worst {max(times):7.3f} s")


def main() -> None:
    from carestory.accounts.models import User
    from carestory.outbox.services import outbox_drain
    from carestory.services.models import Service
    from carestory.stories.models import Story
    from tests.factories import StoryFactory, UserFactory

    setup_test_environment()
    DB.unlink(missing_ok=True)
    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0)
    service = Service.objects.filter(is_open=True).first()
    assert service is not None
    client = Client()
    client.get("/")

    def tell(body: str) -> int:
        data = {
            "service": [service.code],
            "idempotency_key": str(uuid.uuid4()),
            "title": "A title",
            "body": body,
            "author_role": "patient",
            "screen_name": "Grateful patient",
            "email": f"bench{uuid.uuid4().hex[:8]}@example.org",
            "consent": "on",
        }
        return client.post("/tell-your-story/", data).status_code

    def guidance(body: str) -> int:
        return client.post("/tell-your-story/guidance", {"title": "", "body": body}).status_code

    timed("tell: 120,000-character body (refused)", lambda: tell("!" * 120_000))
    timed("guidance: 120,000 '!' (refused)", lambda: guidance("!" * 120_000))
    timed("guidance: 20,000 '!' (analysed)", lambda: guidance("!" * 20_000))
    timed("guidance: 20,000 chars of 'a.a.a.a' (analysed)", lambda: guidance("a." * 10_000))

    def tell_and_check(body: str) -> None:
        tell(body)
        outbox_drain()

    timed("tell + worker check: 20,000 '!'", lambda: tell_and_check("!" * 20_000))
    timed("tell + worker check: 20,000 chars of 'a.a.a.a'", lambda: tell_and_check("a." * 10_000))

    from carestory.moderation.diff import tokenize

    moderator = User.objects.filter(is_moderator=True).first() or UserFactory(
        email="bench-mod@example.org", is_moderator=True
    )
    staff = Client()
    staff.force_login(moderator)
    # Single-letter words and full stops: 19,990 tokens a side; the public version has a
    # moderator's edit every 50 tokens (about 400 scattered changes).
    original = "a." * 9_995
    public_tokens = tokenize(original)
    for i in range(0, len(public_tokens), 50):
        public_tokens[i] = "X"
    public = "".join(public_tokens)
    scattered = StoryFactory(
        services=[service], status=Story.Status.IN_MODERATION, original_body=original, body=public
    )
    adversarial = StoryFactory(
        services=[service],
        status=Story.Status.IN_MODERATION,
        original_body="a." * 9_995,
        body="b," * 9_995,
    )
    print(f"(scattered story: {len(tokenize(original)) + len(tokenize(public)):,} tokens)")
    for label, story in [("scattered edits", scattered), ("a.a.a -> b,b,b", adversarial)]:
        url = f"/moderation/stories/{story.public_id}/"

        def open_workbench(url: str = url) -> None:
            status = staff.get(url).status_code
            assert status == 200, status

        timed(f"workbench: {label}", open_workbench)
    DB.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
