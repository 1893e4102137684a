"""The moderation forms check only types and shape (a number is a number, a choice is one of
the choices, the button pressed is one of the buttons). What a decision needs (a title and text
within their limits, a criticality to publish, a reason and a message to reject, a note to
hold, a question to ask, an answer, a reason for review) is checked by the decision in
``moderation/services/`` (``responses/moderation.py`` for responses and replies), keyed by
these fields' names; the views put its messages on the form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from carestory.moderation.models import RejectionReason
from carestory.stories.forms import TagChoiceField
from carestory.stories.models import Criticality, Tag


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
    title = forms.CharField(label=_("Public title"), required=False)
    body = forms.CharField(
        label=_("Public text"), widget=forms.Textarea(attrs={"rows": 14}), required=False
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
        required=False,
    )
    note = forms.CharField(
        label=_("Private moderator note (optional)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    question = forms.CharField(
        label=_("Question for the author"),
        help_text=_(
            "The author gets an email with a link to answer. The question and the answer "
            "are private."
        ),
        widget=forms.Textarea(attrs={"rows": 3}),
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
        required=False,
    )

    @property
    def action(self) -> str:
        return str(self.data.get("action") or "save")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.action not in self.ACTIONS:
            raise forms.ValidationError(_("Choose what to do with the story"))
        return data


class ServicesForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    service_codes = StoryModerationForm.base_fields["service_codes"]


class ItemModerationForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    body = forms.CharField(
        label=_("Public text"), widget=forms.Textarea(attrs={"rows": 8}), required=False
    )
    reason = forms.CharField(
        label=_("If not publishing, tell them why"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )


class AnswerForm(forms.Form):
    answer = forms.CharField(
        label=_("Your answer"),
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,  # required, and its length: questions.story_question_answer
    )


class ProviderReviewForm(forms.Form):
    DECISIONS = ("go_ahead", "request_review")

    reason = forms.CharField(
        label=_("Why should a senior moderator review this story?"),
        help_text=_("Needed only if you request a review."),
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
    )

    @property
    def decision(self) -> str:
        return str(self.data.get("decision") or "")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.decision not in self.DECISIONS:
            raise forms.ValidationError(_("Choose go ahead or request a review"))
        return data
