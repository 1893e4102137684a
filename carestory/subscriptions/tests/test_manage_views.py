"""The administrator's pages, the invitation link, the profile and the switcher, over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from carestory.accounts.models import User
from carestory.audit.models import AuditEvent
from carestory.subscriptions.manage_views import ACTIVE_SUBSCRIPTION_KEY
from carestory.subscriptions.models import Invitation, Membership, MemberUpload, Subscription
from carestory.subscriptions.services import INVITATION_DAYS, invitation_send, member_upload_check
from conftest import World
from tests.emails import emailed_path
from tests.factories import TEST_PASSWORD, MembershipFactory, SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db

Role = Membership.Role
CSV = b"First name,Last name,Email,Role\nAnn,Able,ann@riverside.example,responder\n"


def _client(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _member_id(world: World) -> int:
    return Membership.objects.get(user=world.member, subscription=world.subscription).pk


def _upload(world: World) -> MemberUpload:
    return member_upload_check(
        actor=world.admin, subscription=world.subscription, file_name="s.csv", data=CSV
    )


# --- The permission matrix: one table, every persona by every action ------------------------------

# Who may use the organisation pages: its active administrators and site staff. Everyone else
# gets 404 (anonymous: the sign-in page). The actions, each a (method, url, data) for the world.
Action = Callable[[World], tuple[str, str, dict[str, Any]]]


def _org(name: str, method: str = "get", **data: Any) -> Action:
    return lambda w: (method, reverse(f"subscriptions:{name}", args=[w.subscription.code]), data)


def _one(name: str, method: str = "post", **data: Any) -> Action:
    return lambda w: (
        method,
        reverse(f"subscriptions:{name}", args=[w.subscription.code, _member_id(w)]),
        data,
    )


def _preview(method: str) -> Action:
    return lambda w: (
        method,
        reverse("subscriptions:upload_preview", args=[w.subscription.code, _upload(w).pk]),
        {},
    )


ACTIONS: dict[str, Action] = {
    "members": _org("members"),
    "invite page": _org("invite"),
    "invite": _org(
        "invite",
        "post",
        email="x@riverside.example",
        first_name="X",
        last_name="Y",
        role="member",
        idempotency_key="5b7d6c8e-0c2a-4d43-9a55-3f1b1b2f4c11",
    ),
    "member page": _one("member", "get"),
    "change role": _one("member", role="responder"),
    "freeze": _one("freeze"),
    "unfreeze": _one("unfreeze"),
    "remove": _one("remove"),
    "upload page": _org("upload"),
    "preview": _preview("get"),
    "confirm": _preview("post"),
    "safeguarding page": _org("safeguarding"),
    "safeguarding": _org("safeguarding", "post", email="safe@riverside.example"),
}

PERSONAS: dict[str, Callable[[World], User | None]] = {
    "anonymous": lambda w: None,
    "author": lambda w: w.author,
    "reader": lambda w: w.reader,
    "moderator": lambda w: w.moderator,
    "member": lambda w: w.member,
    "responder": lambda w: w.responder,
    "administrator": lambda w: w.admin,
    "other organisation's administrator": lambda w: (
        MembershipFactory(subscription=w.other_subscription, role=Role.ADMINISTRATOR).user
    ),
    "frozen administrator": lambda w: (
        MembershipFactory(
            subscription=w.subscription, role=Role.ADMINISTRATOR, is_active=False
        ).user
    ),
    "site staff": lambda w: UserFactory(is_staff=True),
}
ALLOWED = {"administrator", "site staff"}

MATRIX = [
    pytest.param(persona, action, persona in ALLOWED, id=f"{persona}-{action}")
    for persona in PERSONAS
    for action in ACTIONS
]


@pytest.mark.parametrize(("persona", "action", "allowed"), MATRIX)
def test_permission_matrix(world: World, persona: str, action: str, allowed: bool) -> None:
    user = PERSONAS[persona](world)
    method, url, data = ACTIONS[action](world)
    response = getattr(_client(user), method)(url, data)
    if allowed:
        assert response.status_code in (200, 302), response.status_code
    elif user is None:
        assert (
            response.status_code == 302 and reverse("accounts:staff_login") in response["Location"]
        )
    else:
        assert response.status_code == 404


def test_an_administrator_of_a_lapsed_subscription_loses_the_pages(world: World) -> None:
    client = _client(world.admin)
    url = reverse("subscriptions:members", args=[world.subscription.code])
    Subscription.objects.filter(pk=world.subscription.pk).update(
        ends_on=timezone.localdate() - timedelta(days=10)
    )
    assert client.get(url).status_code == 200  # the 30 days' read access
    Subscription.objects.filter(pk=world.subscription.pk).update(
        ends_on=timezone.localdate() - timedelta(days=31)
    )
    assert client.get(url).status_code == 404


# --- Pages ---------------------------------------------------------------------------------------


def test_the_members_list_shows_name_email_role_status_and_last_sign_in(world: World) -> None:
    Membership.objects.filter(user=world.member).update(is_active=False)
    User.objects.filter(pk=world.responder.pk).update(last_login=timezone.now())
    page = _client(world.admin).get(reverse("subscriptions:members", args=["RXX"])).content.decode()
    for text in ("Rita Responder", "responder@riverside.example", "Responder", "Frozen", "Never"):
        assert text in page
    assert "Olly Other" not in page


def test_invite_from_the_page_and_accept_by_the_link(world: World) -> None:
    admin = _client(world.admin)
    form_page = admin.get(reverse("subscriptions:invite", args=["RXX"]))
    key = form_page.context["form"].initial["idempotency_key"]
    data = {
        "email": "nia@riverside.example",
        "first_name": "Nia",
        "last_name": "New",
        "role": "responder",
        "idempotency_key": key,
    }
    url = reverse("subscriptions:invite", args=["RXX"])
    assert admin.post(url, data).status_code == 302
    assert admin.post(url, data).status_code == 302  # a double submit
    invitation = Invitation.objects.get()
    link = emailed_path(f"invitation:{invitation.pk}", "/staff/join/")
    invitee = Client()
    page = invitee.get(link)
    assert page.status_code == 200 and b"Choose a password" in page.content
    assert Invitation.objects.get().accepted_at is None  # a GET (a mail scanner) changes nothing
    mismatch = invitee.post(link, {"password1": TEST_PASSWORD, "password2": "other"})
    assert mismatch.status_code == 400
    done = invitee.post(link, {"password1": TEST_PASSWORD, "password2": TEST_PASSWORD})
    assert done.status_code == 200 and b"You have joined" in done.content
    user = User.objects.get(email="nia@riverside.example")
    assert Membership.objects.get(user=user).role == Role.RESPONDER
    again = invitee.get(link)
    assert again.status_code == 410 and b"already been used" in again.content
    assert invitee.post(link, {"password1": "x", "password2": "x"}).status_code == 410


def test_an_expired_or_unknown_invitation_link_says_so(world: World) -> None:
    invitation = invitation_send(
        actor=world.admin,
        subscription=world.subscription,
        email="late@riverside.example",
        role=Role.MEMBER,
        first_name="Lee",
        last_name="Late",
    )
    link = emailed_path(f"invitation:{invitation.pk}", "/staff/join/")
    with time_machine.travel(timezone.now() + timedelta(days=INVITATION_DAYS + 1)):
        page = Client().get(link)
    assert page.status_code == 410 and b"has expired" in page.content
    page = Client().get(reverse("subscriptions:invitation_accept", args=["not-a-token"]))
    assert page.status_code == 404 and b"not valid" in page.content


def test_invite_shows_every_problem_at_once(world: World) -> None:
    admin = _client(world.admin)
    response = admin.post(
        reverse("subscriptions:invite", args=["RXX"]),
        {
            "email": "nope",
            "first_name": "",
            "last_name": "",
            "role": "member",
            "idempotency_key": "5b7d6c8e-0c2a-4d43-9a55-3f1b1b2f4c12",
        },
    )
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"email", "first_name", "last_name"}


def test_the_last_administrator_guard_shows_on_the_page(world: World) -> None:
    admin_membership = Membership.objects.get(user=world.admin)
    response = _client(world.admin).post(
        reverse("subscriptions:member", args=["RXX", admin_membership.pk]), {"role": "member"}
    )
    assert response.status_code == 400 and b"at least one active administrator" in response.content
    response = _client(world.admin).post(
        reverse("subscriptions:remove", args=["RXX", admin_membership.pk])
    )
    assert response.status_code == 400
    assert Membership.objects.get(pk=admin_membership.pk).role == Role.ADMINISTRATOR


def test_a_member_of_another_subscription_is_404_on_this_ones_pages(world: World) -> None:
    theirs = Membership.objects.get(user=world.other_responder)
    response = _client(world.admin).get(reverse("subscriptions:member", args=["RXX", theirs.pk]))
    assert response.status_code == 404
    response = _client(world.admin).post(reverse("subscriptions:freeze", args=["RXX", theirs.pk]))
    assert response.status_code == 404
    assert Membership.objects.get(pk=theirs.pk).is_active


def test_a_freeze_signs_the_member_out_at_their_next_request(world: World) -> None:
    world.responder.set_password(TEST_PASSWORD)
    world.responder.save()
    responder = Client()
    signed_in = responder.post(
        reverse("accounts:staff_login"),
        {"username": "responder@riverside.example", "password": TEST_PASSWORD},
    )
    assert signed_in.status_code == 302
    assert responder.get(reverse("subscriptions:dashboard")).status_code == 200
    membership = Membership.objects.get(user=world.responder)
    _client(world.admin).post(reverse("subscriptions:freeze", args=["RXX", membership.pk]))
    after = responder.get(reverse("subscriptions:dashboard"))
    assert after.status_code == 302 and reverse("accounts:staff_login") in after["Location"]
    assert AuditEvent.objects.filter(action="membership.freeze").exists()


def test_bulk_upload_preview_then_confirm_once(world: World) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    admin = _client(world.admin)
    bad = admin.post(
        reverse("subscriptions:upload", args=["RXX"]),
        {"file": SimpleUploadedFile("s.csv", b"Name,Mail\nA,b\n")},
    )
    assert bad.status_code == 400 and "no “First name”" in bad.content.decode()
    rows = CSV + b"Bo,Bad,bad-address,member\nAnn,Again,ANN@riverside.example,\n"
    response = admin.post(
        reverse("subscriptions:upload", args=["RXX"]), {"file": SimpleUploadedFile("s.csv", rows)}
    )
    assert response.status_code == 302
    preview = admin.get(response["Location"]).content.decode()
    assert "Enter an email address in the correct format" in preview
    assert "Same email as row 2: merged" in preview and "Invite 1 person" in preview
    assert not Invitation.objects.exists()
    admin.post(response["Location"])
    admin.post(response["Location"])  # a double submit
    assert list(Invitation.objects.values_list("email", flat=True)) == ["ann@riverside.example"]


def test_the_safeguarding_page_refuses_a_bad_address(world: World) -> None:
    url = reverse("subscriptions:safeguarding", args=["RXX"])
    response = _client(world.admin).post(url, {"email": "not an address"})
    assert response.status_code == 400
    _client(world.admin).post(url, {"email": "safe@riverside.example"})
    assert (
        Subscription.objects.get(pk=world.subscription.pk).safeguarding_email
        == "safe@riverside.example"
    )


def test_the_switcher_sets_the_active_subscription(world: World) -> None:
    second = SubscriptionFactory(name="Zulu Care", scope=[world.other_trust])
    MembershipFactory(subscription=second, user=world.admin, role=Role.ADMINISTRATOR)
    admin = _client(world.admin)
    organisation = reverse("subscriptions:organisation")
    first = admin.get(organisation)  # the first, by name: Riverside
    assert first["Location"] == reverse("subscriptions:members", args=["RXX"])
    links = _organisation_links(world.admin, admin)
    assert "Switch to Zulu Care" in links and "Manage the members of Riverside" in links
    admin.post(reverse("subscriptions:switch"), {"subscription": second.pk})
    assert admin.session[ACTIVE_SUBSCRIPTION_KEY] == second.pk
    assert admin.get(organisation)["Location"] == reverse(
        "subscriptions:members", args=[second.code]
    )
    not_mine = admin.post(
        reverse("subscriptions:switch"), {"subscription": world.other_subscription.pk}
    )
    assert not_mine.status_code == 404


def _organisation_links(user: User, client: Client) -> str:
    from django.template import RequestContext, Template
    from django.test import RequestFactory

    request = RequestFactory().get("/staff/")
    request.user = user
    request.session = client.session
    return Template("{% load organisation %}{% organisation_links %}").render(
        RequestContext(request)
    )


def test_the_organisation_links_show_only_what_the_person_has(world: World) -> None:
    links = _organisation_links(world.responder, _client(world.responder))
    assert "Working for Riverside NHS Trust (Responder)" in links
    assert "Manage the members" not in links and "Switch to" not in links
    assert _organisation_links(world.author, _client(world.author)).strip() == ""


def test_a_member_edits_their_profile(world: World) -> None:
    client = _client(world.member)
    url = reverse("subscriptions:profile")
    response = client.post(
        url,
        {
            "first_name": "Mel",
            "last_name": "May",
            "job_title": "Porter",
            "department": "Estates",
            "what_i_do": "I move things.",
            "phone": "0123",
        },
    )
    assert response.status_code == 302
    world.member.refresh_from_db()
    assert (world.member.full_name, world.member.job_title) == ("Mel May", "Porter")
    assert _client(world.author).get(url).status_code == 404


def test_an_administrator_withdraws_an_invitation_and_its_link_stops(world: World) -> None:
    invitation = invitation_send(
        actor=world.admin,
        subscription=world.subscription,
        email="gone@riverside.example",
        role=Role.RESPONDER,
        first_name="Gwen",
        last_name="Gone",
    )
    link = emailed_path(f"invitation:{invitation.pk}", "/staff/join/")
    url = reverse("subscriptions:invitation_withdraw", args=["RXX", invitation.pk])
    other = MembershipFactory(subscription=world.other_subscription, role=Role.ADMINISTRATOR)
    assert _client(other.user).post(url).status_code == 404
    hilltop_url = reverse("subscriptions:invitation_withdraw", args=["RYY", invitation.pk])
    assert _client(other.user).post(hilltop_url).status_code == 404  # not Hilltop's invitation
    admin = _client(world.admin)
    members = admin.get(reverse("subscriptions:members", args=["RXX"]))
    assert url.encode() in members.content
    assert admin.post(url).status_code == 302
    assert admin.post(url).status_code == 302  # a second click changes nothing
    assert AuditEvent.objects.filter(action="invitation.withdraw").count() == 1
    page = Client().get(link)
    assert page.status_code == 410 and b"withdrawn" in page.content
    assert url.encode() not in admin.get(reverse("subscriptions:members", args=["RXX"])).content


def test_an_invitation_lapses_with_its_inviters_authority(world: World) -> None:
    inviter = MembershipFactory(subscription=world.subscription, role=Role.ADMINISTRATOR)
    invitation = invitation_send(
        actor=inviter.user,
        subscription=world.subscription,
        email="friend@riverside.example",
        role=Role.ADMINISTRATOR,
        first_name="Fay",
        last_name="Friend",
    )
    link = emailed_path(f"invitation:{invitation.pk}", "/staff/join/")
    Membership.objects.filter(pk=inviter.pk).update(role=Role.MEMBER)
    page = Client().get(link)
    assert page.status_code == 410 and b"no longer manages" in page.content
    refused = Client().post(link, {"password1": TEST_PASSWORD, "password2": TEST_PASSWORD})
    assert refused.status_code == 410
    assert not User.objects.filter(email="friend@riverside.example").exists()
