"""Moderators' private notes. Never shown outside moderation screens."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from carestory.stories.models import Story


class RejectionReason(models.TextChoices):
    NOT_CARE_EXPERIENCE = "not_care_experience", _("Not about an experience of care")
    TOO_OLD = "too_old", _("Events more than 3 years ago")
    DUPLICATE = "duplicate", _("Duplicate of another story")
    COMMERCIAL = "commercial", _("Commercial or spam")
    OFFENSIVE = "offensive", _("Offensive")
    LEGAL_RISK = "legal_risk", _("Legal risk")
    STAFF_ABOUT_COLLEAGUES = "staff_about_colleagues", _("Staff writing about colleagues")
    AUTHOR_REQUEST = "author_request", _("The author asked us not to publish")


class ModeratorNote(models.Model):
    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="moderator_notes")
    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"note {self.pk} on {self.story}"
