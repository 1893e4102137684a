"""The staff workspace: who read a story, who is answering it, staff tags, saved searches."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from carestory.stories.models import Story
from carestory.subscriptions.models import Subscription

ANSWERING_FOR = timedelta(minutes=30)
"""How long "X is answering" lasts after they opened Respond (sending ends it sooner)."""


class Progress(models.IntegerChoices):
    """How far a story has come for one organisation (Care Opinion's story swarm words)."""

    UNHEARD = 0, _("Unheard")  # nobody in the organisation was alerted
    HEARD = 1, _("Heard")  # an alert email for it was queued for one of its staff (StoryHeard)
    READ = 2, _("Read")  # one of its staff opened it in the workspace
    RESPONDED = 3, _("Responded")  # it published a response
    CHANGE = 4, _("Change")  # ... that says a change is planned or made


class StoryRead(models.Model):
    """A member of staff opened the story in the workspace (one row per person and story)."""

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    first_read_at = models.DateTimeField()
    last_read_at = models.DateTimeField()

    class Meta:
        constraints = [
            # Also the index of "read by me" and "read by someone in my organisation".
            models.UniqueConstraint(fields=["story", "user"], name="story_read_once")
        ]

    def __str__(self) -> str:
        return f"story {self.story_id} read by {self.user_id}"


class StoryHeard(models.Model):
    """An alert email about the newly published story was queued for someone in the
    subscription (written by ``alerts.services.alerts_story_published``): "heard"."""

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="+")
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="+")
    heard_at = models.DateTimeField()

    class Meta:
        constraints = [
            # Also the index of "heard by my organisations" for a page of stories.
            models.UniqueConstraint(fields=["story", "subscription"], name="story_heard_once")
        ]

    def __str__(self) -> str:
        return f"story {self.story_id} heard by subscription {self.subscription_id}"


class AnsweringMarker(models.Model):
    """A responder opened Respond: others in the organisation see "X is answering" until
    ANSWERING_FOR has passed or the responder sent a response (whichever is first)."""

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["story", "user"], name="answering_marker_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} answering story {self.story_id}"


class StaffTag(models.Model):
    """A member of staff's own tag on a story: private (theirs), shared (their organisation)
    or public (everyone, the public story page too: responders and administrators only)."""

    class Visibility(models.TextChoices):
        PRIVATE = "private", _("Private (only me)")
        SHARED = "shared", _("Shared (my organisation)")
        PUBLIC = "public", _("Public")

    class Polarity(models.IntegerChoices):
        POSITIVE = 1, _("Positive")
        NEUTRAL = 0, _("Neutral")
        NEGATIVE = -1, _("Negative")

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="staff_tags")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_tags"
    )
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=60)
    slug = models.SlugField(max_length=60)
    visibility = models.CharField(max_length=10, choices=Visibility, default=Visibility.PRIVATE)
    polarity = models.SmallIntegerField(choices=Polarity, default=Polarity.NEUTRAL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["story", "subscription", "author", "slug", "visibility"],
                name="staff_tag_once",
            ),
            models.CheckConstraint(
                condition=models.Q(polarity__in=[-1, 0, 1]), name="staff_tag_polarity"
            ),
        ]
        indexes = [
            # The workspace's staff-tag filter: the stories carrying a slug, by visibility.
            models.Index(fields=["slug", "visibility", "story"], name="staff_tag_slug"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.visibility}) on {self.story_id}"


class SavedSearch(models.Model):
    """A named workspace search: the query string of its filters (never a cursor)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches"
    )
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="saved_search_name_once")
        ]

    def __str__(self) -> str:
        return self.name
