"""manage.py add_staff: a member of an organisation's subscription from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from carestory.accounts.models import User
from carestory.audit.models import AuditEvent
from carestory.subscriptions.models import Membership
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db


def test_add_staff(tmp_path: Path) -> None:
    ServiceFactory(code="RZZ", name="Zed Trust", kind="trust")
    secret = tmp_path / "pw"
    secret.write_text("correct horse battery staple\n")
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
    assert membership.user.check_password("correct horse battery staple")
    assert AuditEvent.objects.filter(action="membership.add").exists()


def test_add_staff_rejects_an_unknown_organisation(tmp_path: Path) -> None:
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
    assert not User.objects.exists()
