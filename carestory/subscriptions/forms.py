"""The administrator's and the invitee's forms: types and shape only (the rules are the
services')."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from carestory.lib.idempotency import IdempotentForm
from carestory.subscriptions.models import Membership

_ROLE_HELP = _(
    "Members read stories. Responders also answer them. Administrators also manage the members."
)


class InviteForm(IdempotentForm):
    first_name = forms.CharField(label=_("First name"), required=False)
    last_name = forms.CharField(label=_("Last name"), required=False)
    email = forms.CharField(label=_("Email address"), required=False, widget=forms.EmailInput)
    job_title = forms.CharField(label=_("Job title (optional)"), required=False)
    department = forms.CharField(label=_("Department (optional)"), required=False)
    role = forms.ChoiceField(
        label=_("Role"),
        choices=Membership.Role.choices,
        initial=Membership.Role.MEMBER,
        widget=forms.RadioSelect,
        help_text=_ROLE_HELP,
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(
        label=_("Role"),
        choices=Membership.Role.choices,
        widget=forms.RadioSelect,
        help_text=_ROLE_HELP,
    )


class SafeguardingForm(forms.Form):
    email = forms.CharField(
        label=_("Safeguarding contacts' email addresses"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"}),
        help_text=_(
            "One address a line, up to 5. Each is told at once when a story about your services "
            "is held for safeguarding. A team mailbox that is always read is best. Leave blank "
            "for none."
        ),
    )


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("A CSV or XLSX file"),
        help_text=_(
            "The first row names the columns: First name, Last name, Email, and if you wish "
            "Job title, Department and Role (Member, Responder or Administrator; blank: Member)."
        ),
        error_messages={"required": _("Choose a file to upload")},
    )


class AcceptForm(forms.Form):
    password1 = forms.CharField(
        label=_("Choose a password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
        required=False,
    )
    password2 = forms.CharField(
        label=_("Type the password again"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
        required=False,
    )

    def __init__(self, *args: Any, needs_password: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not needs_password:
            del self.fields["password1"]
            del self.fields["password2"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "password1" in self.fields and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", _("The two passwords are not the same"))
        return cleaned


class ProfileForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), required=False)
    last_name = forms.CharField(label=_("Last name"), required=False)
    job_title = forms.CharField(label=_("Job title"), required=False)
    department = forms.CharField(label=_("Department"), required=False)
    what_i_do = forms.CharField(
        label=_("What I do"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("A sentence shown with your responses."),
    )
    phone = forms.CharField(
        label=_("Phone (optional)"), required=False, help_text=_("Shown to fellow members only.")
    )


class SwitchForm(forms.Form):
    subscription = forms.IntegerField(widget=forms.HiddenInput)
