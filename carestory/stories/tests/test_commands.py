from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from carestory.accounts.models import User
from carestory.audit.models import AuditEvent
from carestory.outbox.models import OutboxMessage
from carestory.responses.models import AuthorReply, Response
from carestory.services.models import Postcode, Service
from carestory.stories.models import Story
from carestory.subscriptions.models import Membership

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


def test_add_moderator_and_staff(tmp_path: Path) -> None:
    from tests.factories import ServiceFactory

    ServiceFactory(code="RZZ", name="Zed Trust", kind="trust")
    secret = tmp_path / "pw"
    secret.write_text("correct horse battery staple\n")
    call_command("add_moderator", "mod@example.org", "--senior", "--password-file", str(secret))
    moderator = User.objects.get(email="mod@example.org")
    assert moderator.is_moderator and moderator.is_senior_moderator
    assert moderator.check_password("correct horse battery staple")

    call_command(
        "add_staff",
        "Resp@Example.org",
        "--organisation",
        "rzz",
        "--role",
        "responder",
        "--password-file",
        str(secret),
        "--name",
        "Rae Spond",
        "--job-title",
        "Matron",
    )
    membership = Membership.objects.get(user__email="resp@example.org")
    assert (membership.role, membership.subscription.code) == ("responder", "RZZ")
    assert list(membership.subscription.scope.values_list("code", flat=True)) == ["RZZ"]
    assert AuditEvent.objects.filter(action="membership.add").exists()


def test_add_staff_rejects_bad_input(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("correct horse battery staple")
    with pytest.raises(CommandError, match="No organisation or service has the code NOPE"):
        call_command(
            "add_staff",
            "x@example.org",
            "--organisation",
            "NOPE",
            "--role",
            "member",
            "--password-file",
            str(secret),
        )
    short = tmp_path / "short"
    short.write_text("abc")
    with pytest.raises(CommandError, match="too short"):
        call_command("add_moderator", "m@example.org", "--password-file", str(short))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("add_moderator", "m@example.org", "--password-file", str(tmp_path / "missing"))
    assert not User.objects.exists()
