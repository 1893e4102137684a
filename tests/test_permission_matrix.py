"""Who may do what on the staff side (issue 10, "Done means"): one table, persona by action.

Each row of ``MATRIX`` is one request (a URL name, GET or POST with its data) and what each
persona gets: the status code, and for a request that changes something, ``+`` when the change
was made (a code without ``+`` on such a row means nothing changed). One parametrized test
runs every cell on fresh data; ``test_every_staff_url_has_a_row`` fails when a staff-side URL
(any route under ``staff/``, and the responder's pages) has no row, so a new page must say who
may open it.

Sessions come from ``client.force_login`` (marked as fully signed in: password and second
factor). Personas: see ``Cast``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from carestory.accounts.models import User
from carestory.alerts.models import Alert
from carestory.alerts.services import UNSUBSCRIBE_SALT
from carestory.responses.models import RESPONSE_EDIT_WINDOW, ModerationStatus, Response
from carestory.stories.models import Story
from carestory.subscriptions.models import (
    Invitation,
    Membership,
    MemberUpload,
    StaffProfile,
    Subscription,
)
from carestory.subscriptions.services import invitation_send, member_upload_check
from carestory.workspace.models import AnsweringMarker, SavedSearch, StaffTag
from conftest import World
from tests.emails import emailed_path
from tests.factories import (
    MembershipFactory,
    ResponseFactory,
    StoryFactory,
    SubscriptionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

Role = Membership.Role

#: The columns of ``MATRIX``, in order.
PERSONAS = (
    "anonymous",  # not signed in
    "author",  # signed in by emailed link, no membership
    "member",  # Riverside (the subscription), role member
    "responder",  # Riverside, responder
    "admin",  # Riverside, administrator
    "other_admin",  # administrator of Hilltop, another subscription
    "frozen",  # Riverside responder, frozen (before this session began)
    "ended",  # responder of a subscription over the same trust that ended 31 days ago
    "moderator",
    "senior",  # senior moderator
    "site_staff",  # Django staff (the internal admin), no membership
)


class Cast:
    """The personas and the things the actions act on, made fresh for each cell."""

    def __init__(self) -> None:
        self.world = world = World()
        self.today = timezone.localdate()

        def staff(subscription: Subscription, role: str, email: str) -> Membership:
            user = UserFactory(staff=True, email=email)
            membership: Membership = MembershipFactory(
                subscription=subscription, role=role, user=user
            )
            return membership

        self.other_admin = staff(
            world.other_subscription, Role.ADMINISTRATOR, "admin@hilltop.example"
        )
        frozen = staff(world.subscription, Role.RESPONDER, "frozen@riverside.example")
        Membership.objects.filter(pk=frozen.pk).update(
            is_active=False, frozen_at=timezone.now() - timedelta(hours=1)
        )
        self.frozen = Membership.objects.get(pk=frozen.pk)
        ended = SubscriptionFactory(
            code="END",
            name="Ended Trust",
            scope=[world.trust],
            ends_on=self.today - timedelta(days=31),
        )
        self.ended = staff(ended, Role.RESPONDER, "ended@ended.example")
        self.colleague = staff(world.subscription, Role.MEMBER, "colin@riverside.example")
        self.senior = UserFactory(moderator=True, is_senior_moderator=True, email="senior@x.org")
        self.site_staff = UserFactory(staff=True, is_staff=True, email="site.staff@example.org")

        self.users: dict[str, User | None] = {
            "anonymous": None,
            "author": world.author,
            "member": world.member,
            "responder": world.responder,
            "admin": world.admin,
            "other_admin": self.other_admin.user,
            "frozen": self.frozen.user,
            "ended": self.ended.user,
            "moderator": world.moderator,
            "senior": self.senior,
            "site_staff": self.site_staff,
        }
        # Every membership has one alert (responders' and administrators' first alert; the
        # members' made here), so "my own alert" exists for each persona that has a membership.
        for membership in Membership.objects.filter(role=Role.MEMBER):
            Alert.objects.create(
                membership=membership,
                events=[Alert.Event.STORIES],
                frequency=Alert.Frequency.IMMEDIATE,
            )

        self.story = StoryFactory(published=True, services=[world.ward])
        self.answered = StoryFactory(published=True, services=[world.ward])
        self.response = ResponseFactory(
            story=self.answered,
            responder=world.responder,
            subscription=world.subscription,
            status=ModerationStatus.EDITABLE,
            editable_until=timezone.now() + RESPONSE_EDIT_WINDOW,
        )
        self.tag = StaffTag.objects.create(
            story=self.story,
            author=world.responder,
            subscription=world.subscription,
            name="Follow up",
            slug="follow-up",
            visibility=StaffTag.Visibility.SHARED,
        )
        self.search = SavedSearch.objects.create(
            user=world.responder, name="Critical", query="min_criticality=3"
        )
        self.upload = member_upload_check(
            actor=world.admin,
            subscription=world.subscription,
            file_name="members.csv",
            data=b"First name,Last name,Email\nPat,Smith,pat@riverside.example\n",
        )
        invitation = invitation_send(
            actor=world.admin,
            subscription=world.subscription,
            email="invited@riverside.example",
            role=Role.RESPONDER,
            first_name="Ivy",
            last_name="Invited",
        )
        path = emailed_path(f"invitation:{invitation.pk}", "/staff/join/")
        self.invitation_token = path.rstrip("/").rsplit("/", 1)[-1]

    def membership_of(self, persona: str) -> Membership | None:
        user = self.users[persona]
        return None if user is None else Membership.objects.filter(user=user).first()

    def own_membership_id(self, persona: str) -> int:
        """The persona's own membership (0, which is nobody's, for a persona with none)."""
        membership = self.membership_of(persona)
        return 0 if membership is None else membership.pk

    def own_alert(self, persona: str) -> Alert | None:
        return Alert.objects.filter(membership_id=self.own_membership_id(persona)).first()

    def own_alert_id(self, persona: str) -> int:
        alert = self.own_alert(persona)
        return 0 if alert is None else alert.pk

    def colleague_alert(self) -> Alert:
        return Alert.objects.get(membership=self.colleague)

    def invitation(self) -> Invitation:
        """An invitation the administrator sent, not yet used."""
        return invitation_send(
            actor=self.world.admin,
            subscription=self.world.subscription,
            email="ivy@riverside.example",
            role=Role.MEMBER,
            first_name="Ivy",
            last_name="Invited",
        )

    def org(self, name: str, *more: object) -> str:
        return reverse(f"subscriptions:{name}", args=[self.world.subscription.code, *more])


Url = Callable[[Cast, str], str]  # (cast, persona) -> path
Data = Callable[[Cast, str], dict[str, Any]]
Effect = Callable[[Cast, str], bool]


@dataclass(frozen=True)
class Action:
    label: str
    url_name: str
    method: str
    url: Url
    expected: str  # one code per persona, in PERSONAS order; "+" = the change was made
    data: Data = field(default=lambda cast, persona: {})
    effect: Effect | None = None  # whether the change was made (POSTs that change something)


def _key() -> str:
    return str(uuid.uuid4())


def _alert_data(cast: Cast, persona: str) -> dict[str, Any]:
    return {"events": ["responses"], "services": "", "min_criticality": "", "frequency": "weekly"}


def _user_is(persona: str, cast: Cast, **lookup: Any) -> bool:
    user = cast.users[persona]
    return user is not None and StaffProfile.objects.filter(user=user, **lookup).exists()


def _membership(pk: int) -> Membership | None:
    return Membership.objects.filter(pk=pk).first()


def _story(cast: Cast, name: str, *more: object) -> str:
    return reverse(f"workspace:{name}", args=[cast.story.public_id, *more])


def _own_alert_weekly(cast: Cast, persona: str) -> bool:
    alert = cast.own_alert(persona)
    return alert is not None and alert.frequency == Alert.Frequency.WEEKLY


def _unsubscribe_path(cast: Cast, persona: str) -> str:
    alert = cast.colleague_alert()
    signed = signing.Signer(salt=UNSUBSCRIBE_SALT).sign(f"{alert.pk}.{alert.membership_id}")
    return reverse("alerts:unsubscribe", args=[signed])


# fmt: off
# Codes in PERSONAS order: anon author member respo admin o_adm frozen ended moder senior site
MATRIX: tuple[Action, ...] = (
    # The workspace and its story page.
    Action("workspace list", "subscriptions:dashboard", "GET",
           lambda c, p: reverse("subscriptions:dashboard"),
           "302 200 200 200 200 200 200 200 200 200 200"),
    Action("workspace story page", "workspace:story", "GET",
           lambda c, p: _story(c, "story"),
           "302 404 200 200 200 404 404 404 404 404 404"),
    Action("mark answering", "workspace:respond", "POST",
           lambda c, p: _story(c, "respond"),
           "302 404 404 302+ 302+ 404 404 404 404 404 404",
           effect=lambda c, p: AnsweringMarker.objects.filter(
               story=c.story, user=c.users[p]).exists()),
    Action("staff tag add", "workspace:tag_add", "POST",
           lambda c, p: _story(c, "tag_add"),
           "302 404 302+ 302+ 302+ 404 404 404 404 404 404",
           data=lambda c, p: {"name": "Matrix tag", "visibility": "shared", "polarity": "1"},
           effect=lambda c, p: StaffTag.objects.filter(name="Matrix tag").exists()),
    Action("staff tag remove (the responder's shared tag)", "workspace:tag_remove", "POST",
           lambda c, p: _story(c, "tag_remove", c.tag.pk),
           "302 404 404 302+ 302+ 404 404 404 404 404 404",
           effect=lambda c, p: not StaffTag.objects.filter(pk=c.tag.pk).exists()),
    # Saved searches (the responder's).
    Action("saved searches", "workspace:searches", "GET",
           lambda c, p: reverse("workspace:searches"),
           "302 200 200 200 200 200 200 200 200 200 200"),
    Action("save a search", "workspace:searches", "POST",
           lambda c, p: reverse("workspace:searches"),
           "302 302+ 302+ 302+ 302+ 302+ 302+ 302+ 302+ 302+ 302+",
           data=lambda c, p: {"name": "Matrix search", "query": "sort=critical"},
           effect=lambda c, p: SavedSearch.objects.filter(name="Matrix search").exists()),
    Action("run the responder's search", "workspace:search_run", "GET",
           lambda c, p: reverse("workspace:search_run", args=[c.search.pk]),
           "302 404 404 302 404 404 404 404 404 404 404"),
    Action("delete the responder's search", "workspace:search_delete", "POST",
           lambda c, p: reverse("workspace:search_delete", args=[c.search.pk]),
           "302 404 404 302+ 404 404 404 404 404 404 404",
           effect=lambda c, p: not SavedSearch.objects.filter(pk=c.search.pk).exists()),
    # Alerts: one's own, and a fellow member's (Colin, a member of Riverside).
    Action("alerts list", "alerts:list", "GET",
           lambda c, p: reverse("alerts:list"),
           "302 200 200 200 200 200 200 200 200 200 200"),
    Action("own alerts", "alerts:member", "GET",
           lambda c, p: reverse("alerts:member", args=[c.own_membership_id(p)]),
           "302 404 200 200 200 200 404 404 404 404 404"),
    Action("another member's alerts", "alerts:member", "GET",
           lambda c, p: reverse("alerts:member", args=[c.colleague.pk]),
           "302 404 404 404 200 404 404 404 404 404 404"),
    Action("new own alert", "alerts:new", "POST",
           lambda c, p: reverse("alerts:new", args=[c.own_membership_id(p)]),
           "302 404 302+ 302+ 302+ 302+ 404 404 404 404 404",
           data=_alert_data,
           effect=lambda c, p: Alert.objects.filter(frequency="weekly").exists()),
    Action("new alert for another member", "alerts:new", "POST",
           lambda c, p: reverse("alerts:new", args=[c.colleague.pk]),
           "302 404 404 404 302+ 404 404 404 404 404 404",
           data=_alert_data,
           effect=lambda c, p: Alert.objects.filter(
               membership=c.colleague, frequency="weekly").exists()),
    Action("new alert form for another member", "alerts:new", "GET",
           lambda c, p: reverse("alerts:new", args=[c.colleague.pk]),
           "302 404 404 404 200 404 404 404 404 404 404"),
    Action("edit own alert (form)", "alerts:edit", "GET",
           lambda c, p: reverse("alerts:edit", args=[c.own_alert_id(p)]),
           "302 404 200 200 200 200 404 404 404 404 404"),
    Action("edit own alert", "alerts:edit", "POST",
           lambda c, p: reverse("alerts:edit", args=[c.own_alert_id(p)]),
           "302 404 302+ 302+ 302+ 302+ 404 404 404 404 404",
           data=_alert_data, effect=_own_alert_weekly),
    Action("edit another member's alert", "alerts:edit", "POST",
           lambda c, p: reverse("alerts:edit", args=[c.colleague_alert().pk]),
           "302 404 404 404 302+ 404 404 404 404 404 404",
           data=_alert_data,
           effect=lambda c, p: c.colleague_alert().frequency == "weekly"),
    Action("delete own alert (page)", "alerts:delete", "GET",
           lambda c, p: reverse("alerts:delete", args=[c.own_alert_id(p)]),
           "302 404 200 200 200 200 404 404 404 404 404"),
    Action("delete own alert", "alerts:delete", "POST",
           lambda c, p: reverse("alerts:delete", args=[c.own_alert_id(p)]),
           "302 404 302+ 302+ 302+ 302+ 404 404 404 404 404",
           effect=lambda c, p: c.own_membership_id(p) != 0 and c.own_alert(p) is None),
    Action("delete another member's alert", "alerts:delete", "POST",
           lambda c, p: reverse("alerts:delete", args=[c.colleague_alert().pk]),
           "302 404 404 404 302+ 404 404 404 404 404 404",
           effect=lambda c, p: not Alert.objects.filter(membership=c.colleague).exists()),
    # The emailed one-click link needs no sign-in: the signature is the permission.
    Action("unsubscribe (page)", "alerts:unsubscribe", "GET", _unsubscribe_path,
           "200 200 200 200 200 200 200 200 200 200 200"),
    Action("unsubscribe (one click)", "alerts:unsubscribe", "POST", _unsubscribe_path,
           "200+ 200+ 200+ 200+ 200+ 200+ 200+ 200+ 200+ 200+ 200+",
           effect=lambda c, p: not c.colleague_alert().is_active),
    Action("unsubscribe, bad signature", "alerts:unsubscribe", "POST",
           lambda c, p: reverse("alerts:unsubscribe", args=["1.1:forged"]),
           "404 404 404 404 404 404 404 404 404 404 404"),
    # The organisation's pages (Riverside's).
    Action("my organisation", "subscriptions:organisation", "GET",
           lambda c, p: reverse("subscriptions:organisation"),
           "302 404 404 404 302 302 404 404 404 404 404"),
    Action("members page", "subscriptions:members", "GET",
           lambda c, p: c.org("members"),
           "302 404 404 404 200 404 404 404 404 404 200"),
    Action("invite (form)", "subscriptions:invite", "GET",
           lambda c, p: c.org("invite"),
           "302 404 404 404 200 404 404 404 404 404 200"),
    Action("invite", "subscriptions:invite", "POST",
           lambda c, p: c.org("invite"),
           "302 404 404 404 302+ 404 404 404 404 404 302+",
           data=lambda c, p: {
               "first_name": "Max", "last_name": "Matrix", "email": "max@riverside.example",
               "role": "member", "idempotency_key": _key()},
           effect=lambda c, p: Invitation.objects.filter(email="max@riverside.example").exists()),
    Action("withdraw an invitation", "subscriptions:invitation_withdraw", "POST",
           lambda c, p: c.org("invitation_withdraw", c.invitation().pk),
           "302 404 404 404 302+ 404 404 404 404 404 302+",
           effect=lambda c, p: Invitation.objects.filter(revoked_at__isnull=False).exists()),
    Action("a member's page", "subscriptions:member", "GET",
           lambda c, p: c.org("member", c.colleague.pk),
           "302 404 404 404 200 404 404 404 404 404 200"),
    Action("change a member's role", "subscriptions:member", "POST",
           lambda c, p: c.org("member", c.colleague.pk),
           "302 404 404 404 302+ 404 404 404 404 404 302+",
           data=lambda c, p: {"role": "responder"},
           effect=lambda c, p: Membership.objects.get(
               pk=c.colleague.pk).role == Role.RESPONDER),
    Action("freeze a member", "subscriptions:freeze", "POST",
           lambda c, p: c.org("freeze", c.colleague.pk),
           "302 404 404 404 302+ 404 404 404 404 404 302+",
           effect=lambda c, p: not Membership.objects.get(pk=c.colleague.pk).is_active),
    Action("unfreeze a member", "subscriptions:unfreeze", "POST",
           lambda c, p: c.org("unfreeze", c.frozen.pk),
           "302 404 404 404 302+ 404 404 404 404 404 302+",
           effect=lambda c, p: Membership.objects.get(pk=c.frozen.pk).is_active),
    Action("remove a member", "subscriptions:remove", "POST",
           lambda c, p: c.org("remove", c.colleague.pk),
           "302 404 404 404 302+ 404 404 404 404 404 302+",
           effect=lambda c, p: _membership(c.colleague.pk) is None),
    Action("bulk upload (form)", "subscriptions:upload", "GET",
           lambda c, p: c.org("upload"),
           "302 404 404 404 200 404 404 404 404 404 200"),
    Action("bulk upload (a file)", "subscriptions:upload", "POST",
           lambda c, p: c.org("upload"),
           "302 404 404 404 302+ 404 404 404 404 404 302+",
           data=lambda c, p: {"file": SimpleUploadedFile(
               "more.csv", b"First name,Last name,Email\nLee,Jones,lee@riverside.example\n")},
           effect=lambda c, p: MemberUpload.objects.count() == 2),
    Action("bulk upload preview", "subscriptions:upload_preview", "GET",
           lambda c, p: c.org("upload_preview", c.upload.pk),
           "302 404 404 404 200 404 404 404 404 404 200"),
    Action("bulk upload confirm", "subscriptions:upload_preview", "POST",
           lambda c, p: c.org("upload_preview", c.upload.pk),
           "302 404 404 404 302+ 404 404 404 404 404 302+",
           effect=lambda c, p: MemberUpload.objects.get(
               pk=c.upload.pk).confirmed_at is not None),
    Action("safeguarding contact (form)", "subscriptions:safeguarding", "GET",
           lambda c, p: c.org("safeguarding"),
           "302 404 404 404 200 404 404 404 404 404 200"),
    Action("safeguarding contact", "subscriptions:safeguarding", "POST",
           lambda c, p: c.org("safeguarding"),
           "302 404 404 404 302+ 404 404 404 404 404 302+",
           data=lambda c, p: {"email": "safe@riverside.example"},
           effect=lambda c, p: Subscription.objects.filter(
               safeguarding_email="safe@riverside.example").exists()),
    # Switching to Riverside.
    Action("switch organisation", "subscriptions:switch", "POST",
           lambda c, p: reverse("subscriptions:switch"),
           "302 404 302 302 302 404 404 404 404 404 404",
           data=lambda c, p: {"subscription": str(c.world.subscription.pk)}),
    Action("profile (form)", "subscriptions:profile", "GET",
           lambda c, p: reverse("subscriptions:profile"),
           "302 404 200 200 200 200 404 200 404 404 404"),
    Action("profile", "subscriptions:profile", "POST",
           lambda c, p: reverse("subscriptions:profile"),
           "302 404 302+ 302+ 302+ 302+ 404 302+ 404 404 404",
           data=lambda c, p: {"first_name": "Pat", "last_name": "Persona",
                              "job_title": "Matrix title"},
           effect=lambda c, p: _user_is(p, c, job_title="Matrix title")),
    # The invitation's link: the token is the permission; signed in or not.
    Action("accept an invitation (page)", "subscriptions:invitation_accept", "GET",
           lambda c, p: reverse("subscriptions:invitation_accept", args=[c.invitation_token]),
           "200 200 200 200 200 200 200 200 200 200 200"),
    Action("accept an invitation, bad link", "subscriptions:invitation_accept", "GET",
           lambda c, p: reverse("subscriptions:invitation_accept", args=["not-a-token"]),
           "404 404 404 404 404 404 404 404 404 404 404"),
    # Responding (Riverside's story), and the responder's own response in its window.
    Action("respond (form)", "responses:respond", "GET",
           lambda c, p: reverse("responses:respond", args=[c.story.public_id]),
           "302 404 404 200 200 404 404 404 404 404 404"),
    Action("respond", "responses:respond", "POST",
           lambda c, p: reverse("responses:respond", args=[c.story.public_id]),
           "302 404 404 200+ 200+ 404 404 404 404 404 404",
           data=lambda c, p: {"body": "Thank you for telling us.", "change": "none",
                              "change_description": "", "idempotency_key": _key()},
           effect=lambda c, p: Response.objects.filter(story=c.story).exists()),
    Action("edit the responder's response (form)", "responses:edit", "GET",
           lambda c, p: reverse("responses:edit", args=[c.answered.public_id, c.response.pk]),
           "302 404 404 200 404 404 404 404 404 404 404"),
    Action("edit the responder's response", "responses:edit", "POST",
           lambda c, p: reverse("responses:edit", args=[c.answered.public_id, c.response.pk]),
           "302 404 404 302+ 404 404 404 404 404 404 404",
           data=lambda c, p: {"body": "Changed in the matrix.", "change": "none",
                              "change_description": "", "version": str(c.response.version)},
           effect=lambda c, p: Response.objects.filter(
               original_body="Changed in the matrix.").exists()),
    Action("delete the responder's response (page)", "responses:delete", "GET",
           lambda c, p: reverse("responses:delete", args=[c.answered.public_id, c.response.pk]),
           "302 404 404 200 404 404 404 404 404 404 404"),
    Action("delete the responder's response", "responses:delete", "POST",
           lambda c, p: reverse("responses:delete", args=[c.answered.public_id, c.response.pk]),
           "302 404 404 200+ 404 404 404 404 404 404 404",
           data=lambda c, p: {"version": str(c.response.version)},
           effect=lambda c, p: not Response.objects.filter(pk=c.response.pk).exists()),
    # Signing in, MFA and the password reset (an author has no password, so no MFA: 404).
    Action("staff sign-in page", "accounts:staff_login", "GET",
           lambda c, p: reverse("accounts:staff_login"),
           "200 200 200 200 200 200 200 200 200 200 200"),
    Action("MFA manage", "accounts:mfa_manage", "GET",
           lambda c, p: reverse("accounts:mfa_manage"),
           "302 404 200 200 200 200 200 200 200 200 200"),
    Action("MFA code step (already done)", "accounts:mfa_verify", "GET",
           lambda c, p: reverse("accounts:mfa_verify"),
           "302 404 302 302 302 302 302 302 302 302 302"),
    Action("MFA enrol", "accounts:mfa_enrol", "GET",
           lambda c, p: reverse("accounts:mfa_enrol"),
           "302 404 200 200 200 200 200 200 200 200 200"),
    # Nobody here has an authenticator yet: no codes to renew.
    Action("MFA new recovery codes (not enrolled)", "accounts:mfa_recovery", "POST",
           lambda c, p: reverse("accounts:mfa_recovery"),
           "302 404 404 404 404 404 404 404 404 404 404"),
    # Refused (404) to whoever must keep MFA: administrators, moderators, Django staff.
    Action("MFA turn off", "accounts:mfa_disable", "POST",
           lambda c, p: reverse("accounts:mfa_disable"),
           "302 404 302 302 404 404 302 302 404 404 404"),
    Action("password reset", "accounts:password_reset", "GET",
           lambda c, p: reverse("accounts:password_reset"),
           "200 200 200 200 200 200 200 200 200 200 200"),
    Action("password reset, bad link", "accounts:password_reset_confirm", "GET",
           lambda c, p: reverse("accounts:password_reset_confirm", args=["not-a-token"]),
           "404 404 404 404 404 404 404 404 404 404 404"),
)
# fmt: on


def _cells() -> Iterator[Any]:
    for action in MATRIX:
        codes = action.expected.split()
        assert len(codes) == len(PERSONAS), f"{action.label}: {len(codes)} codes"
        for persona, code in zip(PERSONAS, codes, strict=True):
            yield pytest.param(action, persona, code, id=f"{action.label}-{persona}")


@pytest.mark.parametrize(("action", "persona", "expected"), list(_cells()))
def test_permission_matrix(action: Action, persona: str, expected: str) -> None:
    cast = Cast()
    client = Client()
    user = cast.users[persona]
    if user is not None:
        client.force_login(user)
    url = action.url(cast, persona)
    if action.method == "GET":
        answer = client.get(url)
    else:
        answer = client.post(url, action.data(cast, persona))
    changed = "+" if action.effect is not None and action.effect(cast, persona) else ""
    assert f"{answer.status_code}{changed}" == expected, (
        f"{action.method} {url} as {persona}: {answer.status_code}{changed}, expected {expected}"
    )


def _routes(
    patterns: list[URLPattern | URLResolver], prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str]]:
    """Every named URL as (route, namespaced name)."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _routes(pattern.url_patterns, route, inner)
        elif pattern.name:
            yield route, f"{namespace}:{pattern.name}" if namespace else pattern.name


