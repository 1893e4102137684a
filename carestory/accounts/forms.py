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
