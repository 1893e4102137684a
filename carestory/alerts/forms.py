"""The alert form: shape only (the rules are in ``services._clean``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from carestory.alerts.models import Alert
from carestory.alerts.services import AlertChoice
from carestory.stories.models import AuthorRole, Criticality, Tag


class AlertForm(forms.Form):
    events = forms.MultipleChoiceField(
        label=_("Tell me about"),
        choices=Alert.Event.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    services = forms.CharField(
        label=_("Only these services (codes)"),
        help_text=_(
            "Service codes separated by commas or spaces, for example RXX01. Each takes in "
            "everything below it. Leave empty for your organisation's whole scope."
        ),
        required=False,
        max_length=2000,
    )
    min_criticality = forms.TypedChoiceField(
        label=_("Only stories rated at least"),
        choices=[("", _("Any criticality")), *Criticality.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )
    tags = forms.MultipleChoiceField(
        label=_("Only stories with one of these tags"),
        help_text=_("None ticked: any tags."),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    author_roles = forms.MultipleChoiceField(
        label=_("Only stories told by"),
        help_text=_("None ticked: anyone."),
        choices=AuthorRole.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    frequency = forms.ChoiceField(
        label=_("How often"),
        choices=Alert.Frequency.choices,
        widget=forms.RadioSelect,
        initial=Alert.Frequency.IMMEDIATE,
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["tags"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(t.slug, t.name) for t in Tag.objects.order_by("name")]

    @staticmethod
    def initial_for(alert: Alert) -> dict[str, Any]:
        return {
            "events": list(alert.events),
            "services": ", ".join(s.code for s in alert.services.all()),
            "min_criticality": alert.min_criticality,
            "tags": [t.slug for t in alert.tags.all()],
            "author_roles": list(alert.author_roles),
            "frequency": alert.frequency,
        }

    def choice(self) -> AlertChoice:
        data = self.cleaned_data
        return AlertChoice(
            events=data["events"],
            service_codes=data["services"].replace(",", " ").split(),
            min_criticality=data["min_criticality"],
            tag_slugs=data["tags"],
            author_roles=data["author_roles"],
            frequency=data["frequency"],
        )
