"""Members, invitations, the term and the bulk upload: the use cases' rules."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone
from openpyxl import Workbook

from carestory.accounts.models import User
from carestory.audit.models import AuditEvent
from carestory.lib.errors import NotAllowed
from carestory.outbox.models import OutboxMessage
from carestory.subscriptions import bulk
from carestory.subscriptions.models import Invitation, Membership, StaffProfile, Subscription
from carestory.subscriptions.selectors import (
    frozen_since_sign_in,
    membership_covering,
    memberships_for,
    scope_services_for,
)
from carestory.subscriptions.services import (
    INVITATION_DAYS,
    invitation_accept,
    invitation_problem,
    invitation_send,
    member_freeze,
    member_remove,
    member_role_change,
    member_unfreeze,
    member_upload_check,
    member_upload_confirm,
    profile_update,
    safeguarding_contact_set,
)
from carestory.subscriptions.tests.helpers import alerted
from conftest import World
from tests.emails import emailed_path
from tests.factories import TEST_PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


Role = Membership.Role


def _membership(user: User, world: World) -> Membership:
    return Membership.objects.get(user=user, subscription=world.subscription)


def _invite(world: World, email: str = "new.person@riverside.example", **more: Any) -> Invitation:
    values: dict[str, Any] = {
        "actor": world.admin,
        "subscription": world.subscription,
        "email": email,
        "role": Role.RESPONDER,
        "first_name": "Nia",
        "last_name": "New",
        "job_title": "Sister",
        "department": "Ward 1",
    } | more
    return invitation_send(**values)


def _token(invitation: Invitation) -> str:
    path = emailed_path(f"invitation:{invitation.pk}", "/staff/join/")
    return path.rstrip("/").rsplit("/", 1)[-1]


# --- The term and the level ----------------------------------------------------------------------


def _end_term(world: World, ended_days_ago: int) -> None:
    Subscription.objects.filter(pk=world.subscription.pk).update(
        ends_on=timezone.localdate() - timedelta(days=ended_days_ago)
    )


def test_in_term_members_respond_and_arealerted(world: World) -> None:
    assert membership_covering(user=world.responder, services=[world.ward], responders_only=True)
    assert world.responder in {m.user for m in alerted(services=[world.ward])}


def test_after_the_term_responding_and_alerts_stop_but_reading_goes_on_30_days(
    world: World,
) -> None:
    _end_term(world, ended_days_ago=1)
    assert (
        membership_covering(user=world.responder, services=[world.ward], responders_only=True)
        is None
    )
    assert world.responder not in {m.user for m in alerted(services=[world.ward])}
    assert [m.subscription for m in memberships_for(user=world.responder)] == [world.subscription]
    assert scope_services_for(user=world.responder) == [world.trust]
    _end_term(world, ended_days_ago=30)
    assert scope_services_for(user=world.responder) == [world.trust]
    _end_term(world, ended_days_ago=31)
    assert scope_services_for(user=world.responder) == []
    assert memberships_for(user=world.responder) == []


def test_the_last_day_of_the_term_is_in_it_and_a_future_start_is_not(world: World) -> None:
    _end_term(world, ended_days_ago=0)
    assert membership_covering(user=world.responder, services=[world.ward], responders_only=True)
    Subscription.objects.filter(pk=world.subscription.pk).update(
        ends_on=None, starts_on=timezone.localdate() + timedelta(days=1)
    )
    assert (
        membership_covering(user=world.responder, services=[world.ward], responders_only=True)
        is None
    )
    assert memberships_for(user=world.responder) == []


def test_a_registration_responds_but_is_notalerted(world: World) -> None:
    Subscription.objects.filter(pk=world.subscription.pk).update(
        level=Subscription.Level.REGISTRATION
    )
    assert membership_covering(user=world.responder, services=[world.ward], responders_only=True)
    assert alerted(services=[world.ward]) == []


def test_overlapping_scopes_both_hear_while_in_term(world: World) -> None:
    from tests.factories import SubscriptionFactory

    overlap = SubscriptionFactory(scope=[world.hospital])
    commissioner = MembershipFactory(subscription=overlap, role=Role.RESPONDER).user
    heard = {m.user for m in alerted(services=[world.ward])}
    assert {world.responder, commissioner} <= heard
    Subscription.objects.filter(pk=overlap.pk).update(ends_on=date(2000, 1, 1))
    heard = {m.user for m in alerted(services=[world.ward])}
    assert world.responder in heard and commissioner not in heard


# --- Invitations ---------------------------------------------------------------------------------


def test_an_invitation_is_emailed_with_a_single_use_link_and_audited(world: World) -> None:
    invitation = _invite(world)
    message = OutboxMessage.objects.get(dedupe_key=f"invitation:{invitation.pk}")
    assert message.to_email == "new.person@riverside.example"
    token = _token(invitation)
    assert invitation.token_hash != token and token not in str(message.context)
    assert invitation.expires_at - invitation.created_at == timedelta(days=INVITATION_DAYS)
    assert AuditEvent.objects.filter(
        action="invitation.send", object_id=str(invitation.pk)
    ).exists()


def test_an_invitation_checks_every_field_at_once(world: World) -> None:
    with pytest.raises(ValidationError) as caught:
        _invite(world, email="not an address", role="boss", first_name="", last_name="")
    assert set(caught.value.error_dict) == {"email", "role", "first_name", "last_name"}
    assert not Invitation.objects.exists()


def test_an_existing_member_is_not_invited(world: World) -> None:
    with pytest.raises(ValidationError) as caught:
        _invite(world, email="RESPONDER@riverside.example")
    assert "already a member" in str(caught.value.error_dict["email"])


def test_only_an_administrator_of_the_subscription_invites(world: World) -> None:
    for actor in (world.responder, world.member, world.other_responder, world.author):
        with pytest.raises(NotAllowed):
            _invite(world, actor=actor)
    site_staff = UserFactory(is_staff=True)
    assert _invite(world, actor=site_staff).invited_by == site_staff


def test_a_form_sent_twice_invites_once(world: World) -> None:
    import uuid

    key = uuid.uuid4()
    first = _invite(world, idempotency_key=key)
    assert _invite(world, idempotency_key=key) == first
    assert Invitation.objects.count() == 1
    assert OutboxMessage.objects.filter(template="member_invitation").count() == 1


def test_accepting_sets_the_password_makes_the_membership_and_profile(world: World) -> None:
    invitation = _invite(world)
    membership = invitation_accept(invitation=invitation, password=TEST_PASSWORD)
    user = membership.user
    assert (membership.subscription, membership.role) == (world.subscription, Role.RESPONDER)
    assert user.check_password(TEST_PASSWORD) and user.email_verified_at is not None
    assert (user.full_name, user.job_title) == ("Nia New", "Sister")
    assert StaffProfile.objects.get(user=user).department == "Ward 1"
    assert AuditEvent.objects.filter(action="invitation.accept", actor=user).exists()


def test_an_invitation_is_used_once(world: World) -> None:
    invitation = _invite(world)
    invitation_accept(invitation=invitation, password=TEST_PASSWORD)
    stale = Invitation.objects.get(pk=invitation.pk)
    assert "already been used" in invitation_problem(stale)
    with pytest.raises(ValidationError, match="already been used"):
        invitation_accept(invitation=stale, password=TEST_PASSWORD)
    invitation.accepted_at = None  # a second click with the page's old copy
    with pytest.raises(ValidationError, match="already been used"):
        invitation_accept(invitation=invitation, password=TEST_PASSWORD)
    assert (
        Membership.objects.filter(
            subscription=world.subscription, user__email=invitation.email
        ).count()
        == 1
    )


def test_an_expired_invitation_says_so(world: World) -> None:
    invitation = _invite(world)
    with time_machine.travel(timezone.now() + timedelta(days=INVITATION_DAYS, minutes=1)):
        assert "expired" in invitation_problem(invitation)
        with pytest.raises(ValidationError, match="expired"):
            invitation_accept(invitation=invitation, password=TEST_PASSWORD)
    assert not User.objects.filter(email=invitation.email).exists()


def test_inviting_again_replaces_the_earlier_link(world: World) -> None:
    first = _invite(world)
    second = _invite(world)
    first.refresh_from_db()
    assert first.revoked_at is not None and second.revoked_at is None
    assert "replaced" in invitation_problem(first)


def test_a_weak_password_is_refused_on_its_field(world: World) -> None:
    invitation = _invite(world)
    with pytest.raises(ValidationError) as caught:
        invitation_accept(invitation=invitation, password="short")
    assert "password1" in caught.value.error_dict
    assert Invitation.objects.get(pk=invitation.pk).accepted_at is None


def test_an_existing_password_account_joins_and_keeps_its_password(world: World) -> None:
    invitation = _invite(world, email="responder@hilltop.example")
    membership = invitation_accept(invitation=invitation, password="")
    assert membership.user == world.other_responder
    assert set(
        Membership.objects.filter(user=world.other_responder).values_list("subscription", flat=True)
    ) == {
        world.subscription.pk,
        world.other_subscription.pk,
    }


# --- Changing members ----------------------------------------------------------------------------


def test_role_changes_are_audited(world: World) -> None:
    membership = member_role_change(
        actor=world.admin, membership=_membership(world.member, world), role=Role.RESPONDER
    )
    assert membership.role == Role.RESPONDER
    event = AuditEvent.objects.get(action="membership.role")
    assert event.changes == {"role": [Role.MEMBER, Role.RESPONDER]}


@pytest.mark.parametrize("change", ["demote", "freeze", "remove"])
def test_the_last_administrator_stays(world: World, change: str) -> None:
    membership = _membership(world.admin, world)
    with pytest.raises(ValidationError, match="at least one active administrator"):
        if change == "demote":
            member_role_change(actor=world.admin, membership=membership, role=Role.MEMBER)
        elif change == "freeze":
            member_freeze(actor=world.admin, membership=membership)
        else:
            member_remove(actor=world.admin, membership=membership)
    membership.refresh_from_db()
    assert (membership.role, membership.is_active) == (Role.ADMINISTRATOR, True)
    assert not AuditEvent.objects.filter(action__startswith="membership.").exists()


def test_with_a_second_administrator_the_first_may_step_down(world: World) -> None:
    member_role_change(
        actor=world.admin, membership=_membership(world.member, world), role=Role.ADMINISTRATOR
    )
    member_role_change(
        actor=world.admin, membership=_membership(world.admin, world), role=Role.MEMBER
    )
    assert _membership(world.admin, world).role == Role.MEMBER


def test_freeze_and_unfreeze(world: World) -> None:
    membership = _membership(world.responder, world)
    member_freeze(actor=world.admin, membership=membership)
    membership.refresh_from_db()
    assert not membership.is_active and membership.frozen_at is not None
    assert (
        membership_covering(user=world.responder, services=[world.ward], responders_only=True)
        is None
    )
    member_unfreeze(actor=world.admin, membership=membership)
    assert membership_covering(user=world.responder, services=[world.ward], responders_only=True)
    events = AuditEvent.objects.filter(
        object_type="membership", object_id=str(membership.pk)
    ).order_by("pk")
    actions = list(events.values_list("action", flat=True))
    assert actions == ["membership.freeze", "membership.unfreeze"]


def test_a_freeze_ends_sessions_begun_before_it_only(world: World) -> None:
    User.objects.filter(pk=world.responder.pk).update(
        last_login=timezone.now() - timedelta(hours=1)
    )
    world.responder.refresh_from_db()
    assert not frozen_since_sign_in(world.responder)
    member_freeze(actor=world.admin, membership=_membership(world.responder, world))
    assert frozen_since_sign_in(world.responder)
    User.objects.filter(pk=world.responder.pk).update(
        last_login=timezone.now() + timedelta(seconds=1)
    )
    world.responder.refresh_from_db()
    assert not frozen_since_sign_in(world.responder)


def test_remove_keeps_the_account(world: World) -> None:
    member_remove(actor=world.admin, membership=_membership(world.member, world))
    assert User.objects.filter(pk=world.member.pk).exists()
    assert not Membership.objects.filter(user=world.member).exists()
    assert AuditEvent.objects.filter(action="membership.remove").exists()


def test_another_organisations_administrator_changes_nothing(world: World) -> None:
    other_admin = MembershipFactory(
        subscription=world.other_subscription, role=Role.ADMINISTRATOR
    ).user
    with pytest.raises(NotAllowed):
        member_freeze(actor=other_admin, membership=_membership(world.member, world))


def test_safeguarding_contact_is_checked_and_audited(world: World) -> None:
    with pytest.raises(ValidationError) as caught:
        safeguarding_contact_set(actor=world.admin, subscription=world.subscription, email="nope")
    assert "email" in caught.value.error_dict
    safeguarding_contact_set(
        actor=world.admin, subscription=world.subscription, email=" Safe@Riverside.example "
    )
    world.subscription.refresh_from_db()
    assert world.subscription.safeguarding_email == "safe@riverside.example"
    assert AuditEvent.objects.filter(action="subscription.safeguarding_contact").count() == 1
    with pytest.raises(NotAllowed):
        safeguarding_contact_set(actor=world.responder, subscription=world.subscription, email="")


def test_several_safeguarding_contacts_one_a_line(world: World) -> None:
    safeguarding_contact_set(
        actor=world.admin,
        subscription=world.subscription,
        email="Lead@Riverside.example\n\n team@riverside.example, lead@riverside.example",
    )
    world.subscription.refresh_from_db()
    assert world.subscription.safeguarding_contacts == [
        "lead@riverside.example",
        "team@riverside.example",
    ]
    with pytest.raises(ValidationError) as caught:
        safeguarding_contact_set(
            actor=world.admin, subscription=world.subscription, email="ok@riverside.example\nnope"
        )
    assert caught.value.message_dict["email"][0].startswith("nope: ")
    many = "\n".join(f"p{n}@riverside.example" for n in range(6))
    with pytest.raises(ValidationError) as caught:
        safeguarding_contact_set(actor=world.admin, subscription=world.subscription, email=many)
    assert caught.value.message_dict == {"email": ["Give at most 5 addresses"]}
    world.subscription.refresh_from_db()
    assert len(world.subscription.safeguarding_contacts) == 2  # nothing changed
    safeguarding_contact_set(actor=world.admin, subscription=world.subscription, email="  ")
    world.subscription.refresh_from_db()
    assert world.subscription.safeguarding_contacts == []


def test_a_profile_keeps_the_users_name_and_job_title_in_step(world: World) -> None:
    profile_update(
        user=world.responder,
        first_name="Rita",
        last_name="Reyes",
        job_title="Lead nurse",
        department="Maternity",
        what_i_do="I look after the maternity wards.",
        phone="01234 567890",
    )
    world.responder.refresh_from_db()
    assert (world.responder.full_name, world.responder.job_title) == ("Rita Reyes", "Lead nurse")
    with pytest.raises(NotAllowed):
        profile_update(
            user=world.author,
            first_name="A",
            last_name="B",
            job_title="",
            department="",
            what_i_do="",
            phone="",
        )


# --- Bulk upload ---------------------------------------------------------------------------------

HEADINGS = ["First name", "Last name", "Email", "Job title", "Department", "Role"]


def _csv(rows: list[list[str]], headings: list[str] = HEADINGS) -> bytes:
    import csv

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headings)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _xlsx(rows: list[list[Any]], headings: list[str] = HEADINGS) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(headings)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


BAD_AND_GOOD = [
    ["Ann", "Able", "ann@riverside.example", "Matron", "Ward 1", "Responder"],
    ["Bob", "Bad", "not-an-address", "", "", ""],
    ["Cat", "Cole", "cat@riverside.example", "", "", "boss"],
    ["", "", "ANN@riverside.example", "", "Maternity", "member"],
    ["Rita", "Responder", "responder@riverside.example", "", "", ""],
    ['=HYPERLINK("http://x")', "Formula", "dee@riverside.example", "", "", "subscriber"],
]


def _check(world: World, name: str, data: bytes) -> list[dict[str, Any]]:
    upload = member_upload_check(
        actor=world.admin, subscription=world.subscription, file_name=name, data=data
    )
    rows: list[dict[str, Any]] = upload.rows
    return rows


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_an_upload_is_previewed_row_by_row_and_nothing_else_is_written(
    world: World, kind: str
) -> None:
    data = _csv(BAD_AND_GOOD) if kind == "csv" else _xlsx(BAD_AND_GOOD)
    rows = _check(world, f"staff.{kind}", data)
    outcomes = [(r["number"], r["outcome"]) for r in rows]
    assert outcomes == [
        (2, "invite"),
        (3, "problem"),
        (4, "problem"),
        (5, "duplicate"),
        (6, "member"),
        (7, "invite"),
    ]
    assert "correct format" in rows[1]["problems"][0]
    assert "Unknown role “boss”" in rows[2]["problems"][0]
    assert rows[3]["merged_into"] == 2
    assert rows[0]["values"]["department"] == "Ward 1"  # the first row's own value wins
    assert rows[5]["values"]["first_name"] == '=HYPERLINK("http://x")'  # text, never computed
    assert rows[5]["values"]["role"] == Role.MEMBER
    assert bulk.summary(rows) == {
        "invite": 2,
        "member": 1,
        "invited": 0,
        "duplicate": 1,
        "problem": 2,
    }
    assert not Invitation.objects.exists() and not OutboxMessage.objects.exists()
    assert AuditEvent.objects.filter(action="member_upload.check").exists()


def test_a_merge_fills_the_first_rows_blanks(world: World) -> None:
    rows = _check(
        world,
        "s.csv",
        _csv(
            [
                ["Ann", "", "ann@x.example", "", "", ""],
                ["", "Able", "ann@x.example", "Sister", "", ""],
            ]
        ),
    )
    assert rows[0]["outcome"] == "invite"
    assert (rows[0]["values"]["last_name"], rows[0]["values"]["job_title"]) == ("Able", "Sister")


def test_confirming_invites_once_however_often_it_is_sent(world: World) -> None:
    upload = member_upload_check(
        actor=world.admin,
        subscription=world.subscription,
        file_name="s.csv",
        data=_csv(BAD_AND_GOOD),
    )
    assert member_upload_confirm(actor=world.admin, upload=upload) == 2
    assert member_upload_confirm(actor=world.admin, upload=upload) == 0
    assert sorted(Invitation.objects.values_list("email", flat=True)) == [
        "ann@riverside.example",
        "dee@riverside.example",
    ]
    assert OutboxMessage.objects.filter(template="member_invitation").count() == 2
    assert AuditEvent.objects.filter(action="member_upload.confirm").count() == 1


def test_a_file_without_a_required_column_is_refused(world: World) -> None:
    with pytest.raises(ValidationError) as caught:
        _check(world, "s.csv", _csv([["Ann", "ann@x.example"]], headings=["First name", "E-mail"]))
    message = str(caught.value.error_dict["file"])
    assert "“Last name”" in message
    assert "Email" not in message.split("column")[0]  # E-mail is recognised as Email


def test_a_huge_file_is_refused_with_a_clear_message(world: World) -> None:
    rows = [[f"A{n}", "B", f"p{n}@x.example", "", "", ""] for n in range(bulk.MAX_UPLOAD_ROWS + 1)]
    for name, data in (("s.csv", _csv(rows)), ("s.xlsx", _xlsx(rows))):
        with pytest.raises(ValidationError, match="too large"):
            _check(world, name, data)
    with pytest.raises(ValidationError, match="too large"):
        _check(world, "s.csv", b"x" * (bulk.MAX_UPLOAD_BYTES + 1))


def test_a_zip_that_unpacks_to_too_much_is_refused(world: World) -> None:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/big.xml", b" " * (bulk.MAX_XLSX_UNZIPPED_BYTES + 1))
    with pytest.raises(ValidationError, match="too large"):
        _check(world, "s.xlsx", out.getvalue())


def test_a_damaged_or_foreign_file_is_refused(world: World) -> None:
    with pytest.raises(ValidationError, match="could not be read as XLSX"):
        _check(world, "s.xlsx", b"PK\x03\x04 not really a zip")
    with pytest.raises(ValidationError, match="CSV or XLSX"):
        _check(world, "s.pdf", b"%PDF-1.4")


def test_an_xlsx_formula_cell_is_kept_as_its_text(world: World) -> None:
    rows = _check(world, "s.xlsx", _xlsx([["=1+1", "=SUM(A1:A2)", "f@x.example", "", "", ""]]))
    assert (rows[0]["values"]["first_name"], rows[0]["values"]["last_name"]) == (
        "=1+1",
        "=SUM(A1:A2)",
    )
