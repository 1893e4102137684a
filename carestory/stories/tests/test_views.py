from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from carestory.outbox.models import OutboxMessage
from carestory.responses.models import AuthorReply
from carestory.stories.models import Story, Tag
from conftest import World
from tests.emails import emailed_path
from tests.factories import ResponseFactory, StoryFactory

pytestmark = pytest.mark.django_db

TELL = reverse("stories:tell")


def form_data(world: World, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "service": [world.ward.code],
        "idempotency_key": str(uuid.uuid4()),
        "title": "Kind nurses",
        "body": "The nurses on the ward were kind and explained everything.",
        "good": [str(Tag.objects.get(slug="staff-attitude").pk)],
        "author_role": "patient",
        "screen_name": "Grateful patient",
        "email": "teller@example.org",
        "consent": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_choose_service_step_searches_without_javascript(client: Client, world: World) -> None:
    response = client.get(TELL, {"q": "ward 1"})
    assert response.status_code == 200
    assert f"service={world.ward.code}" in response.content.decode()
    # Closed services cannot be chosen.
    response = client.get(TELL, {"q": "Old Clinic"})
    assert "RXX99" not in response.content.decode()


def test_service_param_opens_the_form(client: Client, world: World) -> None:
    response = client.get(TELL, {"service": world.ward.code})
    body = response.content.decode()
    assert response.status_code == 200
    assert "What was your story about?" in body
    assert "What was good?" in body and "How did you feel?" in body
    assert "999" in body  # crisis signposting before writing


def test_good_submission_commits_then_acknowledges(client: Client, world: World) -> None:
    response = client.post(TELL, form_data(world))
    assert response.status_code == 302
    story = Story.objects.get()
    assert story.status == Story.Status.AWAITING_VERIFICATION
    follow = client.get(response["Location"])
    assert "Check your email" in follow.content.decode()


def test_double_post_makes_one_story(client: Client, world: World) -> None:
    data = form_data(world)
    assert client.post(TELL, data).status_code == 302
    assert client.post(TELL, data).status_code == 302
    assert Story.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"title": ""}, "Enter a title for your story"),
        ({"body": ""}, "Enter your story"),
        ({"body": "word " * 1600}, "Your story has 1600 words"),
        ({"email": "not-an-email"}, "Enter an email address in the correct format"),
        ({"email": ""}, "Enter your email address"),
        ({"consent": None}, "You must agree to your story being published"),
        ({"author_role": None}, "Select who you are in this story"),
        ({"author_role": "superuser"}, "Select a valid choice"),
        ({"screen_name": "sarah.jones@example.org"}, "must not contain an email address"),
        ({"screen_name": "Call 07700 900123"}, "must not contain a phone number"),
        ({"screen_name": "Sarah Jones"}, "looks like a real name"),
        ({"postcode": "<script>"}, "Enter a postcode using only letters"),
        ({"postcode": "Leeds"}, "Enter a UK postcode, like LS1 4AP, or just its first part"),
        ({"postcode": "LS1 4CI"}, "Enter a UK postcode, like LS1 4AP"),  # no C or I there
        ({"postcode": "D02 X285"}, "Enter a UK postcode, like LS1 4AP"),
        ({"postcode": "ZZ9 9ZZ"}, "no UK postcode begins with those letters"),
        ({"good": ["999999"]}, "Select a valid choice"),
        ({"idempotency_key": "forged"}, "Enter a valid UUID"),
    ],
)
def test_bad_input_shows_specific_message_and_changes_nothing(
    client: Client, world: World, overrides: dict[str, Any], message: str
) -> None:
    data = form_data(world, **overrides)
    response = client.post(TELL, data)
    body = response.content.decode()
    assert response.status_code == 400
    assert "There is a problem" in body
    assert message in body
    assert Story.objects.count() == 0
    assert OutboxMessage.objects.count() == 0
    # Nothing typed is lost: the other answers are still in the form.
    if overrides.get("title") is None and "title" not in overrides:
        assert data["title"] in body


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("ls1 4ap", "LS1 4AP"),
        (" LS14AP ", "LS1 4AP"),
        ("\uff2c\uff33\uff11 \uff14\uff21\uff30", "LS1 4AP"),  # full-width
        ("ls1", "LS1"),  # the first part alone is enough
        ("LS1 4", "LS1 4"),
        ("", ""),
    ],
)
def test_postcode_is_kept_in_one_form(
    client: Client, world: World, typed: str, stored: str
) -> None:
    assert client.post(TELL, form_data(world, postcode=typed)).status_code == 302
    assert Story.objects.get().postcode == stored


def test_unknown_service_code_is_explained(client: Client, world: World) -> None:
    response = client.get(TELL, {"service": ["NOPE1"]})
    assert response.status_code == 400
    assert "could not find an open service with the code NOPE1" in response.content.decode()
    assert Story.objects.count() == 0


