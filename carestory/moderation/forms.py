from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from carestory.moderation.models import RejectionReason
from carestory.stories.forms import TagChoiceField
from carestory.stories.models import Criticality, Tag

ANSWER_MAX_LENGTH = 5000


class StoryModerationForm(forms.Form):
    """The workbench editor. The button pressed (``action``) says which decision to make."""

    ACTIONS = (
        "save",
        "publish",
        "publish_signpost",
        "hold",
        "ask",
        "reject",
    )

    version = forms.IntegerField(widget=forms.HiddenInput)
    title = forms.CharField(
        label=_("Public title"),
        max_length=200,
        error_messages={"max_length": _("The title must be 200 characters or fewer")},
    )
    body = forms.CharField(
        label=_("Public text"),
        widget=forms.Textarea(attrs={"rows": 14}),
        max_length=settings.STORY_MAX_CHARACTERS,
        error_messages={
            "max_length": _(
                "The public text has %(show_value)s characters: the limit is %(limit_value)s"
            )
        },
    )
    criticality = forms.TypedChoiceField(
        label=_("Criticality (staff only, never public)"),
        choices=[("", _("Not rated yet")), *Criticality.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )
    good = TagChoiceField(Tag.Group.ASPECT, label=_("What was good?"))
    improve = TagChoiceField(Tag.Group.ASPECT, label=_("What could be improved?"))
    feelings = TagChoiceField(Tag.Group.FEELING, label=_("How did they feel?"))
    service_codes = forms.CharField(
        label=_("Service codes"),
        help_text=_("Separate codes with commas"),
        max_length=200,
    )
    note = forms.CharField(
        label=_("Private moderator note (optional)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
        error_messages={"max_length": _("The note must be 4,000 characters or fewer")},
        required=False,
    )
    question = forms.CharField(
        label=_("Question for the author"),
        help_text=_(
            "The author gets an email with a link to answer. The question and the answer "
            "are private."
        ),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        required=False,
    )
    reason = forms.ChoiceField(
        label=_("Reason for not publishing"),
        choices=[("", _("Choose a reason")), *RejectionReason.choices],
        required=False,
    )
    message = forms.CharField(
        label=_("Message to the author"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=4000,
        error_messages={"max_length": _("The message must be 4,000 characters or fewer")},
        required=False,
    )

    @property
    def action(self) -> str:
        return str(self.data.get("action") or "save")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action = self.action
        if action not in self.ACTIONS:
            raise forms.ValidationError(_("Choose what to do with the story"))
        if action == "reject":
            if not data.get("reason"):
                self.add_error("reason", _("Choose a reason for not publishing"))
            if not (data.get("message") or "").strip():
                self.add_error("message", _("Write a message to the author explaining why"))
        if action in ("publish", "publish_signpost") and data.get("criticality") is None:
            self.add_error("criticality", _("Rate the story's criticality before publishing"))
        if action == "hold" and not (data.get("note") or "").strip():
            self.add_error("note", _("Describe the safeguarding concern in a private note"))
        if action == "ask" and not (data.get("question") or "").strip():
            self.add_error("question", _("Write the question for the author"))
        return data


class ServicesForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    service_codes = forms.CharField(
        label=_("Service codes"),
        help_text=_("Separate codes with commas"),
        max_length=200,
    )


class VersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)


class ItemModerationForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    body = forms.CharField(
        label=_("Public text"),
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=10_000,
        error_messages={"max_length": _("The public text must be 10,000 characters or fewer")},
    )
    reason = forms.CharField(
        label=_("If not publishing, tell them why"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
        error_messages={"max_length": _("The reason must be 4,000 characters or fewer")},
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.data.get("action") == "reject" and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Explain why it is not being published"))
        return data


class AnswerForm(forms.Form):
    answer = forms.CharField(
        label=_("Your answer"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=ANSWER_MAX_LENGTH,
        error_messages={"required": _("Write your answer")},
    )


class ProviderReviewForm(forms.Form):
    DECISIONS = ("go_ahead", "request_review")

    reason = forms.CharField(
        label=_("Why should a senior moderator review this story?"),
        help_text=_("Needed only if you request a review."),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=4000,
        required=False,
    )

    @property
    def decision(self) -> str:
        return str(self.data.get("decision") or "")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.decision not in self.DECISIONS:
            raise forms.ValidationError(_("Choose go ahead or request a review"))
        if self.decision == "request_review" and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Explain why you are asking for a review"))
        return data
