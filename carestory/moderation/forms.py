from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from carestory.moderation.models import RejectionReason
from carestory.stories.forms import TagChoiceField
from carestory.stories.models import Criticality, Tag


class StoryModerationForm(forms.Form):
    ACTIONS = [("save", _("Save changes")), ("publish", _("Publish")), ("reject", _("Reject"))]

    action = forms.ChoiceField(choices=ACTIONS, widget=forms.HiddenInput, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)
    title = forms.CharField(label=_("Public title"), max_length=200)
    body = forms.CharField(label=_("Public text"), widget=forms.Textarea(attrs={"rows": 14}))
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

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action = self.data.get("action")
        if action == "reject":
            if not data.get("reason"):
                self.add_error("reason", _("Choose a reason for not publishing"))
            if not (data.get("message") or "").strip():
                self.add_error("message", _("Write a message to the author explaining why"))
        if action == "publish" and data.get("criticality") is None:
            self.add_error("criticality", _("Rate the story's criticality before publishing"))
        return data


class ItemModerationForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    body = forms.CharField(label=_("Public text"), widget=forms.Textarea(attrs={"rows": 8}))
    reason = forms.CharField(
        label=_("If not publishing, tell them why"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.data.get("action") == "reject" and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Explain why it is not being published"))
        return data
