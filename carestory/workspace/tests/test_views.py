"""The workspace's pages: filters (400 with the message), 404s, reading, tags, searches."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from carestory.stories.models import Story
from carestory.workspace.models import AnsweringMarker, SavedSearch, StaffTag, StoryRead
from conftest import World
from tests.factories import StoryFactory

pytestmark = pytest.mark.django_db

WORKSPACE = "/staff/"


def published(world: World, **fields: object) -> Story:
    fields.setdefault("services", [world.ward])
    return StoryFactory(published=True, **fields)


def test_staff_url_name_is_the_workspace(world: World) -> None:
    assert reverse("subscriptions:dashboard") == WORKSPACE


def test_workspace_lists_stories_in_scope_with_their_progress(client: Client, world: World) -> None:
    published(world, title="Riverside story")
    published(world, title="Hilltop story", services=[world.other_ward])
    client.force_login(world.member)
    page = client.get(WORKSPACE)
    body = page.content.decode()
    assert page.status_code == 200
    assert "Riverside story" in body and "Hilltop story" not in body
    assert 'data-progress="0"' in body  # unheard


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("published_from=2026-02-30", "Enter a valid date."),
        ("published_from=2026-05-02&published_to=2026-05-01", "The end date must be on or after"),
        ("service=RYY-W1", "Choose a service inside your organisation"),
        ("min_criticality=9", "Select a valid choice."),
        ("after=nonsense", "This page link is not valid."),
    ],
)
def test_a_bad_filter_is_400_with_its_message(
    client: Client, world: World, query: str, message: str
) -> None:
    published(world, title="Riverside story")
    client.force_login(world.responder)
    page = client.get(f"{WORKSPACE}?{query}")
    assert page.status_code == 400
    body = page.content.decode()
    assert message in body and "Riverside story" not in body


def test_filters_and_next_page_link_keep_the_filters(client: Client, world: World) -> None:
    for n in range(22):
        published(world, title=f"Rated story {n}", criticality=4)
    published(world, title="Mild story", criticality=1)
    client.force_login(world.responder)
    first = client.get(f"{WORKSPACE}?min_criticality=3&sort=critical")
    body = first.content.decode()
    assert first.status_code == 200 and "Mild story" not in body
    older = first.context["older_url"]
    assert "min_criticality=3" in older and "sort=critical" in older and "after=4." in older
    second = client.get(WORKSPACE + older).content.decode()
    assert second.count("cs-workspace-story") == 2 and "Mild story" not in second


def test_story_page_records_the_read_and_shows_readers(client: Client, world: World) -> None:
    story = published(world)
    url = reverse("workspace:story", args=[story.public_id])
    client.force_login(world.admin)
    assert client.get(url).status_code == 200
    client.force_login(world.member)
    body = client.get(url).content.decode()
    assert StoryRead.objects.filter(story=story).count() == 2
    assert "Adam Admin" in body and 'data-progress="2"' in body  # read


def test_story_page_never_shows_the_authors_private_details(client: Client, world: World) -> None:
    story = published(
        world,
        original_title="PRIVATE-TITLE-CANARY",
        original_body="PRIVATE-BODY-CANARY",
        title="The published title",
        body="The published text.",
        postcode="TS18 1HU",
        age_group="35_44",
    )
    client.force_login(world.responder)
    for url in (WORKSPACE, reverse("workspace:story", args=[story.public_id])):
        body = client.get(url).content.decode()
        assert "The published title" in body
        for private in ("PRIVATE-TITLE-CANARY", "PRIVATE-BODY-CANARY", "TS18 1HU", "35 to 44"):
            assert private not in body
        assert story.author.email not in body


def story_urls(public_id: str) -> list[tuple[str, str]]:
    return [
        ("get", reverse("workspace:story", args=[public_id])),
        ("post", reverse("workspace:respond", args=[public_id])),
        ("post", reverse("workspace:tag_add", args=[public_id])),
    ]


@pytest.mark.parametrize("status", [s for s in Story.Status if s != Story.Status.PUBLISHED])
def test_an_unpublished_story_is_404_on_every_workspace_url(
    client: Client, world: World, status: str
) -> None:
    story = StoryFactory(**{status: True}, services=[world.ward])
    client.force_login(world.admin)
    for method, url in story_urls(story.public_id):
        assert getattr(client, method)(url, {"name": "x"}).status_code == 404, url


def test_a_story_outside_scope_is_404_on_every_workspace_url(client: Client, world: World) -> None:
    story = published(world, services=[world.other_ward])
    tag = StaffTag.objects.create(
        story=story,
        author=world.other_responder,
        subscription=world.other_subscription,
        name="Public",
        slug="public",
        visibility="public",
    )
    client.force_login(world.responder)
    urls = [*story_urls(story.public_id)]
    urls.append(("post", reverse("workspace:tag_remove", args=[story.public_id, tag.pk])))
    for method, url in urls:
        assert getattr(client, method)(url, {"name": "x"}).status_code == 404, url
    assert not StoryRead.objects.exists() and not AnsweringMarker.objects.exists()


def test_respond_marks_me_answering_and_others_see_it(client: Client, world: World) -> None:
    story = published(world)
    client.force_login(world.responder)
    answer = client.post(reverse("workspace:respond", args=[story.public_id]))
    assert answer.status_code == 302
    assert answer["Location"] == reverse("responses:respond", args=[story.public_id])
    client.force_login(world.admin)
    body = client.get(reverse("workspace:story", args=[story.public_id])).content.decode()
    assert "Rita Responder is answering this story." in body
    client.force_login(world.member)  # a member cannot respond: no button, and 404 if tried
    body = client.get(reverse("workspace:story", args=[story.public_id])).content.decode()
    assert reverse("workspace:respond", args=[story.public_id]) not in body
    assert client.post(reverse("workspace:respond", args=[story.public_id])).status_code == 404


def test_tags_added_on_the_story_page_and_public_ones_on_the_public_page(
    client: Client, world: World
) -> None:
    story = published(world)
    add = reverse("workspace:tag_add", args=[story.public_id])
    client.force_login(world.responder)
    for name, visibility in (
        ("Secret note", "private"),
        ("Team note", "shared"),
        ("Kind staff", "public"),
    ):
        answer = client.post(add, {"name": name, "visibility": visibility, "polarity": "1"})
        assert answer.status_code == 302
    refused = client.post(add, {"name": "", "visibility": "private", "polarity": "0"})
    assert refused.status_code == 400 and "This field is required." in refused.content.decode()
    client.force_login(world.member)
    body = client.get(reverse("workspace:story", args=[story.public_id])).content.decode()
    assert "Team note" in body and "Kind staff" in body and "Secret note" not in body
    public = Client().get(story.get_absolute_url()).content.decode()
    assert "Kind staff" in public and "Team note" not in public and "Secret note" not in public
    too_public = client.post(add, {"name": "Mine", "visibility": "public", "polarity": "0"})
    assert too_public.status_code == 400
    assert "Only responders and administrators can add public tags" in too_public.content.decode()


def test_remove_tag(client: Client, world: World) -> None:
    story = published(world)
    client.force_login(world.member)
    client.post(
        reverse("workspace:tag_add", args=[story.public_id]),
        {"name": "Note", "visibility": "shared", "polarity": "0"},
    )
    tag = StaffTag.objects.get()
    remove = reverse("workspace:tag_remove", args=[story.public_id, tag.pk])
    client.force_login(world.responder)  # sees the shared tag, may not remove it
    page = client.get(reverse("workspace:story", args=[story.public_id])).content.decode()
    assert "Note" in page and remove not in page
    assert client.post(remove).status_code == 404
    client.force_login(world.admin)  # the organisation's administrator may
    assert remove in client.get(reverse("workspace:story", args=[story.public_id])).content.decode()
    client.force_login(world.member)
    assert client.post(remove).status_code == 302
    assert not StaffTag.objects.exists()


def test_saved_searches_save_run_list_delete_only_mine(client: Client, world: World) -> None:
    client.force_login(world.responder)
    saved = client.post(
        reverse("workspace:searches"), {"name": "Critical", "query": "min_criticality=4"}
    )
    assert saved.status_code == 302
    search = SavedSearch.objects.get()
    run = client.get(reverse("workspace:search_run", args=[search.pk]))
    assert run["Location"] == f"{WORKSPACE}?min_criticality=4"
    assert "Critical" in client.get(reverse("workspace:searches")).content.decode()
    again = client.post(reverse("workspace:searches"), {"name": "Critical", "query": ""})
    assert again.status_code == 400
    client.force_login(world.admin)
    assert client.get(reverse("workspace:search_run", args=[search.pk])).status_code == 404
    assert client.post(reverse("workspace:search_delete", args=[search.pk])).status_code == 404
    assert "Critical" not in client.get(reverse("workspace:searches")).content.decode()
    client.force_login(world.responder)
    assert client.post(reverse("workspace:search_delete", args=[search.pk])).status_code == 302
    assert not SavedSearch.objects.exists()


def test_the_workspace_form_offers_the_current_filters_to_save(
    client: Client, world: World
) -> None:
    client.force_login(world.responder)
    page = client.get(f"{WORKSPACE}?read=no&sort=critical&after=3.1.1")
    assert page.context["save_form"].initial["query"] == "read=no&sort=critical"


def test_signed_out_is_sent_to_sign_in(client: Client, world: World) -> None:
    assert client.get(WORKSPACE).status_code == 302
