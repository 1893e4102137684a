from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from carestory.lib.passwords import read_password
from carestory.subscriptions.models import Membership
from carestory.subscriptions.services import staff_add, subscription_for_code


class Command(BaseCommand):
    help = "Add a staff member to an organisation's subscription with a role."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--organisation", required=True, help="Subscription or service code")
        parser.add_argument("--role", required=True, choices=Membership.Role.values)
        parser.add_argument("--name", default="", help="Full name, shown on responses")
        parser.add_argument("--job-title", default="", help="Job title, shown on responses")
        parser.add_argument("--password-file", help="Read the password from this file")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            subscription = subscription_for_code(code=options["organisation"])
            password = read_password(options["password_file"])
            membership = staff_add(
                email=options["email"],
                subscription=subscription,
                role=options["role"],
                password=password,
                full_name=options["name"],
                job_title=options["job_title"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"{membership.user.email} is a {membership.role} of {subscription.name}."
            )
        )