@pytest.mark.parametrize("how", ["closed", "unknown"])
def test_a_service_closed_while_writing_keeps_everything_typed(
    client: Client, world: World, how: str
) -> None:
    data = form_data(world)
    if how == "closed":
        world.ward.is_open = False
        world.ward.save()
    else:
        data["service"] = ["NOPE1"]
    response = client.post(TELL, data)
    assert response.status_code == 302
    assert Story.objects.count() == 0
    chooser = client.get(response["Location"]).content.decode()
    assert "Your story has not been sent yet" in chooser
    # Choose an open service again: the form comes back with everything the author typed.
    page = client.get(TELL, {"service": world.other_ward.code}).content.decode()
    assert data["title"] in page and data["body"] in page and data["screen_name"] in page
    assert str(data["idempotency_key"]) in page  # so a resubmission is still one story
    sent = client.post(TELL, {**data, "service": [world.other_ward.code]})
    assert sent.status_code == 302
    assert Story.objects.get().services.get() == world.other_ward
    assert client.session.get("story_draft") is None


def test_change_service_keeps_the_draft_without_javascript(client: Client, world: World) -> None:
    data = form_data(world)
    response = client.post(TELL, {**data, "action": "change_service"})
    assert response.status_code == 302 and "add=1" in response["Location"]
    assert Story.objects.count() == 0
    page = client.get(TELL, {"service": world.ward.code}).content.decode()
    assert data["body"] in page


def test_forged_status_field_is_ignored(client: Client, world: World) -> None:
    client.post(TELL, form_data(world, status="published", criticality="0"))
    assert Story.objects.get().status == Story.Status.AWAITING_VERIFICATION


def test_verify_get_does_not_change_state_post_does(client: Client, world: World) -> None:
    client.post(TELL, form_data(world))
    path = emailed_path("story-verify:", "/verify/")
    assert client.get(path).status_code == 200
    assert Story.objects.get().status == Story.Status.AWAITING_VERIFICATION
    response = client.post(path)
    assert response.status_code == 200
    assert Story.objects.get().status == Story.Status.IN_MODERATION
    # The author is now signed in and sees their story.
    assert "Kind nurses" in client.get(reverse("stories:my_stories")).content.decode()
    assert client.post(path).status_code == 404  # used


def test_bad_verify_token_is_404(client: Client) -> None:
    assert client.get("/verify/not-a-real-token/").status_code == 404


