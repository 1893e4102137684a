"""Forms of signing in. (The staff password form lives with the session code, ``signin.py``.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.utils.translation import gettext_lazy as _

from carestory.lib.emails import EMAIL_INVALID, EMAIL_MISSING, MAX_EMAIL_LENGTH

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def email_field(*, help_text: StrOrPromise) -> forms.EmailField:
    """An author's email address on any form (this one, the story form): its type, its
    longest (lib/emails.MAX_EMAIL_LENGTH) and its messages, written once."""
    return forms.EmailField(
        label=_("Email address"),
        help_text=help_text,
        max_length=MAX_EMAIL_LENGTH,
        error_messages={"required": EMAIL_MISSING, "invalid": EMAIL_INVALID},
    )


class EmailForm(forms.Form):
    """An author asks for a sign-in link: just the address they told their story with."""

    email = email_field(help_text=_("The address you used when you told your story"))


class CodeForm(forms.Form):
    """A code from the authenticator app (or, at sign-in, a recovery code). The service says
    whether it is right; the form only takes the text."""

    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )


class PasswordResetForm(forms.Form):
    email = email_field(help_text=_("The address you sign in with"))


class NewPasswordForm(forms.Form):
    """The new password twice; how strong it must be is the service's check."""

    new_password1 = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password2 = forms.CharField(
        label=_("New password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        first, second = cleaned.get("new_password1"), cleaned.get("new_password2")
        if first and second and first != second:
            self.add_error("new_password2", _("The two passwords are not the same"))
        return cleaned
