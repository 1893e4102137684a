"""The editor: save conflicts with a word diff, applying suggestions, the history of versions."""

from __future__ import annotations

import html as html_lib
import re
from typing import Any

import pytest
from django.urls import reverse

from carestory.audit.models import AuditEvent
from carestory.moderation.selectors import story_suggestions
from carestory.moderation.services.decisions import story_publish
from carestory.moderation.services.edits import story_moderate_save
from carestory.stories.models import Story, StoryRevision
from conftest import World
from tests.factories import StoryFactory

from .test_workbench import another_moderator, form_data, signed_in, story_edit

pytestmark = pytest.mark.django_db

EMAIL = "jo.bloggs@example.com"


def textarea(html: str, name: str) -> str:
    match = re.search(rf'<textarea[^>]* name="{name}"[^>]*>(.*?)</textarea>', html, re.S)
    assert match, f"no textarea {name}"
    return html_lib.unescape(match.group(1))


def changed(html: str, tag: str) -> list[str]:
    """The texts marked as deleted (``del``) or inserted (``ins``) in a rendered diff."""
    pattern = rf'<{tag}><span class="nhsuk-u-visually-hidden">[^<]*</span>(.*?)<span'
    return [html_lib.unescape(t) for t in re.findall(pattern, html, re.S)]


def hidden_version(html: str) -> int:
    match = re.search(r'<input type="hidden" name="version" value="(\d+)"', html)
    assert match
    return int(match.group(1))


# --- Save conflicts --------------------------------------------------------------------------


def test_the_second_save_sees_the_difference_and_keeps_what_was_typed(world: World) -> None:
    story = StoryFactory(services=[world.ward], original_body="The nurse was kind.")
    url = reverse("moderation:story", args=[story.public_id])
    first, second = signed_in(world.moderator), signed_in(another_moderator())
    first.get(url)
    second.get(url)  # both read version 1

    saved = first.post(
        url,
        form_data(story, title="Saved by A", body="The nurse was kind and calm.", action="save"),
    )
    clash = second.post(
        url, form_data(story, title="Typed by B", body="The nurse was very kind.", action="save")
    )

    assert saved.status_code == 302
    assert clash.status_code == 409
    page = clash.content.decode()
    assert "Someone else changed this story" in page
    # What B typed is still in the form...
    assert textarea(page, "body") == "The nurse was very kind."
    assert 'value="Typed by B"' in page
    # ...and the difference from A's saved version is shown word by word.
    diff = page[page.index("What you typed, compared with the saved version") :]
    assert " and calm" in changed(diff, "del")
    assert "very " in changed(diff, "ins")
    assert "Saved" in changed(diff, "del") and "Typed" in changed(diff, "ins")
    story.refresh_from_db()
    assert (story.title, story.body, story.version) == (
        "Saved by A",
        "The nurse was kind and calm.",
        2,
    )
    # Having seen the difference, B can save over the new version on purpose.
    assert hidden_version(page) == 2
    again = second.post(
        url, form_data(story, title="Typed by B", body="The nurse was very kind.", version="2")
    )
    assert again.status_code == 302
    story.refresh_from_db()
    assert story.title == "Typed by B" and story.version == 3


def test_a_decision_after_someone_else_decided_shows_what_was_typed(world: World) -> None:
    story = StoryFactory(services=[world.ward])
    url = reverse("moderation:story", args=[story.public_id])
    story_publish(
        story=Story.objects.get(pk=story.pk),
        moderator=world.moderator,
        edit=story_edit(world, version=1),
    )

    late = signed_in(another_moderator()).post(
        url, form_data(story, body="My careful late edit", action="reject", reason="duplicate")
    )

    assert late.status_code == 409
    page = late.content.decode()
    assert "Someone else changed this story" in page
    assert "The story is now: Published" in page
    assert "My careful late edit" in page  # nothing typed is lost
    story.refresh_from_db()
    assert story.status == Story.Status.PUBLISHED


# --- Suggestions -----------------------------------------------------------------------------


