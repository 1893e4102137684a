"""manage.py add_moderator: a moderator account from the command line, password from a file."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from carestory.accounts.models import User

pytestmark = pytest.mark.django_db


def test_add_moderator(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("correct horse battery staple\n")
    call_command("add_moderator", "mod@example.org", "--senior", "--password-file", str(secret))
    moderator = User.objects.get(email="mod@example.org")
    assert moderator.is_moderator and moderator.is_senior_moderator
    assert moderator.check_password("correct horse battery staple")


def test_add_moderator_rejects_a_bad_password_file(tmp_path: Path) -> None:
    short = tmp_path / "short"
    short.write_text("abc")
    with pytest.raises(CommandError, match="too short"):
        call_command("add_moderator", "m@example.org", "--password-file", str(short))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("add_moderator", "m@example.org", "--password-file", str(tmp_path / "missing"))
    assert not User.objects.exists()
