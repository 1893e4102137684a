"""Organisations that subscribe: their scope in the service tree and their staff."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from carestory.services.models import Service


class Subscription(models.Model):
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("organisation name"), max_length=200)
    scope = models.ManyToManyField(
        Service, related_name="subscriptions", help_text="Subtrees whose stories this covers."
    )
    is_active = models.BooleanField(default=True)
    safeguarding_email = models.EmailField(
        blank=True, help_text="Told when a story about its services is held for safeguarding."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MembershipQuerySet(models.QuerySet["Membership"]):
    def active(self) -> MembershipQuerySet:
        return self.filter(is_active=True, subscription__is_active=True, user__is_active=True)

    def can_respond(self) -> MembershipQuerySet:
        return self.filter(role__in=[Membership.Role.RESPONDER, Membership.Role.ADMINISTRATOR])


class Membership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", _("Member")
        RESPONDER = "responder", _("Responder")
        ADMINISTRATOR = "administrator", _("Administrator")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    is_active = models.BooleanField(default=True, help_text="Untick to freeze a member.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects: ClassVar[MembershipQuerySet] = MembershipQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "subscription"], name="one_membership_each")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) at {self.subscription}"
