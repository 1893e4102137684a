"""The 30-minute edit window: change or delete while it lasts, then release (fast track or
moderation) by the outbox job due at ``editable_until`` or by ``manage.py release_responses``."""

from __future__ import annotations

import uuid
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import F
from django.test import Client
from django.urls import reverse

from carestory.audit.models import AuditEvent
from carestory.lib.errors import ConflictError, NotAllowed
from carestory.outbox.models import OutboxMessage
from carestory.outbox.services import outbox_drain
from carestory.responses import selectors, services
from carestory.responses.models import RESPONSE_EDIT_WINDOW, ModerationStatus, Response
from carestory.responses.services import (
    RELEASE_JOB,
    EditWindowClosed,
    response_delete,
    response_post,
    response_release,
    responses_release_due,
)
from carestory.responses.tests.helpers import START, edit_text
from carestory.stories.models import Story
from conftest import World
from tests.factories import StoryFactory

pytestmark = pytest.mark.django_db

CLOSED_MESSAGE = "You can no longer change or delete this response"


@pytest.fixture
def story(world: World) -> Story:
    published: Story = StoryFactory(published=True, services=[world.ward], author=world.author)
    return published


def post(world: World, story: Story, **overrides: Any) -> Response:
    fields: dict[str, Any] = {
        "body": "Thank you for telling us.",
        "change": "none",
        "change_description": "",
        "idempotency_key": uuid.uuid4(),
    }
    fields.update(overrides)
    return response_post(story=story, responder=world.responder, **fields)


def post_signed_in(client: Client, world: World, story: Story) -> Response:
    """The responder posts a response to ``story`` and stays signed in on ``client``."""
    response = post(world, story)
    client.force_login(world.responder)
    return response


def edit_url(response: Response) -> str:
    return reverse("responses:edit", args=[response.story.public_id, response.pk])


def delete_url(response: Response) -> str:
    return reverse("responses:delete", args=[response.story.public_id, response.pk])


def edit_data(response: Response, **overrides: Any) -> dict[str, Any]:
    data = {
        "version": str(response.version),
        "body": "Thank you. I have shared your story with the ward team.",
        "change": "none",
        "change_description": "",
    }
    data.update(overrides)
    return data


# Sending ---------------------------------------------------------------------------------


def test_a_sent_response_is_editable_for_30_minutes_with_its_release_job_queued(
    world: World, story: Story, clock: time_machine.Traveller
) -> None:
    response = post(world, story)

    assert response.status == ModerationStatus.EDITABLE
    assert response.editable_until == START + timedelta(minutes=30)
    job = OutboxMessage.objects.get(job_name=RELEASE_JOB)
    assert job.payload == {"response_id": response.pk}
    assert job.next_attempt_at == response.editable_until
    assert AuditEvent.objects.filter(action="response.submit", object_id=str(response.pk)).exists()


def test_the_sent_page_links_to_the_edit_page(
    client: Client, world: World, story: Story, clock: time_machine.Traveller
) -> None:
    client.force_login(world.responder)
    page = client.post(
        reverse("responses:respond", args=[story.public_id]),
        {
            "body": "Thank you.",
            "change": "none",
            "change_description": "",
            "idempotency_key": str(uuid.uuid4()),
        },
    )
    assert page.status_code == 200
    response = Response.objects.get()
    body = page.content.decode()
    assert edit_url(response) in body
    assert "You can change or delete it until 10:30." in body  # Europe/London = UTC in March


# Editing ---------------------------------------------------------------------------------


