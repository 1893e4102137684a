from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from carestory.responses.models import Response


class _ResponseFields(forms.Form):
    body = forms.CharField(
        label=_("Your response"),
        help_text=_("Your name, job title and organisation are shown with your response"),
        widget=forms.Textarea(attrs={"rows": 10}),
        max_length=10_000,
        error_messages={
            "required": _("Enter your response"),
            "max_length": _("Your response must be 10,000 characters or fewer"),
        },
    )
    change = forms.ChoiceField(
        label=_("Does your response describe a change?"),
        help_text=_("Responses that describe a change are always checked by a moderator"),
        choices=Response.Change.choices,
        initial=Response.Change.NONE,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose whether your response describes a change")},
    )
    change_description = forms.CharField(
        label=_("Describe the change"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=2_000,
        error_messages={"max_length": _("Describe the change in 2,000 characters or fewer")},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        change = data.get("change")
        if (
            change
            and change != Response.Change.NONE
            and not (data.get("change_description") or "").strip()
        ):
            self.add_error(
                "change_description", _("Describe the change you are planning or have made")
            )
        return data


class ResponseForm(_ResponseFields):
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4())


class VersionForm(forms.Form):
    """The version the user read, for the optimistic lock."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class ResponseEditForm(_ResponseFields, VersionForm):
    pass
