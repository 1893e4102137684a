"""Forms for telling, changing and finding stories. (The author's reply to a response is
``responses/forms.ReplyForm``.)

The story forms check only types (a choice is one of the choices, an address looks like one);
what a story may be (required answers, lengths, screen names, postcodes, consent) is checked by
``stories/services.story_draft_check`` and its messages put on these fields by the view.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from carestory.accounts.forms import email_field
from carestory.lib.idempotency import IdempotentForm
from carestory.stories.models import AgeGroup, AuthorRole, Tag
from carestory.stories.selectors import StoryCursor, StoryPage


class TagChoiceField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    widget = forms.CheckboxSelectMultiple

    def __init__(self, group: str, **kwargs: Any) -> None:
        super().__init__(queryset=Tag.objects.filter(group=group), required=False, **kwargs)


class StoryForm(IdempotentForm):
    title = forms.CharField(
        label=_("What was your story about?"),
        help_text=_("A short title, for example 'Kind staff in the emergency department'"),
        required=False,  # required, and at most 200 characters: story_draft_check
    )
    body = forms.CharField(
        label=_("What happened? How did you feel?"),
        help_text=_(
            "Tell us what was good and what could be improved. Please do not include names of "
            "patients or staff. Up to %(limit)s words."
        )
        % {"limit": settings.STORY_MAX_WORDS},
        widget=forms.Textarea(attrs={"rows": 12}),
        required=False,  # required, and the length limits: story_draft_check
    )
    good = TagChoiceField(Tag.Group.ASPECT, label=_("What was good?"))
    improve = TagChoiceField(Tag.Group.ASPECT, label=_("What could be improved?"))
    feelings = TagChoiceField(Tag.Group.FEELING, label=_("How did you feel?"))
    author_role = forms.ChoiceField(
        label=_("Who are you in this story?"),
        choices=AuthorRole.choices,
        widget=forms.RadioSelect,
        required=False,  # required: story_draft_check
    )
    age_group = forms.ChoiceField(
        label=_("Your age group (optional)"),
        help_text=_("Used only in statistics, never shown with your story"),
        choices=[("", _("Prefer not to say")), *AgeGroup.choices],
        required=False,
    )
    postcode = forms.CharField(
        label=_("Your postcode (optional)"),
        help_text=_("Private: it helps us understand where people are, and is never published"),
        required=False,  # optional; the service region's grammar if given: story_draft_check
    )
    screen_name = forms.CharField(
        label=_("Screen name"),
        help_text=_("Shown with your story. Do not use your real name"),
        required=False,  # required, and anonymous: story_draft_check
    )
    email = email_field(
        help_text=_("We will email you a link to confirm your story. Never published")
    )
    consent = forms.BooleanField(
        label=_(
            "I agree to my story being published, and shared with the organisations that "
            "provide and oversee my care"
        ),
        required=False,  # required: story_draft_check
    )


class StoryEditForm(forms.Form):
    """The author's change while in moderation: story_author_edit checks the words."""

    title = StoryForm.base_fields["title"]
    body = StoryForm.base_fields["body"]
    version = forms.IntegerField(widget=forms.HiddenInput)


class StoryPageForm(forms.Form):
    """The keyset cursor of a story list, from the query string: ``after`` (older stories) or
    ``before`` (newer ones). A broken link shows the newest page with a message."""

    after = forms.CharField(required=False, widget=forms.HiddenInput)
    before = forms.CharField(required=False, widget=forms.HiddenInput)

    def _cursor(self, name: str) -> StoryCursor | None:
        value = (self.cleaned_data.get(name) or "").strip()
        if not value:
            return None
        try:
            return StoryCursor.decode(value)
        except ValueError:
            raise forms.ValidationError(
                _("This page link is not valid. Showing the newest stories instead.")
            ) from None

    def clean_after(self) -> StoryCursor | None:
        return self._cursor("after")

    def clean_before(self) -> StoryCursor | None:
        return self._cursor("before")

    def cursor(self) -> tuple[StoryCursor | None, StoryCursor | None]:
        """``after`` and ``before`` for ``stories_published_page`` (both None when invalid)."""
        if not self.is_valid():
            return None, None
        return self.cleaned_data["after"], self.cleaned_data["before"]


def story_page_links(page: StoryPage, filters: dict[str, str] | None = None) -> dict[str, str]:
    """``newer_url`` and ``older_url`` (query strings keeping the filters) for a page."""

    def link(**cursor: StoryCursor) -> str:
        params = {k: v for k, v in (filters or {}).items() if v}
        params.update({k: c.encode() for k, c in cursor.items()})
        return f"?{urlencode(params)}"

    return {
        "newer_url": link(before=page.newer) if page.newer else "",
        "older_url": link(after=page.older) if page.older else "",
    }
