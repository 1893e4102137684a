"""Forms for telling a story and replying. Messages are specific: they say what to fix."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from carestory.lib.emails import normalise_email
from carestory.lib.postcodes import Problem, uk_parse
from carestory.lib.screen_names import screen_name_problem
from carestory.lib.text import normalise_text, word_count
from carestory.stories.models import AgeGroup, AuthorRole, Tag
from carestory.stories.selectors import StoryCursor, StoryPage

SCREEN_NAME_MESSAGES = {
    "empty": _("Enter a screen name"),
    "too_long": _("Your screen name must be 40 characters or fewer"),
    "invisible": _(
        "Your screen name contains an invisible character (such as a zero-width space or a "
        "text-direction mark): type it again using letters, numbers and spaces"
    ),
    "no_letters": _("Your screen name must contain at least one letter or number"),
    "email": _("Your screen name must not contain an email address"),
    "phone": _("Your screen name must not contain a phone number"),
    "full_name": _(
        "Your screen name looks like a real name. Choose one that does not identify you, "
        "such as 'Grateful patient'"
    ),
    "birth_year": _("Your screen name must not contain your age or year of birth"),
}

# A full UK postcode, a sector or just the district ("LS1"): each says where people are.
POSTCODE_MESSAGES = {
    Problem.CHARACTERS: _("Enter a postcode using only letters, numbers and spaces"),
    Problem.AREA: _("Check the start of your postcode: no UK postcode begins with those letters"),
    Problem.SHAPE: _("Enter a UK postcode, like LS1 4AP, or just its first part, like LS1"),
}


class TagChoiceField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    widget = forms.CheckboxSelectMultiple

    def __init__(self, group: str, **kwargs: Any) -> None:
        super().__init__(queryset=Tag.objects.filter(group=group), required=False, **kwargs)


class StoryForm(forms.Form):
    title = forms.CharField(
        label=_("What was your story about?"),
        help_text=_("A short title, for example 'Kind staff in the emergency department'"),
        max_length=200,
        error_messages={
            "required": _("Enter a title for your story"),
            "max_length": _("The title must be 200 characters or fewer"),
        },
    )
    body = forms.CharField(
        label=_("What happened? How did you feel?"),
        help_text=_(
            "Tell us what was good and what could be improved. Please do not include names of "
            "patients or staff. Up to %(limit)s words."
        )
        % {"limit": settings.STORY_MAX_WORDS},
        widget=forms.Textarea(attrs={"rows": 12}),
        max_length=settings.STORY_MAX_CHARACTERS,
        error_messages={
            "required": _("Enter your story"),
            "max_length": _(
                "Your story has %(show_value)s characters: shorten it to %(limit_value)s "
                "characters or fewer"
            ),
        },
    )
    good = TagChoiceField(Tag.Group.ASPECT, label=_("What was good?"))
    improve = TagChoiceField(Tag.Group.ASPECT, label=_("What could be improved?"))
    feelings = TagChoiceField(Tag.Group.FEELING, label=_("How did you feel?"))
    author_role = forms.ChoiceField(
        label=_("Who are you in this story?"),
        choices=AuthorRole.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Select who you are in this story")},
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
        max_length=10,
        required=False,
        error_messages={"max_length": _("Enter a postcode of 10 characters or fewer")},
    )
    screen_name = forms.CharField(
        label=_("Screen name"),
        help_text=_("Shown with your story. Do not use your real name"),
        max_length=40,
        error_messages={
            "required": SCREEN_NAME_MESSAGES["empty"],
            "max_length": SCREEN_NAME_MESSAGES["too_long"],
        },
    )
    email = forms.EmailField(
        label=_("Email address"),
        help_text=_("We will email you a link to confirm your story. Never published"),
        max_length=254,
        error_messages={
            "required": _("Enter your email address"),
            "invalid": _("Enter an email address in the correct format, like name@example.com"),
        },
    )
    consent = forms.BooleanField(
        label=_(
            "I agree to my story being published, and shared with the organisations that "
            "provide and oversee my care"
        ),
        error_messages={"required": _("You must agree to your story being published")},
    )
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4())

    def clean_body(self) -> str:
        body = normalise_text(self.cleaned_data["body"])
        words = word_count(body)
        if words > settings.STORY_MAX_WORDS:
            raise forms.ValidationError(
                _("Your story has %(count)s words: shorten it to %(limit)s words or fewer"),
                params={"count": words, "limit": settings.STORY_MAX_WORDS},
            )
        if not body:
            raise forms.ValidationError(_("Enter your story"))
        return body

    def clean_title(self) -> str:
        title = normalise_text(self.cleaned_data["title"])
        if not title:
            raise forms.ValidationError(_("Enter a title for your story"))
        return title

    def clean_screen_name(self) -> str:
        name = normalise_text(self.cleaned_data["screen_name"])
        problem = screen_name_problem(name)
        if problem:
            raise forms.ValidationError(SCREEN_NAME_MESSAGES[problem])
        return name

    def clean_postcode(self) -> str:
        text = self.cleaned_data["postcode"]
        if not text:
            return ""
        parsed = uk_parse(text)
        if parsed.value is None:
            problem = parsed.problem if parsed.problem in POSTCODE_MESSAGES else Problem.SHAPE
            raise forms.ValidationError(POSTCODE_MESSAGES[problem])
        return parsed.value.display

    def clean_email(self) -> str:
        return normalise_email(str(self.cleaned_data["email"]))


class StoryEditForm(forms.Form):
    title = StoryForm.base_fields["title"]
    body = StoryForm.base_fields["body"]
    version = forms.IntegerField(widget=forms.HiddenInput)
    clean_title = StoryForm.clean_title
    clean_body = StoryForm.clean_body


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your reply"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=10_000,
        error_messages={
            "required": _("Enter your reply"),
            "max_length": _("Your reply must be 10,000 characters or fewer"),
        },
    )
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4())


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