def email_suggestion(story: Story) -> Any:
    found = [s for s in story_suggestions(story=story) or [] if s.label == "EMAIL"]
    assert found, "the checks should find the email address"
    return found[0]


def test_applying_a_suggestion_changes_the_saved_text_at_its_span(world: World) -> None:
    body = f"Please email me at {EMAIL} about my stay."
    story = StoryFactory(services=[world.ward], original_body=body)
    suggestion = email_suggestion(story)
    assert suggestion.text == EMAIL and suggestion.field == "body"
    url = reverse("moderation:story", args=[story.public_id])
    client = signed_in(world.moderator)
    client.get(url)

    response = client.post(
        url,
        form_data(
            story,
            title=story.title,
            body=body,
            note="A note I am still writing",
            criticality="3",
            apply=suggestion.key,
            action="",
        ),
    )

    assert response.status_code == 200
    story.refresh_from_db()
    assert EMAIL not in story.body
    assert story.body.startswith("Please email me at")
    assert story.body.endswith("about my stay.")
    if suggestion.replacement:
        assert suggestion.replacement in story.body
    else:
        assert "at about" in story.body  # removed without leaving a double space
    assert story.version == 2
    assert story.original_body == body  # the author's words are never changed
    revision = StoryRevision.objects.filter(story=story).latest("id")
    assert revision.kind == StoryRevision.Kind.MODERATOR_EDIT and revision.body == story.body
    event = AuditEvent.objects.get(action="story.suggestion_apply")
    assert event.changes["label"] == "EMAIL" and EMAIL not in str(event.changes)
    page = response.content.decode()
    assert "Suggestion applied and saved." in page
    assert textarea(page, "body") == story.body
    assert textarea(page, "note") == "A note I am still writing"  # nothing else typed is lost
    assert re.search(r'<option value="3" selected>', page)
    assert hidden_version(page) == 2


def test_a_suggestion_from_an_old_version_is_a_conflict(world: World) -> None:
    body = f"Please email me at {EMAIL} about my stay."
    story = StoryFactory(services=[world.ward], original_body=body)
    suggestion = email_suggestion(story)
    story_moderate_save(
        story=Story.objects.get(pk=story.pk),
        moderator=another_moderator(),
        edit=story_edit(world, version=1, body="Somebody else rewrote it."),
    )

    response = signed_in(world.moderator).post(
        reverse("moderation:story", args=[story.public_id]),
        form_data(story, title=story.title, body=body, apply=suggestion.key, action=""),
    )

    assert response.status_code == 409
    story.refresh_from_db()
    assert story.body == "Somebody else rewrote it." and story.version == 2
    assert not AuditEvent.objects.filter(action="story.suggestion_apply").exists()


