from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from carestory.accounts.services import moderator_add
from carestory.lib.passwords import read_password


class Command(BaseCommand):
    help = "Create a moderator account, or make an existing account a moderator."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--senior", action="store_true", help="A senior moderator")
        parser.add_argument("--name", default="", help="Full name shown to other moderators")
        parser.add_argument("--password-file", help="Read the password from this file")

    def handle(self, *args: Any, **options: Any) -> None:
        password = read_password(options["password_file"])
        try:
            user = moderator_add(
                email=options["email"],
                password=password,
                senior=options["senior"],
                full_name=options["name"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        kind = "senior moderator" if user.is_senior_moderator else "moderator"
        self.stdout.write(self.style.SUCCESS(f"{user.email} is a {kind}."))
