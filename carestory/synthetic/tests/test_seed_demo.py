"""``manage.py seed_demo``: demo data across the apps (the service tree, subscriptions, staff,
stories in every state, responses and replies), for ``make run``."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from carestory.accounts.models import User
from carestory.outbox.models import OutboxMessage
from carestory.responses.models import AuthorReply, Response
from carestory.services.models import Postcode, Service
from carestory.stories.models import Story

pytestmark = pytest.mark.django_db


def test_seed_demo_loads_every_state(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.txt"
    call_command("seed_demo", "--accounts-file", str(accounts))
    statuses = set(Story.objects.values_list("status", flat=True))
    assert statuses == {"published", "in_moderation", "rejected", "withdrawn", "provider_review"}
    # The GP practice story waits for the practice: its administrators were emailed.
    gp_story = Story.objects.get(services__code="A81001")
    assert gp_story.status == "provider_review"
    assert OutboxMessage.objects.filter(dedupe_key__startswith="provider-review").exists()
    assert Postcode.objects.filter(code="TS181HU").exists()
    assert Response.objects.published().exists()
    assert (
        AuthorReply.objects.published().exists()
        and AuthorReply.objects.filter(status="in_moderation").exists()
    )
    assert Service.objects.filter(code="A81001", kind="gp_practice").exists()
    text = accounts.read_text()
    assert "moderator@" in text and "password:" in text
    moderator = User.objects.get(email__startswith="moderator@")
    password = next(line for line in text.splitlines() if "moderator@" in line).rsplit(" ", 1)[-1]
    assert moderator.check_password(password)


def test_seed_demo_if_empty_does_nothing_twice(tmp_path: Path) -> None:
    call_command("seed_demo", "--if-empty", "--accounts-file", str(tmp_path / "a.txt"))
    count = Story.objects.count()
    call_command("seed_demo", "--if-empty", "--accounts-file", str(tmp_path / "b.txt"))
    assert Story.objects.count() == count
    assert not (tmp_path / "b.txt").exists()


def test_seed_demo_refuses_production(settings: object, tmp_path: Path) -> None:
    settings.PRODUCTION = True  # type: ignore[attr-defined]
    with pytest.raises(CommandError, match="production"):
        call_command("seed_demo", "--accounts-file", str(tmp_path / "a.txt"))
    assert Service.objects.count() == 0
