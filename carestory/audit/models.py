"""The audit log: append-only record of every moderation and staff action."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    """Refuses a bulk change as the model refuses a change of one event: without this, a
    queryset update or delete (bulk_update included) would change the log on SQLite, which
    has no trigger."""

    def update(self, **kwargs: Any) -> int:
        raise RuntimeError("Audit events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise RuntimeError("Audit events are append-only")


class AuditEvent(models.Model):
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150, help_text="Who, kept if the account goes.")
    action = models.CharField(max_length=60, db_index=True)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=40, db_index=True)
    changes = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)

    objects: ClassVar[AuditEventQuerySet] = AuditEventQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id", "at"])]

    def __str__(self) -> str:
        when = f"{self.at:%Y-%m-%d %H:%M}"
        return f"{when} {self.actor_label} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise RuntimeError("Audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise RuntimeError("Audit events are append-only")


class LoginAttempt(models.Model):
    """Password sign-in attempts (staff login and the admin login): the throttle's counts and
    the security record.

    The address is stored as an HMAC under the SECRET_KEY of its normalised form: the table
    proves attempts, it does not collect addresses. A row is written *pending* before the
    password is checked (so concurrent guesses are counted) and then marked with the outcome;
    ``refused`` means the throttle answered before any password was checked."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "pending"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"
        REFUSED = "refused", "refused (throttled)"

    class Surface(models.TextChoices):
        STAFF = "staff", "staff sign-in"
        ADMIN = "admin", "internal admin"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    email_hash = models.CharField(max_length=64)
    ip = models.GenericIPAddressField(null=True, blank=True)
    client_key = models.CharField(
        max_length=64, default="", help_text="The client the throttle counts: network or device."
    )
    trusted_device = models.BooleanField(
        default=False, help_text="The browser had signed in to this account before."
    )
    surface = models.CharField(max_length=10, choices=Surface.choices, default=Surface.STAFF)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)

    class Meta:
        indexes = [
            models.Index(fields=["email_hash", "at"]),
            models.Index(fields=["client_key", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.surface} {self.outcome}"
