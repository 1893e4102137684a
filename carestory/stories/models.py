"""Stories: what people tell, the author's private original and the public, moderated version."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from carestory.lib.postcodes import MAX_STORED
from carestory.lib.tokens import new_public_id
from carestory.services.models import Service


class Criticality(models.IntegerChoices):
    """The moderator's rating of the most critical statement. Staff-only, never public."""

    NOT_CRITICAL = 0, _("Not critical")
    MINIMALLY = 1, _("Minimally critical")
    MILDLY = 2, _("Mildly critical")
    MODERATELY = 3, _("Moderately critical")
    STRONGLY = 4, _("Strongly critical")
    SEVERELY = 5, _("Severely critical")


class AuthorRole(models.TextChoices):
    PATIENT = "patient", _("Patient")
    CARER = "carer", _("Carer")
    PARENT = "parent", _("Parent or guardian")
    RELATIVE = "relative", _("Relative")
    FRIEND = "friend", _("Friend")
    STAFF_ON_BEHALF = "staff_on_behalf", _("Staff member on behalf of a patient")
    OTHER = "other", _("Other")


class AgeGroup(models.TextChoices):
    UNDER_16 = "under_16", _("Under 16")
    AGE_16_24 = "16_24", _("16 to 24")
    AGE_25_34 = "25_34", _("25 to 34")
    AGE_35_44 = "35_44", _("35 to 44")
    AGE_45_54 = "45_54", _("45 to 54")
    AGE_55_64 = "55_64", _("55 to 64")
    AGE_65_74 = "65_74", _("65 to 74")
    AGE_75_84 = "75_84", _("75 to 84")
    AGE_85_PLUS = "85_plus", _("85 or over")


class Tag(models.Model):
    class Group(models.TextChoices):
        ASPECT = "aspect", _("Aspect of care")
        FEELING = "feeling", _("Feeling")

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=80)
    group = models.CharField(max_length=10, choices=Group.choices)
    # Feelings carry their own polarity (grateful +1, anxious -1); aspects take theirs from the
    # question they were chosen under (what was good +1, what could be improved -1).
    polarity = models.SmallIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class StoryQuerySet(models.QuerySet["Story"]):
    def published(self) -> StoryQuerySet:
        # Every published story has a date (a check constraint); saying so lets the database
        # skip the undated rows (NULLs come first in a newest-first index scan).
        return self.filter(status=Story.Status.PUBLISHED, published_at__isnull=False)

    def in_moderation(self) -> StoryQuerySet:
        return self.filter(status=Story.Status.IN_MODERATION)


class Story(models.Model):
    class Status(models.TextChoices):
        AWAITING_VERIFICATION = "awaiting_verification", _("Waiting for you to confirm your email")
        IN_MODERATION = "in_moderation", _("Being moderated")
        AWAITING_AUTHOR = "awaiting_author", _("Waiting for your answer to a question")
        PROVIDER_REVIEW = "provider_review", _("Approved, with the provider before publication")
        HELD = "held", _("Held for a senior moderator")
        PUBLISHED = "published", _("Published")
        REJECTED = "rejected", _("Not published")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    public_id = models.CharField(max_length=16, unique=True, default=new_public_id, editable=False)
    status = models.CharField(
        max_length=30, choices=Status.choices, default=Status.AWAITING_VERIFICATION, db_index=True
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="stories"
    )
    screen_name = models.CharField(_("screen name"), max_length=40)
    author_role = models.CharField(_("your role"), max_length=20, choices=AuthorRole)
    # Private to the author and moderators: never on a public page, feed, API or staff email.
    age_group = models.CharField(max_length=10, choices=AgeGroup, blank=True)
    postcode = models.CharField(max_length=MAX_STORED, blank=True)
    original_title = models.CharField(max_length=200)
    original_body = models.TextField()
    # The public version, edited by moderators.
    title = models.CharField(max_length=200)
    body = models.TextField()
    criticality = models.SmallIntegerField(choices=Criticality, null=True, blank=True)
    services: models.ManyToManyField[Service, StoryService] = models.ManyToManyField(
        Service, through="StoryService", related_name="stories"
    )
    tags: models.ManyToManyField[Tag, StoryTag] = models.ManyToManyField(
        Tag, through="StoryTag", related_name="stories"
    )
    consent_given_at = models.DateTimeField()
    consent_version = models.CharField(max_length=20)
    idempotency_key = models.UUIDField(unique=True, editable=False)
    submitted_at = models.DateTimeField(auto_now_add=True, db_index=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=40, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    version = models.PositiveIntegerField(default=1, help_text="Optimistic lock for edits.")
    updated_at = models.DateTimeField(auto_now=True)
    # Moderation workbench (moderators only).
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claimed_until = models.DateTimeField(null=True, blank=True)
    urgent = models.BooleanField(
        default=False, help_text="Safeguarding signals: first in the queue. Never auto-rejects."
    )
    safeguarding_level = models.PositiveSmallIntegerField(
        default=0, help_text="0 none, 1 publish and signpost, 2 hold for a senior moderator."
    )
    automod_flags = models.JSONField(default=list, blank=True)
    suggested_criticality = models.SmallIntegerField(choices=Criticality, null=True, blank=True)
    # When the automated checks last ran on the current text; empty = not checked yet (the
    # checks run in the worker after the story is saved, see stories/jobs.py).
    checked_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    provider_review_due_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[StoryQuerySet] = StoryQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        verbose_name_plural = "stories"
        ordering = ["-published_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="published") | models.Q(published_at__isnull=False),
                name="published_story_has_date",
            ),
        ]
        indexes = [
            # Every public list: published stories, newest first, by keyset (published_at, id).
            models.Index(
                fields=["-published_at", "-id"],
                condition=models.Q(status="published"),
                name="story_published_newest",
            ),
            # The moderators' new-stories queue, in its order: its first page without sorting
            # the whole queue (moderation/selectors.moderation_queues).
            models.Index(
                fields=["-urgent", "-safeguarding_level", "verified_at", "id"],
                condition=models.Q(status="in_moderation"),
                name="story_moderation_queue",
            ),
        ]

    def __str__(self) -> str:
        return f"story {self.public_id}"

    def get_absolute_url(self) -> str:
        return reverse("stories:detail", args=[self.public_id])


