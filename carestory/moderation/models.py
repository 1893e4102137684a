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


class AuthorQuestion(models.Model):
    """A moderator asks the author something; the author answers through an emailed link."""

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="questions")
    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    question = models.TextField()
    asked_at = models.DateTimeField(auto_now_add=True)
    answer = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["asked_at"]

    def __str__(self) -> str:
        return f"question {self.pk} on {self.story}"


class ProviderReview(models.Model):
    """An approved story waiting for the provider: go ahead, request review, or 72 hours."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Waiting for the provider")
        GO_AHEAD = "go_ahead", _("Provider said go ahead")
        REVIEW_REQUESTED = "review_requested", _("Provider requested a review")
        TIMED_OUT = "timed_out", _("Published after 72 hours without an answer")

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="provider_reviews")
    due_at = models.DateTimeField()
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.PENDING)
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at"]

    def __str__(self) -> str:
        return f"provider review of {self.story} ({self.outcome})"
