"""A member's alerts: what they want to hear about, where, filtered how, and how often."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from carestory.services.models import Service
from carestory.stories.models import AuthorRole, Criticality, Tag
from carestory.subscriptions.models import Membership


class Alert(models.Model):
    """One alert of one membership. Matching (``alerts/matching.py``) reads the story an event
    is about: it is inside ``services`` (none: the whole scope of the subscription), rated at or
    above ``min_criticality``, tagged with one of ``tags``, told by one of ``author_roles``
    (empty: any)."""

    class Event(models.TextChoices):
        STORIES = "stories", _("New published stories")
        RESPONSES = "responses", _("New published responses")
        REPLIES = "replies", _("Authors' replies to responses")
        CHANGES = "changes", _("Responses that say a change is planned or made")

    class Frequency(models.TextChoices):
        IMMEDIATE = "immediate", _("Immediately, one email each")
        DAILY = "daily", _("Daily digest")
        WEEKLY = "weekly", _("Weekly digest (Mondays)")

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="alerts")
    events = models.JSONField(default=list, help_text="Event values: what this alert is about.")
    services = models.ManyToManyField(Service, blank=True, related_name="+")
    min_criticality = models.SmallIntegerField(choices=Criticality, null=True, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="+")
    author_roles = models.JSONField(default=list, blank=True)
    frequency = models.CharField(max_length=10, choices=Frequency, default=Frequency.IMMEDIATE)
    is_active = models.BooleanField(default=True, help_text="Off after a one-click unsubscribe.")
    # The end of the last digest period this alert was looked at for (sent or nothing matched):
    # the digest run skips it until the next period ends. The outbox dedupe key (alert, period)
    # is what guarantees one email per period.
    digested_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["membership_id", "id"]
        indexes = [models.Index(fields=["frequency", "is_active"], name="alert_frequency")]

    def __str__(self) -> str:
        return f"alert {self.pk} of membership {self.membership_id}"

    def event_labels(self) -> list[str]:
        return [str(label) for value, label in self.Event.choices if value in self.events]

    def author_role_labels(self) -> list[str]:
        return [str(label) for value, label in AuthorRole.choices if value in self.author_roles]