class StoryService(models.Model):
    story = models.ForeignKey(Story, on_delete=models.CASCADE)
    service = models.ForeignKey(Service, on_delete=models.PROTECT)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["story", "service"], name="story_service_once")
        ]

    def __str__(self) -> str:
        return f"{self.story_id} about {self.service_id}"


class StoryTag(models.Model):
    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="story_tags")
    tag = models.ForeignKey(Tag, on_delete=models.PROTECT)
    polarity = models.SmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["story", "tag", "polarity"], name="story_tag_once"),
            models.CheckConstraint(
                condition=models.Q(polarity__in=[-1, 0, 1]), name="polarity_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tag_id} ({self.polarity:+d}) on {self.story_id}"


class ServiceStoryCounts(models.Model):
    """Counts of a large subtree's published stories, kept by the worker (job
    ``stories.recount``): counting 80,000 stories on every view of a big trust's page took
    seconds. Small subtrees are counted live; these rows are at most COUNTS_MAX_AGE old."""

    service = models.OneToOneField(
        Service, on_delete=models.CASCADE, primary_key=True, related_name="story_counts"
    )
    stories = models.PositiveIntegerField()
    responses = models.PositiveIntegerField()
    answered = models.PositiveIntegerField()
    counted_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"counts of {self.service_id} at {self.counted_at:%Y-%m-%d %H:%M}"


class StoryFindings(models.Model):
    """What the automated checks found in one text of a story (spans, suggested replacements),
    kept by the check job (``stories.check``) so the moderators' workbench lists them without
    analysing a long story again on every view (0.2 to 0.9 s). ``text_key`` names the text,
    the checks' version and the language they were found in (automod/findings.py): after
    any edit it no longer matches and the workbench analyses the text itself. Moderators only."""

    story = models.OneToOneField(
        Story, on_delete=models.CASCADE, primary_key=True, related_name="findings"
    )
    text_key = models.CharField(max_length=64)
    findings = models.JSONField(default=list)
    found_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "story findings"

    def __str__(self) -> str:
        return f"findings for {self.story_id} at {self.found_at:%Y-%m-%d %H:%M}"


class StoryRevision(models.Model):
    """Every version of a story's text: the author's, each edit and each moderator save.
    Written by ``stories/services.py`` (submission, the author's edits) and by the moderators'
    saves. Private: the submitted version holds what moderation removes."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted by the author")
        AUTHOR_EDIT = "author_edit", _("Edited by the author")
        MODERATOR_EDIT = "moderator_edit", _("Edited by a moderator")

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="revisions")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    editor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} revision {self.pk} of {self.story}"
