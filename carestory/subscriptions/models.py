"""Organisations that subscribe: their scope in the service tree, their term and level, their
staff (memberships, profiles) and the invitations and uploads that bring staff in.

A subscription's **term** is one rule, here: ``in_term`` (it may respond and is alerted) holds
from ``starts_on`` to ``ends_on`` inclusive (either may be blank: open); ``readable`` holds
``READ_GRACE_DAYS`` longer, so a lapsed organisation keeps read access for a while. Its
**level** says what it has paid for: registration (read and respond) or full (alerts, reports,
API, widgets too; ``has_full_level``).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from carestory.accounts.models import NormalisedEmailField
from carestory.services.models import Service

READ_GRACE_DAYS = 30


def _today(on: date | None) -> date:
    return on or timezone.localdate()


def in_term_q(on: date | None = None, prefix: str = "") -> Q:
    """Active, started and not ended on ``on`` (today): responds and is alerted."""
    day = _today(on)
    return (
        Q(**{f"{prefix}is_active": True})
        & (Q(**{f"{prefix}starts_on__isnull": True}) | Q(**{f"{prefix}starts_on__lte": day}))
        & (Q(**{f"{prefix}ends_on__isnull": True}) | Q(**{f"{prefix}ends_on__gte": day}))
    )


def readable_q(on: date | None = None, prefix: str = "") -> Q:
    """Active, started, and ended at most READ_GRACE_DAYS before ``on``: may still read."""
    day = _today(on)
    grace_start = day - timedelta(days=READ_GRACE_DAYS)
    return (
        Q(**{f"{prefix}is_active": True})
        & (Q(**{f"{prefix}starts_on__isnull": True}) | Q(**{f"{prefix}starts_on__lte": day}))
        & (Q(**{f"{prefix}ends_on__isnull": True}) | Q(**{f"{prefix}ends_on__gte": grace_start}))
    )


class SubscriptionQuerySet(models.QuerySet["Subscription"]):
    def in_term(self, on: date | None = None) -> SubscriptionQuerySet:
        return self.filter(in_term_q(on))

    def readable(self, on: date | None = None) -> SubscriptionQuerySet:
        return self.filter(readable_q(on))


class Subscription(models.Model):
    class Level(models.TextChoices):
        REGISTRATION = "registration", _("Registration (read and respond)")
        FULL = "full", _("Full (alerts, reports, API and widgets too)")

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("organisation name"), max_length=200)
    scope = models.ManyToManyField(
        Service, related_name="subscriptions", help_text="Subtrees whose stories this covers."
    )
    is_active = models.BooleanField(default=True)
    safeguarding_email = models.TextField(
        blank=True,
        help_text="Told when a story about its services is held for safeguarding: one address "
        "a line (subscriptions/services.safeguarding_contact_set checks them).",
    )
    level = models.CharField(max_length=20, choices=Level.choices, default=Level.FULL)
    starts_on = models.DateField(null=True, blank=True, help_text="Blank: from the start.")
    ends_on = models.DateField(
        null=True, blank=True, help_text="The last day of the term. Blank: no end."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects: ClassVar[SubscriptionQuerySet] = SubscriptionQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_on__isnull=True)
                | Q(ends_on__isnull=True)
                | Q(starts_on__lte=models.F("ends_on")),
                name="subscription_term_in_order",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def safeguarding_contacts(self) -> list[str]:
        """The addresses told of a safeguarding hold, in the order the administrator gave."""
        return [line for line in self.safeguarding_email.splitlines() if line.strip()]

    @property
    def has_full_level(self) -> bool:
        return self.level == self.Level.FULL


class MembershipQuerySet(models.QuerySet["Membership"]):
    def active(self) -> MembershipQuerySet:
        return self.filter(is_active=True, subscription__is_active=True, user__is_active=True)

    def in_term(self, on: date | None = None) -> MembershipQuerySet:
        """Active members of subscriptions in their term: they may respond and are alerted."""
        return self.active().filter(in_term_q(on, prefix="subscription__"))

    def readable(self, on: date | None = None) -> MembershipQuerySet:
        """Active members of subscriptions they may still read (the term and its grace)."""
        return self.active().filter(readable_q(on, prefix="subscription__"))

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
    frozen_at = models.DateTimeField(
        null=True, blank=True, help_text="When last frozen: sessions begun before it end."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects: ClassVar[MembershipQuerySet] = MembershipQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "subscription"], name="one_membership_each")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) at {self.subscription}"


class StaffProfile(models.Model):
    """How a member of staff is shown: on their responses (name, job title, department, "what
    I do") and to fellow members (the phone number too). ``User.full_name`` and
    ``User.job_title`` are kept in step by ``services.profile_update``."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    first_name = models.CharField(_("first name"), max_length=75, blank=True)
    last_name = models.CharField(_("last name"), max_length=75, blank=True)
    job_title = models.CharField(_("job title"), max_length=150, blank=True)
    department = models.CharField(_("department"), max_length=150, blank=True)
    what_i_do = models.CharField(_("what I do"), max_length=300, blank=True)
    phone = models.CharField(
        _("phone"), max_length=40, blank=True, help_text="Shown to fellow members only."
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"profile of user {self.user_id}"

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


class MemberUpload(models.Model):
    """An administrator's file of members, checked and waiting to be confirmed.

    ``rows`` holds the checked rows (``bulk.CheckedRow`` as JSON: the values, what will happen
    to each, its problems); nothing else is written until ``confirmed_at`` is set, once (a
    conditional UPDATE), so a double submit makes one set of invitations."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="member_uploads"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_name = models.CharField(max_length=200, blank=True)
    rows = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"member upload {self.pk}"


class Invitation(models.Model):
    """An emailed invitation to join a subscription: single use, ``INVITATION_DAYS`` long.
    Only the link token's hash is stored (``lib/tokens``)."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="invitations"
    )
    email = NormalisedEmailField()
    first_name = models.CharField(max_length=75, blank=True)
    last_name = models.CharField(max_length=75, blank=True)
    job_title = models.CharField(max_length=150, blank=True)
    department = models.CharField(max_length=150, blank=True)
    role = models.CharField(
        max_length=20, choices=Membership.Role.choices, default=Membership.Role.MEMBER
    )
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    upload = models.ForeignKey(
        MemberUpload, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitations"
    )
    idempotency_key = models.UUIDField(null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["subscription", "email"])]

    def __str__(self) -> str:
        return f"invitation {self.pk} to {self.subscription_id}"

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)
