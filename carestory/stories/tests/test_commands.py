from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from carestory.accounts.models import User
from carestory.audit.models import AuditEvent
from carestory.subscriptions.models import Membership

pytestmark = pytest.mark.django_db


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
