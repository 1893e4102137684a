"""Forms of signing in. (The staff password form lives with the session code, ``signin.py``.)"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class EmailForm(forms.Form):
    """An author asks for a sign-in link: just the address they told their story with."""

    email = forms.EmailField(
        label=_("Email address"),
        help_text=_("The address you used when you told your story"),
        max_length=254,
        error_messages={
            "required": _("Enter your email address"),
            "invalid": _("Enter an email address in the correct format, like name@example.com"),
        },
    )
