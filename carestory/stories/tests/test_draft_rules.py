"""The story rules a form used to check alone (email, author role, age group) and the story
length shared with the moderator's public text: one home each, in stories/services, so a
command or the demo loader gets the form's message."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from carestory.accounts.forms import EmailForm
from carestory.lib.emails import EMAIL_INVALID, EMAIL_MISSING, email_problem
from carestory.moderation.services import edits
from carestory.stories import services
from carestory.stories.forms import StoryForm
from carestory.stories.services import story_draft_check
from conftest import World
from tests.factories import ServiceFactory, story_draft

pytestmark = pytest.mark.django_db


def _problems(**fields: Any) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        story_draft_check(draft=story_draft(**fields))
    return caught.value.message_dict


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"email": ""}, {"email": [str(EMAIL_MISSING)]}),
        ({"email": "not an address"}, {"email": [str(EMAIL_INVALID)]}),
        ({"email": "a@" + "b" * 250 + ".org"}, {"email": [str(EMAIL_INVALID)]}),
        ({"author_role": ""}, {"author_role": ["Select who you are in this story"]}),
        ({"author_role": "king"}, {"author_role": ["Select who you are in this story"]}),
        ({"age_group": "ancient"}, {"age_group": ["Select your age group, or prefer not to say"]}),
    ],
)
def test_the_draft_check_says_what_the_form_would(
    world: World, fields: dict[str, Any], expected: dict[str, list[str]]
) -> None:
    values = {"email": "author@example.org", "services": [world.ward], **fields}
    assert _problems(**values) == expected


def test_a_good_draft_passes_with_and_without_an_age_group(world: World) -> None:
    for age_group in ("", "16_24"):
        draft = story_draft(email="a@example.org", services=[world.ward], age_group=age_group)
        assert story_draft_check(draft=draft).age_group == age_group


def test_the_forms_say_the_same_email_messages() -> None:
    for form in (EmailForm({"email": "nope"}), StoryForm({"email": "nope"})):
        form.is_valid()
        assert form.errors["email"] == [str(EMAIL_INVALID)]
    assert EmailForm({}).errors["email"] == [str(EMAIL_MISSING)]
    assert email_problem(" a@example.org ") == ""


@override_settings(STORY_MAX_CHARACTERS=10, STORY_MAX_WORDS=2)
def test_the_author_and_the_moderator_share_one_length_rule() -> None:
    title = "x" * (services.TITLE_MAX_LENGTH + 1)
    for clean in (services.story_title_clean, edits._clean_title):
        with pytest.raises(ValidationError) as caught:
            clean(title)
        assert caught.value.message_dict == {"title": [services.story_title_too_long(title)]}
    with pytest.raises(ValidationError) as caught:
        edits._clean_body("x" * 11)
    assert caught.value.message_dict == {
        "body": ["The public text has 11 characters: the limit is 10"]
    }
    # The public text's words are not counted (a moderator may not be stopped by a rule the
    # author's text already met); the author's are.
    assert edits._clean_body("a b c") == "a b c"
    assert services.story_text_too_long("a b c") == (
        "Your story has 3 words: shorten it to 2 words or fewer"
    )


def test_the_services_a_story_may_name_have_one_rule(world: World) -> None:
    """Open services only, at most MAX_SERVICES_PER_STORY: the form's lookup and the draft check
    keep the same rule (stories/services), so a caller that skips the form is refused too."""
    named, bad = services.story_services_named([" rxx01-w1 ", "RXX99", "NOPE", "RXX01-W1"])
    assert (named, bad) == ([world.ward], ["NOPE", "RXX99"])
    six = [world.ward, world.hospital, world.trust, world.other_ward, world.other_trust]
    six.append(ServiceFactory())
    many = [s.code for s in six]
    assert len(services.story_services_named(many)[0]) == services.MAX_SERVICES_PER_STORY
    base = {"email": "a@example.org"}
    assert _problems(**base, services=six) == {"__all__": ["Choose at most 5 services"]}
    assert _problems(**base, services=[world.closed]) == {
        "__all__": ["That service has closed: choose another"]
    }
    assert _problems(**base, services=[]) == {"__all__": ["Choose the service your story is about"]}


@pytest.mark.parametrize(
    ("region", "typed", "kept", "message"),
    [
        ("uk", "ls1 4ap", "LS1 4AP", ""),
        ("uk", "D02 X285", "", "Enter a UK postcode, like LS1 4AP, or just its first part"),
        ("ie", "d02x285", "D02 X285", ""),
        ("ie", "LS1 4AP", "", "Enter an Eircode, like D02 X285, or just its first part"),
        ("ca", "k1a 0b1", "K1A 0B1", ""),
        ("au", "2000", "2000", ""),
        ("au", "20000", "", "Enter a postcode of four numbers, like 2000"),
        ("nz", "LS1 4AP", "LS1 4AP", ""),  # no grammar there yet: the UK's
        ("ie", "D02 X285!", "", "Enter a postcode using only letters, numbers and spaces"),
    ],
)
def test_the_postcode_follows_the_services_region(
    region: str, typed: str, kept: str, message: str
) -> None:
    service = ServiceFactory(region=region)
    draft = story_draft(email="a@example.org", services=[service], postcode=typed)
    if message:
        assert _problems(**vars(draft))["postcode"][0].startswith(message)
    else:
        assert story_draft_check(draft=draft).postcode == kept
