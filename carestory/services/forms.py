"""Forms for the service page's story filters and for keeping the service tree right.

The forms check the shape of the input; the service functions check the rules (scope, cycles,
closed services) and raise ValidationError keyed by these field names.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from carestory.stories.forms import StoryPageForm

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

FIRST_YEAR = 1900
LAST_YEAR = 2999


def _date_field(label: StrOrPromise, invalid: StrOrPromise) -> forms.DateField:
    return forms.DateField(
        label=label,
        help_text=_("For example, 2024-03-31"),
        required=False,
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        error_messages={"invalid": invalid},
    )


def _in_years(value: date | None, message: StrOrPromise) -> date | None:
    """``value``, or ``message`` if its year is outside FIRST_YEAR to LAST_YEAR."""
    if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValidationError(message % {"first": FIRST_YEAR, "last": LAST_YEAR})
    return value


class StoryFilterForm(StoryPageForm):
    """GET filters on the service page: ``tag``, ``from``, ``to``, and the keyset cursor
    (``after`` for older stories, ``before`` for newer ones). ``from`` is a Python keyword,
    so the fields are declared in ``__init__``."""

    def __init__(self, data: Any, *, tags: list[tuple[str, str]]) -> None:
        super().__init__(data)
        self.fields["tag"] = forms.ChoiceField(
            label=_("Tag"),
            required=False,
            choices=[("", _("Any tag")), *tags],
            error_messages={"invalid_choice": _("Choose a tag from the list")},
        )
        self.fields["from"] = _date_field(
            _("Published from"),
            _("Enter the 'from' date as a real date, for example 2024-03-31 or 31/03/2024"),
        )
        self.fields["to"] = _date_field(
            _("Published to"),
            _("Enter the 'to' date as a real date, for example 2024-03-31 or 31/03/2024"),
        )

    def clean_from(self) -> date | None:
        return _in_years(
            self.cleaned_data.get("from"),
            _("Enter a 'from' date between the years %(first)s and %(last)s"),
        )

    def clean_to(self) -> date | None:
        return _in_years(
            self.cleaned_data.get("to"),
            _("Enter a 'to' date between the years %(first)s and %(last)s"),
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("from"), data.get("to")
        if start and end and start > end:
            self.add_error("to", _("The 'to' date must be the same as or after the 'from' date"))
        return data


class DepartmentForm(forms.Form):
    # Required, length and characters of both: services.service_add_department.
    name = forms.CharField(label=_("Name of the department"), required=False)
    code = forms.CharField(
        label=_("Code (optional)"),
        help_text=_("Leave this empty to make one from the name, like RXX01-CARDIOLOGY"),
        required=False,
    )


class RenameForm(forms.Form):
    # Required and length: services.service_rename.
    name = forms.CharField(label=_("New name"), required=False)


class MoveForm(forms.Form):
    parent = forms.CharField(
        label=_("Code of the service to move it under"),
        help_text=_("The code is shown on each service's page, for example RXX01"),
        # Its length: services.service_code_too_long, asked by the view.
        error_messages={"required": _("Enter the code of the service to move it under")},
    )


class CloseForm(forms.Form):
    """Nothing to fill in: the button is the confirmation."""


class MergeForm(forms.Form):
    into = forms.CharField(
        label=_("Code of the service to merge it into"),
        help_text=_("That service keeps its name and code; this one closes and points to it"),
        # Its length: services.service_code_too_long, asked by the view.
        error_messages={"required": _("Enter the code of the service to merge it into")},
    )
    confirm = forms.BooleanField(
        label=_("I understand that a merge cannot be undone"),
        error_messages={"required": _("Confirm that you want to merge these services")},
    )


class DescribeForm(forms.Form):
    # Lengths, and what a website address is: services.service_describe.
    description = forms.CharField(
        label=_("Description"),
        help_text=_("Leave this empty to show the description of the service above it"),
        widget=forms.Textarea(attrs={"rows": 8}),
        required=False,
    )
    website = forms.CharField(
        label=_("Website"),
        help_text=_("The full address, starting https://. Leave empty to use the one above"),
        required=False,
    )
