"""The responder's and the author's forms. They check only types (a change is one of the
choices); what a response or a reply may be (required, lengths, a change described) is checked
by ``responses/services.py`` and its messages put on these fields by the view."""

from __future__ import annotations

from typing import Any, TypedDict

from django import forms
from django.utils.translation import gettext_lazy as _

from carestory.lib.idempotency import IdempotentForm
from carestory.lib.locking import VersionForm
from carestory.responses.models import Response


class Written(TypedDict):
    body: str
    change: str
    change_description: str


class _ResponseFields(forms.Form):
    body = forms.CharField(
        label=_("Your response"),
        help_text=_(
            "Your name, job title, department, what you do and your organisation are shown "
            "with your response"
        ),
        widget=forms.Textarea(attrs={"rows": 10}),
        required=False,  # required, and its length: services._clean_body
    )
    change = forms.ChoiceField(
        label=_("Does your response describe a change?"),
        help_text=_("Responses that describe a change are always checked by a moderator"),
        choices=Response.Change.choices,
        initial=Response.Change.NONE,
        widget=forms.RadioSelect,
        required=False,  # required: services._clean_change
    )
    change_description = forms.CharField(
        label=_("Describe the change"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,  # required with a change, and its length: services._clean_change
    )

    def written(self) -> Written:
        """What the responder wrote, as ``response_post`` and ``response_edit`` take it."""
        data = self.cleaned_data
        return Written(
            body=data["body"], change=data["change"], change_description=data["change_description"]
        )


class _AnyMemberField(forms.TypedChoiceField):
    """A member's user id (an integer, blank for "myself"). The choices only show whom the
    page offers: whether the sender may respond for that member is ``response_post``'s rule,
    so any integer passes here and the use case says no."""

    def valid_value(self, value: Any) -> bool:
        return True


class ResponseForm(_ResponseFields, IdempotentForm):
    on_behalf_of = _AnyMemberField(
        label=_("Post this response as"),
        help_text=_(
            "As an administrator you can post it on behalf of a responder in your "
            "organisation: it shows their name and says that your organisation posted it for "
            "them, and they are emailed. You, not they, can change or delete it while that is "
            "possible."
        ),
        coerce=int,
        empty_value=None,
        required=False,
    )

    def __init__(self, *args: Any, on_behalf_choices: list[tuple[int, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = self.fields["on_behalf_of"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("Myself")), *on_behalf_choices]


class ResponseEditForm(_ResponseFields, VersionForm):
    pass


class ReplyForm(IdempotentForm):
    """The story's author replies to a published response (``services.reply_post`` checks
    the words)."""

    body = forms.CharField(
        label=_("Your reply"),
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,  # required, and its length: services._clean_body
    )
