"""The responder's identity on a public response, responding on behalf of another member, and
"who is answering" marked by the respond page."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from carestory.accounts.models import User
from carestory.audit.models import AuditEvent
from carestory.lib.errors import NotAllowed
from carestory.outbox.models import OutboxMessage
from carestory.outbox.services import outbox_drain
from carestory.responses.jobs import response_still_there
from carestory.responses.models import ModerationStatus, Response
from carestory.responses.services import (
    response_delete,
    response_edit,
    response_mark_published,
    response_post,
)
from carestory.responses.tests.helpers import respond_data
from carestory.stories.models import Story
from carestory.subscriptions.models import Membership, StaffProfile
from carestory.workspace.models import AnsweringMarker
from carestory.workspace.selectors import answering_now, workspace_scope
from conftest import World
from tests.factories import MembershipFactory, StoryFactory, UserFactory

pytestmark = pytest.mark.django_db

PHONE = "01632 960 123"
DEPARTMENT = "Cardiology outpatients"
WHAT_I_DO = "I run the cardiology outpatient clinics and their nursing team."


def _profile(user: User, **fields: str) -> None:
    values = {"department": DEPARTMENT, "what_i_do": WHAT_I_DO, "phone": PHONE}
    values.update(fields)
    StaffProfile.objects.update_or_create(user=user, defaults=values)


def _story(world: World) -> Story:
    story: Story = StoryFactory(published=True, services=[world.ward], author=world.author)
    return story


def _post(story: Story, responder: User, **more: Any) -> Response:
    return response_post(
        story=story,
        responder=responder,
        body="Thank you for telling us about your visit.",
        change="none",
        change_description="",
        idempotency_key=uuid.uuid4(),
        **more,
    )


def _publish(response: Response) -> None:
    response_mark_published(
        response=response,
        version=response.version,
        from_status=ModerationStatus.EDITABLE,
        body=response.body,
        actor=None,
    )


def _freeze(user: User, world: World) -> None:
    Membership.objects.filter(user=user, subscription=world.subscription).update(
        is_active=False, frozen_at=timezone.now()
    )


# The use case ---------------------------------------------------------------------------------


def test_an_administrator_responds_on_behalf_of_a_responder(world: World) -> None:
    _profile(world.responder)
    story = _story(world)
    response = _post(story, world.admin, on_behalf_of_id=world.responder.pk)
    assert response.responder == world.admin and response.on_behalf_of == world.responder
    assert response.subscription == world.subscription
    assert (
        response.responder_name,
        response.responder_job_title,
        response.responder_department,
        response.responder_about,
    ) == ("Rita Responder", "Matron", DEPARTMENT, WHAT_I_DO)
    event = AuditEvent.objects.get(action="response.submit")
    assert event.actor == world.admin
    assert event.changes["on_behalf_of"] == world.responder.pk
    email = OutboxMessage.objects.get(template="response_on_behalf")
    assert email.to_email == world.responder.email
    assert email.context["link"].endswith(f"/stories/{story.public_id}/#response-{response.pk}")
    assert email.context["administrator"] == "Adam Admin"
    outbox_drain()
    sent = [m for m in mail.outbox if m.to == [world.responder.email]]
    assert len(sent) == 1 and "posted a response in your name" in sent[0].body
    assert email.context["link"] in sent[0].body


def test_in_their_own_name_nobody_else_is_named_or_emailed(world: World) -> None:
    _profile(world.admin, department="Patient experience", what_i_do="")
    response = _post(_story(world), world.admin, on_behalf_of_id=world.admin.pk)
    assert response.on_behalf_of is None
    assert (response.responder_name, response.responder_department) == (
        "Adam Admin",
        "Patient experience",
    )
    assert "on_behalf_of" not in AuditEvent.objects.get(action="response.submit").changes
    assert not OutboxMessage.objects.filter(template="response_on_behalf").exists()


def test_the_identity_is_a_snapshot_of_when_it_was_written(world: World) -> None:
    _profile(world.responder)
    response = _post(_story(world), world.responder)
    _profile(world.responder, department="Renal", what_i_do="Something else now")
    response.refresh_from_db()
    assert (response.responder_department, response.responder_about) == (DEPARTMENT, WHAT_I_DO)


@pytest.mark.parametrize("poster", ["responder", "other_responder_here"])
def test_only_an_administrator_may_respond_on_behalf(world: World, poster: str) -> None:
    story = _story(world)
    if poster == "responder":
        user, target = world.responder, world.admin
    else:  # a second responder of the same organisation, for the first one
        user = MembershipFactory(
            subscription=world.subscription, role=Membership.Role.RESPONDER
        ).user
        target = world.responder
    with pytest.raises(NotAllowed):
        _post(story, user, on_behalf_of_id=target.pk)
    assert not Response.objects.exists()
    assert not OutboxMessage.objects.filter(template="response_on_behalf").exists()


@pytest.mark.parametrize("target", ["frozen", "member", "other_organisation", "nobody"])
def test_the_member_must_be_one_of_ours_who_may_respond(world: World, target: str) -> None:
    story = _story(world)
    if target == "frozen":
        person = world.responder
        _freeze(person, world)
        member_id = person.pk
    elif target == "member":
        member_id = world.member.pk
    elif target == "other_organisation":
        member_id = world.other_responder.pk
    else:
        member_id = 999_999
    with pytest.raises(ValidationError) as caught:
        _post(story, world.admin, on_behalf_of_id=member_id)
    assert "on_behalf_of" in caught.value.message_dict
    assert not Response.objects.exists()
    assert not AuditEvent.objects.filter(action="response.submit").exists()


def test_a_frozen_administrator_cannot_respond_on_behalf(world: World) -> None:
    story = _story(world)
    _freeze(world.admin, world)
    with pytest.raises(NotAllowed):
        _post(story, world.admin, on_behalf_of_id=world.responder.pk)


def test_the_edit_window_is_the_administrators(world: World) -> None:
    response = _post(_story(world), world.admin, on_behalf_of_id=world.responder.pk)
    with pytest.raises(NotAllowed):
        response_edit(
            response=response,
            responder=world.responder,
            version=response.version,
            body="Changed by the member",
            change="none",
            change_description="",
        )
    edited = response_edit(
        response=response,
        responder=world.admin,
        version=response.version,
        body="Changed by the administrator",
        change="none",
        change_description="",
    )
    assert edited.body == "Changed by the administrator"
    assert edited.on_behalf_of == world.responder
    with pytest.raises(NotAllowed):
        response_delete(response=edited, responder=world.responder, version=edited.version)


def test_the_members_email_is_dropped_if_the_response_was_deleted(world: World) -> None:
    response = _post(_story(world), world.admin, on_behalf_of_id=world.responder.pk)
    assert response_still_there({"response_id": response.pk})
    response_delete(response=response, responder=world.admin, version=response.version)
    assert not response_still_there({"response_id": response.pk})
    outbox_drain()
    assert [m for m in mail.outbox if m.to == [world.responder.email]] == []


# The pages ------------------------------------------------------------------------------------


def test_the_select_is_shown_to_administrators_only(client: Client, world: World) -> None:
    frozen = MembershipFactory(
        subscription=world.subscription,
        role=Membership.Role.RESPONDER,
        user=UserFactory(staff=True, full_name="Fran Frozen"),
    ).user
    _freeze(frozen, world)
    story = _story(world)
    url = reverse("responses:respond", args=[story.public_id])
    client.force_login(world.admin)
    page = client.get(url).content.decode()
    assert 'name="on_behalf_of"' in page
    assert f'<option value="{world.responder.pk}">Rita Responder, Matron' in page
    for absent in ("Mel Member", "Fran Frozen", "Olly Other"):
        assert absent not in page
    client.force_login(world.responder)
    assert 'name="on_behalf_of"' not in client.get(url).content.decode()


def test_an_administrator_posts_on_behalf_from_the_page(client: Client, world: World) -> None:
    story = _story(world)
    client.force_login(world.admin)
    url = reverse("responses:respond", args=[story.public_id])
    result = client.post(url, respond_data(on_behalf_of=str(world.responder.pk)))
    assert result.status_code == 200
    assert "It was sent on behalf of Rita Responder" in result.content.decode()
    response = Response.objects.get()
    assert (response.responder, response.on_behalf_of) == (world.admin, world.responder)


def test_a_responder_posting_on_behalf_gets_404(client: Client, world: World) -> None:
    story = _story(world)
    client.force_login(world.responder)
    url = reverse("responses:respond", args=[story.public_id])
    assert client.post(url, respond_data(on_behalf_of=str(world.admin.pk))).status_code == 404
    assert not Response.objects.exists()


def test_an_administrator_choosing_a_member_gets_the_form_again(
    client: Client, world: World
) -> None:
    story = _story(world)
    client.force_login(world.admin)
    url = reverse("responses:respond", args=[story.public_id])
    result = client.post(url, respond_data(on_behalf_of=str(world.member.pk)))
    assert result.status_code == 400
    assert "You can respond on behalf of a responder or administrator" in result.content.decode()
    assert not Response.objects.exists()


@pytest.mark.parametrize("on_behalf", [False, True])
def test_the_public_page_shows_who_responded_and_never_their_phone_or_email(
    client: Client, world: World, on_behalf: bool
) -> None:
    _profile(world.responder)
    story = _story(world)
    if on_behalf:
        response = _post(story, world.admin, on_behalf_of_id=world.responder.pk)
    else:
        response = _post(story, world.responder)
    _publish(response)
    page = client.get(reverse("stories:detail", args=[story.public_id])).content.decode()
    assert f"Response from Rita Responder, Matron, {DEPARTMENT}, Riverside NHS Trust</h3>" in page
    assert "What Rita Responder does" in page and WHAT_I_DO in page
    assert "<details" in page  # a disclosure, not a title= tooltip
    assert ("Posted by Riverside NHS Trust on behalf of Rita Responder" in page) is on_behalf
    for private in (PHONE, world.responder.email, world.admin.email, "Adam Admin"):
        assert private not in page


# Who is answering -----------------------------------------------------------------------------


def test_opening_the_respond_page_marks_me_answering_and_sending_ends_it(
    client: Client, world: World
) -> None:
    story = _story(world)
    colleagues = workspace_scope(user=world.member)
    client.force_login(world.responder)
    url = reverse("responses:respond", args=[story.public_id])
    assert client.get(url).status_code == 200
    assert [m.user_id for m in answering_now(scope=colleagues, story=story)] == [world.responder.pk]
    assert client.post(url, respond_data()).status_code == 200
    assert answering_now(scope=colleagues, story=story) == []


def test_sending_on_behalf_ends_the_administrators_marker(client: Client, world: World) -> None:
    story = _story(world)
    colleagues = workspace_scope(user=world.member)
    client.force_login(world.admin)
    url = reverse("responses:respond", args=[story.public_id])
    client.get(url)
    assert [m.user_id for m in answering_now(scope=colleagues, story=story)] == [world.admin.pk]
    client.post(url, respond_data(on_behalf_of=str(world.responder.pk)))
    assert answering_now(scope=colleagues, story=story) == []


def test_someone_who_may_not_respond_is_not_marked(client: Client, world: World) -> None:
    story = _story(world)
    client.force_login(world.member)
    assert client.get(reverse("responses:respond", args=[story.public_id])).status_code == 404
    assert not AnsweringMarker.objects.exists()