#: Staff-side URLs outside ``staff/``: the responder's pages under a story.
STAFF_NAMESPACES_ELSEWHERE = {"responses"}


def test_every_staff_url_has_a_row() -> None:
    staff_side = {
        name
        for route, name in _routes(get_resolver().url_patterns)
        if route.startswith("staff/") or name.split(":")[0] in STAFF_NAMESPACES_ELSEWHERE
    }
    assert "workspace:story" in staff_side and "responses:delete" in staff_side
    missing = staff_side - {action.url_name for action in MATRIX}
    assert not missing, f"staff-side URLs with no row in MATRIX: {sorted(missing)}"


def test_every_persona_is_who_it_says() -> None:
    """The personas are what the matrix's columns say: a check on the cast itself."""
    cast = Cast()
    roles = {p: getattr(cast.membership_of(p), "role", None) for p in PERSONAS}
    assert roles == {
        "anonymous": None,
        "author": None,
        "member": Role.MEMBER,
        "responder": Role.RESPONDER,
        "admin": Role.ADMINISTRATOR,
        "other_admin": Role.ADMINISTRATOR,
        "frozen": Role.RESPONDER,
        "ended": Role.RESPONDER,
        "moderator": None,
        "senior": None,
        "site_staff": None,
    }
    assert cast.other_admin.subscription == cast.world.other_subscription
    assert not cast.frozen.is_active
    ended = cast.ended.subscription
    assert ended.ends_on is not None and (cast.today - ended.ends_on).days > 30
    assert not Subscription.objects.readable().filter(pk=ended.pk).exists()
    assert cast.senior.is_senior_moderator and cast.senior.moderates
    assert cast.site_staff.is_staff and not cast.site_staff.moderates
    author = cast.users["author"]
    assert author is not None and not author.signs_in_with_password
    assert Story.objects.filter(pk=cast.story.pk, status=Story.Status.PUBLISHED).exists()
