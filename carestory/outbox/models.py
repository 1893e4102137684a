"""The durable outbox: email and jobs written in the same transaction as the change."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class OutboxMessage(models.Model):
    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        JOB = "job", "Job"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending (leased by a worker)"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed after every retry"
        CANCELLED = "cancelled", "Cancelled: its guard no longer held when it was due"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    # One row per (event, recipient): the unique key makes enqueueing idempotent.
    dedupe_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    # Email: rendered when it is sent, from ``template`` and ``context`` (in ``language``), so
    # no rendered body (and no working link) is kept in the database. Secret links are stored
    # as seeds that only the SECRET_KEY turns into a working token (lib/tokens.py) and
    # are removed from the context once the email is sent; the retention purge empties the
    # address and the context of finished rows.
    to_email = models.EmailField(blank=True)
    template = models.CharField(max_length=80, blank=True)
    context = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=10, blank=True)
    # Only rows queued before rendering moved to send time have these (sent as they are).
    subject = models.CharField(max_length=250, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    # Job
    job_name = models.CharField(max_length=80, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    # Checked when the message is due, not when it was queued (e.g. "the story is still
    # published"): a withdrawn story sends nothing more.
    guard = models.CharField(max_length=80, blank=True)
    guard_args = models.JSONField(default=dict, blank=True)
    # Email: extra headers of this message (List-Unsubscribe...), JSON values like the context:
    # a signed link is stored as its parts and signed when the email is sent.
    headers = models.JSONField(default=dict, blank=True)
    # Email: a registered function (``registry.register_refresh``) that makes the context again
    # from what is true when the email is sent (a digest drops a withdrawn story); it may
    # cancel the email when nothing is left to say.
    refresh = models.CharField(max_length=80, blank=True)
    # Delivery bookkeeping
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    locked_by = models.CharField(max_length=80, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.dedupe_key} ({self.status})"
