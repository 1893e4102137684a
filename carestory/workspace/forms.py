"""The workspace's forms: they shape input (types and choices); the rules are in services.py."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.utils.translation import gettext_lazy as _

from carestory.stories.models import Criticality, Tag
from carestory.workspace.models import Progress, StaffTag
from carestory.workspace.selectors import Sort, WorkspaceCursor
from carestory.workspace.services import FilterInput

_YES_NO = [("", _("Either")), ("yes", _("Yes")), ("no", _("No"))]
FILTER_FIELDS = (
    "service",
    "published_from",
    "published_to",
    "min_criticality",
    "tags",
    "staff_tags",
    "answered",
    "read",
    "progress",
    "sort",
)


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


class WorkspaceFilterForm(forms.Form):
    service = forms.CharField(
        label=_("Service code"),
        required=False,
        max_length=40,
        help_text=_("A service inside your organisation's services, and everything below it"),
    )
    published_from = forms.DateField(
        label=_("Published from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    published_to = forms.DateField(
        label=_("Published to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    min_criticality = forms.TypedChoiceField(
        label=_("Criticality at or above"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("Any")), *Criticality.choices],
    )
    tags = forms.MultipleChoiceField(
        label=_("Tags"), required=False, widget=forms.SelectMultiple(attrs={"size": 4})
    )
    staff_tags = forms.MultipleChoiceField(
        label=_("Staff tags"), required=False, widget=forms.SelectMultiple(attrs={"size": 4})
    )
    answered = forms.ChoiceField(label=_("Answered"), required=False, choices=_YES_NO)
    read = forms.ChoiceField(label=_("Read by me"), required=False, choices=_YES_NO)
    progress = forms.TypedChoiceField(
        label=_("Progress"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("Any")), *Progress.choices],
    )
    sort = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=[(Sort.NEWEST, _("Newest first")), (Sort.CRITICAL, _("Most critical first"))],
    )
    after = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, staff_tag_choices: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        tags = self.fields["tags"]
        assert isinstance(tags, forms.MultipleChoiceField)
        tags.choices = list(Tag.objects.values_list("slug", "name"))
        staff = self.fields["staff_tags"]
        assert isinstance(staff, forms.MultipleChoiceField)
        staff.choices = staff_tag_choices

    def clean_after(self) -> WorkspaceCursor | None:
        value = (self.cleaned_data.get("after") or "").strip()
        if not value:
            return None
        try:
            return WorkspaceCursor.decode(value)
        except ValueError:
            raise forms.ValidationError(_("This page link is not valid.")) from None

    def given(self) -> FilterInput:
        """The parsed filters (call after is_valid())."""
        data = self.cleaned_data
        return FilterInput(
            service=data.get("service") or "",
            published_from=data.get("published_from"),
            published_to=data.get("published_to"),
            min_criticality=data.get("min_criticality"),
            tags=tuple(data.get("tags") or ()),
            staff_tags=tuple(data.get("staff_tags") or ()),
            answered=_yes_no(data.get("answered") or ""),
            read=_yes_no(data.get("read") or ""),
            progress=data.get("progress"),
            sort=data.get("sort") or Sort.NEWEST,
        )

    def query(self, **extra: str) -> str:
        """The filters as a query string (without the cursor), plus ``extra``."""
        pairs: list[tuple[str, str]] = []
        for name in FILTER_FIELDS:
            for value in self.data.getlist(name) if hasattr(self.data, "getlist") else []:
                if value:
                    pairs.append((name, value))
        pairs += [(k, v) for k, v in extra.items() if v]
        return urlencode(pairs)


class StaffTagForm(forms.Form):
    name = forms.CharField(label=_("Tag"), max_length=200)
    visibility = forms.ChoiceField(
        label=_("Who can see it"),
        choices=StaffTag.Visibility.choices,
        initial=StaffTag.Visibility.PRIVATE,
        widget=forms.RadioSelect,
    )
    polarity = forms.TypedChoiceField(
        label=_("Polarity"),
        coerce=int,
        choices=StaffTag.Polarity.choices,
        initial=StaffTag.Polarity.NEUTRAL,
        widget=forms.RadioSelect,
    )


class SavedSearchForm(forms.Form):
    name = forms.CharField(label=_("Name this search"), max_length=200)
    query = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)