def test_my_stories_needs_sign_in(client: Client) -> None:
    response = client.get(reverse("stories:my_stories"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:sign_in")


def test_author_sees_only_own_stories(client: Client, world: World) -> None:
    mine = StoryFactory(author=world.author, services=[world.ward])
    theirs = StoryFactory(services=[world.ward])
    client.force_login(world.author)
    assert client.get(reverse("stories:my_story", args=[mine.public_id])).status_code == 200
    assert client.get(reverse("stories:my_story", args=[theirs.public_id])).status_code == 404
    assert client.post(reverse("stories:withdraw", args=[theirs.public_id])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Story.Status.IN_MODERATION


def test_author_edits_in_moderation_and_sees_conflict(client: Client, world: World) -> None:
    story = StoryFactory(author=world.author, services=[world.ward])
    client.force_login(world.author)
    url = reverse("stories:my_story", args=[story.public_id])
    ok = client.post(url, {"title": "Changed", "body": "Changed body", "version": "1"})
    assert ok.status_code == 302
    stale = client.post(url, {"title": "Stale", "body": "Stale body", "version": "1"})
    assert stale.status_code == 409
    story.refresh_from_db()
    assert story.original_title == "Changed"


def test_withdraw_removes_from_public_pages(client: Client, world: World) -> None:
    story = StoryFactory(author=world.author, published=True, services=[world.ward])
    public_url = reverse("stories:detail", args=[story.public_id])
    assert client.get(public_url).status_code == 200
    client.force_login(world.author)
    confirm = client.get(reverse("stories:withdraw", args=[story.public_id]))
    assert confirm.status_code == 200  # a confirmation page, no change yet
    assert client.post(reverse("stories:withdraw", args=[story.public_id])).status_code == 302
    client.logout()
    assert client.get(public_url).status_code == 404
    assert story.title not in client.get(reverse("stories:list")).content.decode()
    assert (
        story.title
        not in client.get(reverse("services:detail", args=[world.trust.code])).content.decode()
    )


def test_author_replies_to_published_response(client: Client, world: World) -> None:
    story = StoryFactory(author=world.author, published=True, services=[world.ward])
    response = ResponseFactory(
        story=story, published=True, subscription=world.subscription, responder=world.responder
    )
    url = reverse("stories:reply", args=[story.public_id, response.pk])
    client.force_login(world.author)
    page = client.get(reverse("stories:detail", args=[story.public_id]))
    assert url in page.content.decode()
    empty = client.post(url, {"body": "", "idempotency_key": str(uuid.uuid4())})
    assert empty.status_code == 400 and "Enter your reply" in empty.content.decode()
    key = str(uuid.uuid4())
    assert client.post(url, {"body": "Thank you", "idempotency_key": key}).status_code == 200
    assert client.post(url, {"body": "Thank you", "idempotency_key": key}).status_code == 200
    assert AuthorReply.objects.count() == 1


def test_only_the_author_can_reply(client: Client, world: World) -> None:
    story = StoryFactory(author=world.author, published=True, services=[world.ward])
    response = ResponseFactory(story=story, published=True, subscription=world.subscription)
    client.force_login(world.reader)
    url = reverse("stories:reply", args=[story.public_id, response.pk])
    assert client.post(url, {"body": "Hi", "idempotency_key": str(uuid.uuid4())}).status_code == 404
    assert AuthorReply.objects.count() == 0


def test_unpublished_response_cannot_be_replied_to(client: Client, world: World) -> None:
    story = StoryFactory(author=world.author, published=True, services=[world.ward])
    response = ResponseFactory(story=story, subscription=world.subscription)
    client.force_login(world.author)
    url = reverse("stories:reply", args=[story.public_id, response.pk])
    assert client.get(url).status_code == 404


def test_story_list_pages_do_not_grow_queries(
    client: Client, world: World, django_assert_max_num_queries: Any
) -> None:
    for _ in range(15):
        StoryFactory(published=True, services=[world.ward])
    with django_assert_max_num_queries(8):
        assert client.get(reverse("stories:list")).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(reverse("services:detail", args=[world.trust.code])).status_code == 200


def test_the_feed_publishes_story_text_as_text_not_markup(client: Client, world: World) -> None:
    from xml.etree import ElementTree

    from tests.factories import StoryFactory

    attack = 'Hello <script>alert(1)</script> <img src=x onerror="alert(2)">\n\nSecond & last'
    StoryFactory(services=[world.ward], published=True, body=attack)
    response = client.get("/stories/feed.atom")
    root = ElementTree.fromstring(response.content)  # noqa: S314  (our own feed)
    ns = {"atom": "http://www.w3.org/2005/Atom"}
    summary = root.find("atom:entry/atom:summary", ns)
    assert summary is not None and summary.get("type") == "html"
    html = summary.text or ""
    # A feed reader renders this HTML: the story's markup must arrive escaped, as text.
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<p>Second &amp; last</p>" in html


@pytest.mark.parametrize(
    ("screen_name", "message"),
    [
        ("\u200b\u200b\u200b", "invisible character"),
        ("Grateful\u202epatient", "invisible character"),
        ("Happy\u2066 patient", "invisible character"),
        ("\ufeffNurse fan", "invisible character"),
        ("\u3164\u3164", "invisible character"),
        ("\u115f\u1160", "invisible character"),
        ("Kind\uffa0nurse", "invisible character"),
        ("!!! ... ???", "at least one letter or number"),
    ],
)
def test_screen_names_of_invisible_characters_or_no_letters_are_refused(
    client: Client, world: World, screen_name: str, message: str
) -> None:
    response = client.post(TELL, form_data(world, screen_name=screen_name))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Story.objects.count() == 0


def test_a_story_of_120000_characters_is_refused_with_a_clear_message(
    client: Client, world: World
) -> None:
    response = client.post(TELL, form_data(world, body="!" * 120_000))
    assert response.status_code == 400
    page = response.content.decode()
    assert "Your story has 120000 characters: shorten it to 20000 characters or fewer" in page
    assert Story.objects.count() == 0
    # And as one giant word, which the word limit alone would let through.
    response = client.post(TELL, form_data(world, body="a" * 25_000))
    assert response.status_code == 400
    assert Story.objects.count() == 0


def test_an_empty_story_form_shows_every_problem_from_the_form_and_the_service(
    client: Client, world: World
) -> None:
    """The form's type checks (a role, an address) and the service's rules (title, story,
    screen name, consent) answer together, each on its field, once."""
    response = client.post(
        TELL, {"service": [world.ward.code], "idempotency_key": str(uuid.uuid4())}
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors == {
        "title": ["Enter a title for your story"],
        "body": ["Enter your story"],
        "author_role": ["Select who you are in this story"],
        "screen_name": ["Enter a screen name"],
        "email": ["Enter your email address"],
        "consent": ["You must agree to your story being published"],
    }
    assert Story.objects.count() == 0


def test_an_authors_edit_gets_the_services_message_on_its_field(
    client: Client, world: World
) -> None:
    story = StoryFactory(author=world.author, services=[world.ward])
    client.force_login(world.author)
    url = reverse("stories:my_story", args=[story.public_id])
    response = client.post(url, {"title": "Changed", "body": "word " * 1501, "version": "1"})
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "body": ["Your story has 1501 words: shorten it to 1500 words or fewer"]
    }
    story.refresh_from_db()
    assert story.original_title != "Changed" and story.version == 1