def test_a_suggestion_is_not_applied_over_unsaved_edits_to_the_text(world: World) -> None:
    body = f"Please email me at {EMAIL} about my stay."
    story = StoryFactory(services=[world.ward], original_body=body)
    suggestion = email_suggestion(story)

    response = signed_in(world.moderator).post(
        reverse("moderation:story", args=[story.public_id]),
        form_data(story, title=story.title, body=body + " Typed more.", apply=suggestion.key),
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "Save your changes first" in page
    assert textarea(page, "body") == body + " Typed more."
    story.refresh_from_db()
    assert story.body == body and story.version == 1


@pytest.mark.parametrize("key", ["body:0:3:EMAIL", "nonsense", "title:5:2:EMAIL", "body:a:b:c"])
def test_a_suggestion_the_checks_do_not_make_changes_nothing(world: World, key: str) -> None:
    body = f"Please email me at {EMAIL} about my stay."
    story = StoryFactory(services=[world.ward], original_body=body)

    response = signed_in(world.moderator).post(
        reverse("moderation:story", args=[story.public_id]),
        form_data(story, title=story.title, body=body, apply=key),
    )

    assert response.status_code == 400
    assert "That suggestion no longer applies to the saved text" in response.content.decode()
    story.refresh_from_db()
    assert story.body == body and story.version == 1


def test_suggestions_are_listed_with_label_span_and_an_apply_button(world: World) -> None:
    story = StoryFactory(services=[world.ward], original_body=f"Write to {EMAIL} please.")
    suggestion = email_suggestion(story)

    page = signed_in(world.moderator).get(reverse("moderation:story", args=[story.public_id]))

    html = page.content.decode()
    listed = html[html.index('id="suggestions-heading"') :]
    assert "Email address" in listed
    assert f"<q>{EMAIL}</q>" in listed
    assert f'name="apply" value="{suggestion.key}"' in listed


# --- Original, history -----------------------------------------------------------------------


def test_the_original_is_shown_beside_a_diff_of_the_public_version(world: World) -> None:
    story = StoryFactory(
        services=[world.ward],
        original_body="Nurse Jane Smith was kind to my mum.",
        body="A nurse was kind to my parent.",
    )

    html = (
        signed_in(world.moderator)
        .get(reverse("moderation:story", args=[story.public_id]))
        .content.decode()
    )

    assert "Nurse Jane Smith was kind to my mum." in html
    compared = html[html.index("Saved public version compared with the original") :]
    assert any("Jane Smith" in t for t in changed(compared, "del"))
    assert any("parent" in t for t in changed(compared, "ins"))
    assert "start of deletion" in compared and "start of insertion" in compared


def test_the_history_lists_every_version_with_who_when_and_the_changes(world: World) -> None:
    story = StoryFactory(
        author=world.author, services=[world.ward], original_body="Nurse Jane was kind."
    )
    StoryRevision.objects.create(
        story=story,
        kind=StoryRevision.Kind.SUBMITTED,
        editor=world.author,
        title=story.title,
        body="Nurse Jane was kind.",
    )
    story_moderate_save(
        story=Story.objects.get(pk=story.pk),
        moderator=world.moderator,
        edit=story_edit(world, version=1, title=story.title, body="A nurse was kind."),
    )
    other = another_moderator(full_name="Pat Second")
    story_moderate_save(
        story=Story.objects.get(pk=story.pk),
        moderator=other,
        edit=story_edit(world, version=2, title="A kind nurse", body="A nurse was very kind."),
    )

    html = (
        signed_in(world.moderator)
        .get(reverse("moderation:story", args=[story.public_id]))
        .content.decode()
    )

    history = html[html.index('id="history-heading"') :]
    cards = history.split('class="nhsuk-card"')[1:]
    assert len(cards) == 3
    assert "Edited by a moderator · Pat Second" in cards[0]
    assert "very " in changed(cards[0], "ins")
    assert any("A kind nurse" in t for t in changed(cards[0], "ins"))
    assert "Edited by a moderator · Mo Derator" in cards[1]
    assert any("Jane" in t for t in changed(cards[1], "del"))
    assert "Title unchanged." in cards[1]
    assert "Submitted by the author · The author" in cards[2]
    assert "The first version." in cards[2]
    assert world.author.email not in html  # the author's identity is not needed here


def test_the_workbench_works_when_the_automatic_checks_fail(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    body = f"Please email me at {EMAIL} about my stay."
    story = StoryFactory(services=[world.ward], original_body=body)
    key = email_suggestion(story).key

    def broken(**kwargs: Any) -> Any:
        raise ValueError(f"the model choked on {kwargs['body']}")

    monkeypatch.setattr("carestory.moderation.selectors.analyse", broken)
    client = signed_in(world.moderator)
    url = reverse("moderation:story", args=[story.public_id])

    page = client.get(url)
    applied = client.post(url, form_data(story, title=story.title, body=body, apply=key))
    published = client.post(
        url, form_data(story, title=story.title, body="Fine.", action="publish")
    )

    assert page.status_code == 200
    assert "The automatic checks are not available just now" in page.content.decode()
    assert applied.status_code == 400
    assert "make the change by hand" in applied.content.decode()
    assert published.status_code == 302
    story.refresh_from_db()
    assert story.status == Story.Status.PUBLISHED
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "automated checks failed" in logged and "ValueError" in logged
    assert EMAIL not in logged and "choked" not in logged
