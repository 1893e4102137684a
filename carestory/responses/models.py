"""Staff responses to stories (with "change planned/made"), and authors' replies to them."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar, TypeVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from carestory.stories.models import Story
from carestory.subscriptions.models import Subscription

RESPONSE_EDIT_WINDOW = timedelta(minutes=30)
"""After sending, the responder may change or delete a response for this long; then it is
released (fast-tracked to publication, or to moderation)."""


class ModerationStatus(models.TextChoices):
    EDITABLE = "editable", _("Can still be edited")
    IN_MODERATION = "in_moderation", _("Being moderated")
    PUBLISHED = "published", _("Published")
    REJECTED = "rejected", _("Not published")


M = TypeVar("M", bound=models.Model)


class ModeratedQuerySet(models.QuerySet[M]):
    def published(self) -> ModeratedQuerySet[M]:
        return self.filter(status=ModerationStatus.PUBLISHED)


class ModeratedText(models.Model):
    """What a staff response and an author's reply share: the text as written and as published,
    its moderation (``ModerationStatus``, the reason for a rejection), the key that makes a
    double submit one row, and the version for optimistic locking."""

    original_body = models.TextField()
    body = models.TextField()
    status = models.CharField(
        max_length=20, choices=ModerationStatus, default=ModerationStatus.IN_MODERATION
    )
    idempotency_key = models.UUIDField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        abstract = True
        ordering = ["published_at", "created_at", "id"]


class Response(ModeratedText):
    class Change(models.TextChoices):
        NONE = "none", _("No change")
        PLANNED = "planned", _("We are planning a change")
        MADE = "made", _("We have made a change")

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="responses")
    responder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="responses"
    )
    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, related_name="responses"
    )
    # Who was shown as writing it: the responder, or the member an administrator of the
    # subscription wrote it for (``responder`` is then the administrator: the edit window, the
    # fast-track record and the moderators' messages are theirs). Blank: in their own name.
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="responses_on_behalf",
    )
    # What is shown publicly about the responder (the member, when on behalf), fixed when the
    # response is written from their account and staff profile. Never the phone or the email.
    responder_name = models.CharField(max_length=150)
    responder_job_title = models.CharField(max_length=150, blank=True)
    responder_department = models.CharField(max_length=150, blank=True, default="", db_default="")
    responder_about = models.CharField(
        max_length=300, blank=True, default="", db_default="", help_text='"What I do".'
    )
    change = models.CharField(max_length=10, choices=Change.choices, default=Change.NONE)
    change_description = models.TextField(blank=True)
    editable_until = models.DateTimeField(null=True, blank=True)
    fast_tracked = models.BooleanField(default=False)
    edited_by_moderator = models.BooleanField(default=False)

    objects: ClassVar[ModeratedQuerySet[Response]] = ModeratedQuerySet.as_manager()  # type: ignore[assignment]

    class Meta(ModeratedText.Meta):
        indexes = [
            # The release sweep (manage.py release_responses) looks only at editable rows.
            models.Index(
                fields=["editable_until"],
                condition=models.Q(status="editable"),
                name="response_release_due",
            ),
            # The moderators' queue: responses in moderation, oldest first.
            models.Index(
                fields=["created_at", "id"],
                condition=models.Q(status="in_moderation"),
                name="response_in_moderation",
            ),
        ]

    def __str__(self) -> str:
        return f"response {self.pk} to {self.story}"


class AuthorReply(ModeratedText):
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="replies"
    )

    objects: ClassVar[ModeratedQuerySet[AuthorReply]] = ModeratedQuerySet.as_manager()  # type: ignore[assignment]

    class Meta(ModeratedText.Meta):
        verbose_name_plural = "author replies"
        indexes = [
            # The moderators' queue: replies in moderation, oldest first.
            models.Index(
                fields=["created_at", "id"],
                condition=models.Q(status="in_moderation"),
                name="reply_in_moderation",
            ),
        ]

    def __str__(self) -> str:
        return f"reply {self.pk} to {self.response}"