def test_the_responder_edits_within_the_window(
    client: Client, world: World, story: Story, clock: time_machine.Traveller
) -> None:
    response = post_signed_in(client, world, story)
    clock.shift(timedelta(minutes=29, seconds=59))

    page = client.get(edit_url(response))
    assert page.status_code == 200
    assert "Thank you for telling us." in page.content.decode()
    result = client.post(
        edit_url(response),
        edit_data(response, change="planned", change_description="A new rota from May"),
    )

    assert result.status_code == 302 and result["Location"].endswith("?saved=1")
    response.refresh_from_db()
    assert response.status == ModerationStatus.EDITABLE
    assert response.body == response.original_body
    assert response.body == "Thank you. I have shared your story with the ward team."
    assert (response.change, response.change_description) == ("planned", "A new rota from May")
    assert response.version == 2
    event = AuditEvent.objects.get(action="response.edit")
    assert event.actor == world.responder
    assert event.changes == {
        "body": "edited",
        "change": ["none", "planned"],
        "change_description": "edited",
    }
    assert "Your changes are saved." in client.get(result["Location"]).content.decode()


def test_editing_after_the_window_is_refused_with_a_message_and_changes_nothing(
    client: Client, world: World, story: Story, clock: time_machine.Traveller
) -> None:
    response = post_signed_in(client, world, story)
    clock.shift(RESPONSE_EDIT_WINDOW)  # exactly at the end: already too late

    result = client.post(edit_url(response), edit_data(response))

    assert result.status_code == 400
    body = result.content.decode()
    assert CLOSED_MESSAGE in body
    assert "ended at 10:30" in body
    assert 'name="body"' not in body  # no form to try again
    response.refresh_from_db()
    assert response.body == "Thank you for telling us." and response.version == 1
    assert not AuditEvent.objects.filter(action="response.edit").exists()
    with pytest.raises(EditWindowClosed):
        edit_text(response, "Too late")


def test_editing_after_release_is_refused(
    client: Client, world: World, story: Story, clock: time_machine.Traveller
) -> None:
    response = post(world, story)
    clock.shift(timedelta(minutes=31))
    outbox_drain()
    client.force_login(world.responder)

    page = client.get(edit_url(response))
    assert page.status_code == 200
    assert "A moderator will check your response" in page.content.decode()
    assert 'name="body"' not in page.content.decode()
    result = client.post(edit_url(response), edit_data(response))
    assert result.status_code == 400
    assert CLOSED_MESSAGE in result.content.decode()
    response.refresh_from_db()
    assert response.status == ModerationStatus.IN_MODERATION
    assert response.body == "Thank you for telling us."


def test_bad_edits_are_refused_with_a_message(
    client: Client, world: World, story: Story, clock: time_machine.Traveller
) -> None:
    response = post_signed_in(client, world, story)
    for data, message in [
        (edit_data(response, body=""), "Enter your response"),
        (
            edit_data(response, change="made", change_description=""),
            "Describe the change you are planning or have made",
        ),
    ]:
        result = client.post(edit_url(response), data)
        assert result.status_code == 400
        assert message in result.content.decode()
    response.refresh_from_db()
    assert response.version == 1 and response.body == "Thank you for telling us."


def test_a_stale_version_is_a_conflict_and_keeps_what_was_typed(
    client: Client, world: World, story: Story, clock: time_machine.Traveller
) -> None:
    response = post(world, story)
    edit_text(response, "Edited in another tab")
    client.force_login(world.responder)
    result = client.post(edit_url(response), edit_data(response, version="1", body="Mine"))
    assert result.status_code == 409
    assert "Changed in another window" in result.content.decode()
    assert ">Mine</textarea>" in result.content.decode()
    assert 'name="version" value="2"' in result.content.decode()
    response.refresh_from_db()
    assert response.body == "Edited in another tab"


@pytest.mark.parametrize("persona", ["other_responder", "admin", "author", "moderator", "reader"])
def test_only_the_responder_may_see_edit_or_delete(
    client: Client, world: World, story: Story, persona: str, clock: time_machine.Traveller
) -> None:
    response = post(world, story)
    client.force_login(getattr(world, persona))
    assert client.get(edit_url(response)).status_code == 404
    assert client.post(edit_url(response), edit_data(response)).status_code == 404
    assert client.get(delete_url(response)).status_code == 404
    assert client.post(delete_url(response), {"version": "1"}).status_code == 404
    response.refresh_from_db()
    assert response.version == 1
    with pytest.raises(NotAllowed):
        response_delete(response=response, responder=getattr(world, persona), version=1)


