"""Reading a password for a management command: from a file or a prompt, never argv."""

from __future__ import annotations

import getpass
from pathlib import Path

from django.core.management.base import CommandError


def read_password(password_file: str | None) -> str:
    if password_file:
        try:
            password = Path(password_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CommandError(f"Cannot read the password file: {exc.strerror}") from exc
        if not password:
            raise CommandError("The password file is empty")
        return password
    first = getpass.getpass("Password: ")
    second = getpass.getpass("Password (again): ")
    if first != second:
        raise CommandError("The passwords do not match")
    return first
