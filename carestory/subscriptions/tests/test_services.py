"""Subscriptions and their staff: created by code, staff added with a role, every change audited."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from carestory.accounts.models import User
from carestory.audit.models import AuditEvent
from carestory.subscriptions.models import Membership, Subscription
from carestory.subscriptions.services import staff_add, subscription_create, subscription_for_code
from conftest import World
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

Role = Membership.Role


# --- Subscriptions -------------------------------------------------------------------------------


def test_a_subscription_is_created_with_its_scope_and_audited(world: World) -> None:
    subscription = subscription_create(
        code=" rzz ", name="Zed Trust", scope=[world.hospital, world.other_ward]
    )
    assert subscription.code == "RZZ"
    assert set(subscription.scope.all()) == {world.hospital, world.other_ward}
    event = AuditEvent.objects.get(action="subscription.create")
    assert (event.object_type, event.object_id) == ("subscription", str(subscription.pk))
    assert sorted(event.changes["scope"]) == ["RXX01", "RYY-W1"]
    assert event.actor is None


def test_the_code_finds_an_existing_subscription_whatever_its_case(world: World) -> None:
    assert subscription_for_code(code=" rxx ") == world.subscription
    assert Subscription.objects.count() == 2
    assert not AuditEvent.objects.filter(action="subscription.create").exists()


def test_a_service_code_makes_a_subscription_scoped_to_that_service_once(world: World) -> None:
    made = subscription_for_code(code="rxx01")
    assert (made.code, made.name) == ("RXX01", "Riverside Hospital")
    assert list(made.scope.all()) == [world.hospital]
    assert subscription_for_code(code="RXX01") == made
    assert AuditEvent.objects.filter(action="subscription.create").count() == 1


def test_an_unknown_code_is_refused_and_makes_nothing(world: World) -> None:
    with pytest.raises(ValidationError, match="No organisation or service has the code NOPE"):
        subscription_for_code(code="nope")
    assert Subscription.objects.count() == 2


# --- Staff ---------------------------------------------------------------------------------------


def test_a_new_staff_member_gets_an_account_a_role_and_an_audit_event(world: World) -> None:
    membership = staff_add(
        email="New.Person@Riverside.example",
        subscription=world.subscription,
        role=Role.RESPONDER,
        password=TEST_PASSWORD,
        full_name="Nia New",
        job_title="Sister",
        actor=world.admin,
    )
    user = User.objects.get(pk=membership.user_id)
    assert user.email == "new.person@riverside.example"
    assert (user.full_name, user.job_title) == ("Nia New", "Sister")
    assert user.check_password(TEST_PASSWORD)
    assert user.email_verified_at is not None
    assert (membership.subscription, membership.role, membership.is_active) == (
        world.subscription,
        Role.RESPONDER,
        True,
    )
    event = AuditEvent.objects.get(action="membership.add")
    assert event.actor == world.admin
    assert (event.object_type, event.object_id) == ("membership", str(membership.pk))
    assert event.changes == {"subscription": "RXX", "role": "responder", "user": user.pk}


def test_adding_someone_again_changes_their_role_and_unfreezes_them(world: World) -> None:
    Membership.objects.filter(user=world.member).update(is_active=False)
    membership = staff_add(
        email=world.member.email,
        subscription=world.subscription,
        role=Role.ADMINISTRATOR,
        password=TEST_PASSWORD,
    )
    assert Membership.objects.filter(user=world.member).count() == 1
    assert (membership.role, membership.is_active) == (Role.ADMINISTRATOR, True)
    user = User.objects.get(pk=world.member.pk)
    assert user.full_name == "Mel Member"  # not cleared by an empty name
    event = AuditEvent.objects.get(action="membership.change")
    assert event.changes["role"] == "administrator"


def test_an_author_who_becomes_staff_keeps_their_account_and_stories(world: World) -> None:
    verified_at = world.author.email_verified_at
    membership = staff_add(
        email=world.author.email,
        subscription=world.other_subscription,
        role=Role.MEMBER,
        password=TEST_PASSWORD,
    )
    assert membership.user_id == world.author.pk
    assert User.objects.get(pk=world.author.pk).email_verified_at == verified_at


@pytest.mark.parametrize(
    ("role", "password", "message"),
    [
        ("owner", TEST_PASSWORD, "Role must be one of member, responder, administrator"),
        (Role.RESPONDER, "short", "too short"),
        (Role.RESPONDER, "password1234", "too common"),
    ],
)
def test_a_bad_role_or_password_is_refused_and_changes_nothing(
    world: World, role: str, password: str, message: str
) -> None:
    existing = UserFactory(email="already@riverside.example")
    for email in ("already@riverside.example", "new@riverside.example"):
        with pytest.raises(ValidationError, match=message):
            staff_add(email=email, subscription=world.subscription, role=role, password=password)
    assert not User.objects.filter(email="new@riverside.example").exists()
    existing.refresh_from_db()
    assert not existing.has_usable_password()
    assert not Membership.objects.filter(user=existing).exists()
    assert not AuditEvent.objects.filter(action__startswith="membership.").exists()


# --- manage.py add_staff -------------------------------------------------------------------------


def test_the_command_adds_staff_by_service_code_with_a_password_file(
    world: World, tmp_path: Path
) -> None:
    password_file = tmp_path / "password"
    password_file.write_text(TEST_PASSWORD + "\n")
    out = StringIO()
    call_command(
        "add_staff",
        "ward.manager@riverside.example",
        "--organisation=RXX01",
        "--role=responder",
        "--name=Wendy Ward",
        f"--password-file={password_file}",
        stdout=out,
    )
    membership = Membership.objects.get(user__email="ward.manager@riverside.example")
    assert membership.subscription.code == "RXX01"
    assert membership.user.check_password(TEST_PASSWORD)
    assert "is a responder of Riverside Hospital" in out.getvalue()


def test_the_command_says_why_it_refused(world: World) -> None:
    with pytest.raises(CommandError, match="No organisation or service has the code NOPE"):
        call_command("add_staff", "x@example.org", "--organisation=nope", "--role=member")