def test_anonymous_is_sent_to_sign_in(
    client: Client, world: World, story: Story, clock: time_machine.Traveller
) -> None:
    response = post(world, story)
    result = client.get(edit_url(response))
    assert result.status_code == 302 and "/staff/login/" in result["Location"]


def test_a_response_to_a_withdrawn_story_is_404(
    client: Client, world: World, story: Story, clock: time_machine.Traveller
) -> None:
    response = post(world, story)
    Story.objects.filter(pk=story.pk).update(status=Story.Status.WITHDRAWN)
    client.force_login(world.responder)
    assert client.get(edit_url(response)).status_code == 404


# Deleting --------------------------------------------------------------------------------


def test_the_responder_deletes_within_the_window(
    client: Client, world: World, story: Story, clock: time_machine.Traveller
) -> None:
    response = post_signed_in(client, world, story)
    clock.shift(timedelta(minutes=10))

    confirm = client.get(delete_url(response))
    assert confirm.status_code == 200
    assert "Delete your response?" in confirm.content.decode()
    result = client.post(delete_url(response), {"version": "1"})

    assert result.status_code == 200
    assert "Your response has been deleted" in result.content.decode()
    assert not Response.objects.exists()
    event = AuditEvent.objects.get(action="response.delete")
    assert event.actor == world.responder
    assert event.object_id == str(response.pk)
    assert "Thank you" not in str(event.changes)  # the text is gone, not copied to the log

    # The release job finds nothing to do.
    clock.shift(timedelta(minutes=30))
    outbox_drain()
    assert OutboxMessage.objects.get(job_name=RELEASE_JOB).status == OutboxMessage.Status.SENT
    assert not AuditEvent.objects.filter(action__in=["response.release", "response.publish"])


def test_deleting_after_the_window_is_refused(
    client: Client, world: World, story: Story, clock: time_machine.Traveller
) -> None:
    response = post_signed_in(client, world, story)
    clock.shift(timedelta(minutes=30, seconds=1))
    result = client.post(delete_url(response), {"version": "1"})
    assert result.status_code == 400
    assert CLOSED_MESSAGE in result.content.decode()
    assert Response.objects.filter(pk=response.pk).exists()
    assert not AuditEvent.objects.filter(action="response.delete").exists()


# Release ---------------------------------------------------------------------------------


def test_the_job_releases_to_moderation_at_run_at_and_not_before(
    world: World, story: Story, clock: time_machine.Traveller
) -> None:
    response = post(world, story)

    clock.shift(timedelta(minutes=29, seconds=59))
    outbox_drain()
    response.refresh_from_db()
    assert response.status == ModerationStatus.EDITABLE

    clock.shift(timedelta(seconds=1))
    outbox_drain()
    response.refresh_from_db()
    assert response.status == ModerationStatus.IN_MODERATION
    assert response.published_at is None and not response.fast_tracked
    event = AuditEvent.objects.get(action="response.release")
    assert event.actor is None and event.actor_label == "system"
    assert event.changes == {"status": ["editable", "in_moderation"]}
    assert "too_few_published" in event.reason


def test_the_command_releases_what_the_job_missed_and_is_idempotent(
    world: World, story: Story, clock: time_machine.Traveller
) -> None:
    due = post(world, story)
    clock.shift(timedelta(minutes=20))
    not_yet = post(world, story)
    clock.shift(timedelta(minutes=11))  # due's window ended 1 minute ago; not_yet's has 19 left

    out = StringIO()
    call_command("release_responses", stdout=out)
    assert "Released 1 response(s)." in out.getvalue()
    due.refresh_from_db()
    not_yet.refresh_from_db()
    assert due.status == ModerationStatus.IN_MODERATION
    assert not_yet.status == ModerationStatus.EDITABLE

    out = StringIO()
    call_command("release_responses", stdout=out)
    assert "Released 0 response(s)." in out.getvalue()
    outbox_drain()  # the job comes later: nothing more happens
    assert AuditEvent.objects.filter(action="response.release").count() == 1
    due.refresh_from_db()
    assert due.version == 2


def test_release_is_idempotent(world: World, story: Story, clock: time_machine.Traveller) -> None:
    response = post(world, story)
    assert response_release(response_id=response.pk) is None  # window still open
    clock.shift(RESPONSE_EDIT_WINDOW)
    assert response_release(response_id=response.pk) == ModerationStatus.IN_MODERATION
    assert response_release(response_id=response.pk) is None
    assert response_release(response_id=0) is None
    assert responses_release_due() == 0
    assert AuditEvent.objects.filter(action="response.release").count() == 1


def test_an_edit_racing_with_the_release_loses_cleanly(
    world: World, story: Story, clock: time_machine.Traveller
) -> None:
    """The responder's page was read before the release; the version column stops the edit."""
    stale = post(world, story)
    clock.shift(RESPONSE_EDIT_WINDOW)
    response_release(response_id=stale.pk)

    with pytest.raises(EditWindowClosed):
        edit_text(
            stale,  # still says "editable", version 1
            "Squeezed in",
            now=START + timedelta(minutes=29),  # as if the clock check had just passed
        )
    stale.refresh_from_db()
    assert stale.status == ModerationStatus.IN_MODERATION
    assert stale.body == "Thank you for telling us."


def test_a_release_racing_with_an_edit_reads_again_and_keeps_the_edit(
    world: World, story: Story, clock: time_machine.Traveller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An edit commits between the release's read and its conditional update: the release
    conflicts, reads again and releases the edited response; the edit is not lost."""
    response = post(world, story)
    clock.shift(RESPONSE_EDIT_WINDOW)
    real_decision = selectors.response_fast_track_decision
    calls = []

    def decision_with_concurrent_edit(**kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            Response.objects.filter(pk=response.pk).update(
                body="Edited at the last second",
                original_body="Edited at the last second",
                version=F("version") + 1,
            )
        return real_decision(**kwargs)

    monkeypatch.setattr(services, "response_fast_track_decision", decision_with_concurrent_edit)
    assert response_release(response_id=response.pk) == ModerationStatus.IN_MODERATION
    assert len(calls) == 2
    response.refresh_from_db()
    assert response.body == "Edited at the last second"
    assert response.status == ModerationStatus.IN_MODERATION
    assert AuditEvent.objects.filter(action="response.release").count() == 1


def test_a_delete_with_a_stale_version_is_a_conflict(
    world: World, story: Story, clock: time_machine.Traveller
) -> None:
    response = post(world, story)
    edit_text(response, "Changed")
    with pytest.raises(ConflictError):
        response_delete(response=response, responder=world.responder, version=1)
    assert Response.objects.filter(pk=response.pk).exists()


# The story page --------------------------------------------------------------------------


def test_the_story_page_links_the_responder_to_their_unpublished_response(
    client: Client, world: World, story: Story, clock: time_machine.Traveller
) -> None:
    response = post(world, story)
    page_url = reverse("stories:detail", args=[story.public_id])

    client.force_login(world.responder)
    body = client.get(page_url).content.decode()
    assert edit_url(response) in body
    assert "Change or delete your response (until 10:30)" in body

    for persona in ("admin", "other_responder", "author", "moderator"):
        other = Client()
        other.force_login(getattr(world, persona))
        assert edit_url(response) not in other.get(page_url).content.decode(), persona
    assert edit_url(response) not in Client().get(page_url).content.decode()

    clock.shift(timedelta(minutes=31))
    outbox_drain()
    body = client.get(page_url).content.decode()
    assert "is waiting for a moderator" in body
    assert "Change or delete your response" not in body
