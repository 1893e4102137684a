"""Staff MFA: enrolment, the second sign-in step, recovery codes, replay, the throttle, the
roles that cannot skip it, and the staff password reset."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from carestory.accounts.mfa import mfa_enrol_begin, mfa_enrol_confirm, mfa_required
from carestory.accounts.models import MFADevice, RecoveryCode, User
from carestory.accounts.throttle import MAX_CODE_FAILURES_PER_ACCOUNT_AND_CLIENT
from carestory.audit.models import AuditEvent
from carestory.outbox.models import OutboxMessage
from carestory.subscriptions.models import Membership
from conftest import World
from tests.emails import emailed_path
from tests.factories import TEST_PASSWORD, UserFactory
from tests.mfa import TEST_SECRET, mfa_code, mfa_enrol

pytestmark = pytest.mark.django_db
LOGIN = reverse("accounts:staff_login")
VERIFY = reverse("accounts:mfa_verify")
ENROL = reverse("accounts:mfa_enrol")
MODERATION = reverse("moderation:queue")
DASHBOARD = reverse("subscriptions:dashboard")


def password_sign_in(client: Client, user: User, *, next_url: str = DASHBOARD) -> None:
    response = client.post(
        LOGIN, {"username": user.email, "password": TEST_PASSWORD, "next": next_url}
    )
    assert response.status_code == 302, response.content.decode()[:500]


def enrolled_codes(user: User) -> list[str]:
    """Enrol through the service (as the page does) and return the recovery codes."""
    import pyotp

    secret = mfa_enrol_begin(user=user)
    return mfa_enrol_confirm(user=user, code=pyotp.TOTP(secret).now())


def actions(user: User) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="user", object_id=str(user.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


# Who needs it ---------------------------------------------------------------------------------


def test_required_for_moderators_staff_and_administrators_only(world: World) -> None:
    superuser = UserFactory(is_superuser=True, is_staff=True, full_name="Sue Per")
    assert mfa_required(world.moderator)
    assert mfa_required(world.admin)
    assert mfa_required(superuser)
    assert not mfa_required(world.responder)
    assert not mfa_required(world.member)
    # A frozen administrator's membership does not count.
    Membership.objects.filter(user=world.admin).update(is_active=False)
    assert not mfa_required(world.admin)


@pytest.mark.parametrize("persona", ["moderator", "admin", "superuser"])
def test_a_required_role_cannot_skip_enrolment(client: Client, world: World, persona: str) -> None:
    if persona == "superuser":
        user = UserFactory(is_superuser=True, is_staff=True, full_name="Sue Per")
    else:
        user = getattr(world, persona)
    password_sign_in(client, user)
    for path in (DASHBOARD, MODERATION, "/admin/", reverse("accounts:mfa_manage")):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith(ENROL), path
    assert client.post(reverse("accounts:mfa_disable")).status_code == 302
    # Enrolling is the way on: then the pages open.
    page = client.get(ENROL)
    assert page.status_code == 200
    secret = MFADevice.objects.get(user=user).secret
    import pyotp

    done = client.post(ENROL, {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    assert client.get(reverse("accounts:mfa_manage")).status_code == 200


def test_someone_made_administrator_mid_session_must_enrol(client: Client, world: World) -> None:
    password_sign_in(client, world.responder)
    assert client.get(DASHBOARD).status_code == 200  # optional: no second step
    Membership.objects.filter(user=world.responder).update(role=Membership.Role.ADMINISTRATOR)
    response = client.get(DASHBOARD)
    assert response.status_code == 302 and response["Location"].startswith(ENROL)


# Enrolment ----------------------------------------------------------------------------------


def test_enrolment_shows_a_local_qr_code_then_ten_recovery_codes(
    client: Client, world: World
) -> None:
    password_sign_in(client, world.responder)
    page = client.get(ENROL)
    html = page.content.decode()
    assert page.status_code == 200
    assert 'src="data:image/svg+xml' in html  # drawn here; the CSP allows data: images
    secret = MFADevice.objects.get(user=world.responder).secret
    assert " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in html

    wrong = client.post(ENROL, {"code": "000000"})
    assert wrong.status_code == 400
    assert "That code is not right" in wrong.content.decode()
    assert MFADevice.objects.get(user=world.responder).confirmed_at is None

    import pyotp

    done = client.post(ENROL, {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    codes = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", done.content.decode())
    assert len(codes) == 10 == len(set(codes))
    stored = set(
        RecoveryCode.objects.filter(user=world.responder).values_list("code_hash", flat=True)
    )
    assert len(stored) == 10 and not stored & set(codes)  # kept hashed only
    assert MFADevice.objects.get(user=world.responder).confirmed_at is not None
    assert actions(world.responder) == ["mfa.enrol"]
    # Shown once: the settings page has only the count.
    settings_page = client.get(reverse("accounts:mfa_manage")).content.decode()
    assert codes[0] not in settings_page and "10 of 10" in settings_page


# Signing in with a code --------------------------------------------------------------------


def test_sign_in_needs_the_code_then_opens_the_pages(client: Client, world: World) -> None:
    mfa_enrol(world.moderator)
    password_sign_in(client, world.moderator, next_url=MODERATION)
    blocked = client.get(MODERATION)
    assert blocked.status_code == 302 and blocked["Location"].startswith(VERIFY)
    assert client.get(VERIFY).status_code == 200
    assert client.post(VERIFY, {"code": "123456", "next": MODERATION}).status_code == 400
    assert client.get(MODERATION).status_code == 302
    ok = client.post(VERIFY, {"code": mfa_code(world.moderator), "next": MODERATION})
    assert ok.status_code == 302 and ok["Location"] == MODERATION
    assert client.get(MODERATION).status_code == 200


def test_a_used_code_cannot_be_replayed(client: Client, world: World) -> None:
    mfa_enrol(world.moderator)
    code = mfa_code(world.moderator)
    password_sign_in(client, world.moderator)
    assert client.post(VERIFY, {"code": code}).status_code == 302
    other = Client()
    password_sign_in(other, world.moderator)
    replay = other.post(VERIFY, {"code": code})
    assert replay.status_code == 400
    assert other.get(MODERATION).status_code == 302


def test_a_recovery_code_works_once_and_is_audited(client: Client, world: World) -> None:
    codes = enrolled_codes(world.moderator)
    password_sign_in(client, world.moderator)
    used = client.post(VERIFY, {"code": codes[3].upper()})  # case and dash do not matter
    assert used.status_code == 200
    assert "9 recovery codes left" in used.content.decode()
    assert client.get(MODERATION).status_code == 200
    assert actions(world.moderator) == ["mfa.enrol", "mfa.recovery_used"]

    again = Client()
    password_sign_in(again, world.moderator)
    assert again.post(VERIFY, {"code": codes[3]}).status_code == 400
    assert again.post(VERIFY, {"code": codes[4]}).status_code == 200


def test_new_recovery_codes_replace_the_old_ones(client: Client, world: World) -> None:
    old = enrolled_codes(world.moderator)
    password_sign_in(client, world.moderator)
    client.post(VERIFY, {"code": mfa_code(world.moderator)})
    page = client.post(reverse("accounts:mfa_recovery"))
    new = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", page.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    other = Client()
    password_sign_in(other, world.moderator)
    assert other.post(VERIFY, {"code": old[0]}).status_code == 400
    assert other.post(VERIFY, {"code": new[0]}).status_code == 200
    assert "mfa.recovery_codes_regenerated" in actions(world.moderator)


def test_only_optional_users_may_turn_it_off(client: Client, world: World) -> None:
    mfa_enrol(world.moderator)
    password_sign_in(client, world.moderator)
    client.post(VERIFY, {"code": mfa_code(world.moderator)})
    assert client.post(reverse("accounts:mfa_disable")).status_code == 404
    assert MFADevice.objects.filter(user=world.moderator).exists()

    responder = Client()
    enrolled_codes(world.responder)
    password_sign_in(responder, world.responder)
    assert responder.get(DASHBOARD).status_code == 302  # enrolled: the code is due
    responder.post(VERIFY, {"code": mfa_code(world.responder)})
    assert responder.post(reverse("accounts:mfa_disable")).status_code == 302
    assert not MFADevice.objects.filter(user=world.responder).exists()
    assert not RecoveryCode.objects.filter(user=world.responder).exists()
    assert actions(world.responder) == ["mfa.enrol", "mfa.disable"]


# The throttle --------------------------------------------------------------------------------


def test_wrong_codes_from_one_client_do_not_lock_out_another(world: World) -> None:
    mfa_enrol(world.moderator)
    attacker = Client(REMOTE_ADDR="203.0.113.9")  # knows the password, not the app
    password_sign_in(attacker, world.moderator)
    for _ in range(MAX_CODE_FAILURES_PER_ACCOUNT_AND_CLIENT):
        assert attacker.post(VERIFY, {"code": "111111"}).status_code == 400
    refused = attacker.post(VERIFY, {"code": mfa_code(world.moderator)})
    assert refused.status_code == 429 and refused["Retry-After"]
    assert "Too many failed attempts" in refused.content.decode()
    assert attacker.get(MODERATION).status_code == 302

    victim = Client(REMOTE_ADDR="198.51.100.7")
    password_sign_in(victim, world.moderator)
    assert victim.post(VERIFY, {"code": mfa_code(world.moderator)}).status_code == 302
    assert victim.get(MODERATION).status_code == 200

    # The attacker's client waits out the window, then may try again.
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert attacker.post(VERIFY, {"code": "111111"}).status_code == 400


def test_the_device_cookie_comes_only_after_the_second_step(world: World) -> None:
    mfa_enrol(world.moderator)
    client = Client()
    response = client.post(LOGIN, {"username": world.moderator.email, "password": TEST_PASSWORD})
    assert "device" not in response.cookies
    done = client.post(VERIFY, {"code": mfa_code(world.moderator)})
    assert "device" in done.cookies


# Password reset -----------------------------------------------------------------------------


def test_password_reset_answers_alike_and_emails_through_the_outbox(
    client: Client, world: World
) -> None:
    reset = reverse("accounts:password_reset")
    known = client.post(reset, {"email": world.moderator.email})
    unknown = client.post(reset, {"email": "nobody@example.org"})
    author = client.post(reset, {"email": world.author.email})
    assert known.status_code == unknown.status_code == author.status_code == 200
    assert known.content == unknown.content == author.content
    assert OutboxMessage.objects.count() == 1  # queued, not sent inline
    message = OutboxMessage.objects.get()
    assert message.to_email == world.moderator.email
    assert actions(world.moderator) == ["account.password_reset_requested"]


def test_a_reset_link_sets_the_password_once_and_mfa_still_applies(world: World) -> None:
    mfa_enrol(world.moderator)
    client = Client()
    client.post(reverse("accounts:password_reset"), {"email": world.moderator.email})
    link = emailed_path("password-reset:", "/staff/password-reset/")
    assert client.get(link).status_code == 200
    mismatch = client.post(link, {"new_password1": "a long new pass phrase", "new_password2": "x"})
    assert mismatch.status_code == 400
    weak = client.post(link, {"new_password1": "password", "new_password2": "password"})
    assert weak.status_code == 400
    new = "correct horse battery staple 42"
    done = client.post(link, {"new_password1": new, "new_password2": new})
    assert done.status_code == 200
    assert "_auth_user_id" not in client.session  # a reset signs nobody in
    assert client.get(link).status_code == 404  # single use

    signed = client.post(LOGIN, {"username": world.moderator.email, "password": new})
    assert signed.status_code == 302
    assert client.get(MODERATION)["Location"].startswith(VERIFY)  # MFA is not bypassed
    assert actions(world.moderator) == [
        "account.password_reset_requested",
        "account.password_reset_completed",
    ]


def test_audit_events_carry_no_secret_or_code(client: Client, world: World) -> None:
    codes = enrolled_codes(world.moderator)
    password_sign_in(client, world.moderator)
    client.post(VERIFY, {"code": codes[0]})
    client.post(reverse("accounts:mfa_recovery"))
    secret = MFADevice.objects.get(user=world.moderator).secret
    for event in AuditEvent.objects.all():
        text = f"{event.changes} {event.reason}"
        assert secret not in text and TEST_SECRET not in text
        assert not any(code in text for code in codes)


def test_a_session_from_before_mfa_must_give_the_second_factor(
    client: Client, world: World
) -> None:
    """A session with no second-step state (signed in before MFA existed) proves nothing: an
    enrolled moderator is asked for a code, one not yet enrolled is sent to enrol; an author's
    link session and a staff member who needs no MFA go on."""
    from django.contrib.auth import SESSION_KEY

    from carestory.accounts.signin import SESSION_MFA_KEY

    def unmarked(user: User) -> Client:
        c = Client()
        c.force_login(user)
        session = c.session
        del session[SESSION_MFA_KEY]
        session.save()
        assert session[SESSION_KEY] == str(user.pk)
        return c

    mfa_enrol(world.moderator)
    asked = unmarked(world.moderator).get(reverse("moderation:queue"))
    assert asked.status_code == 302 and asked["Location"].startswith(reverse("accounts:mfa_verify"))
    enrol = unmarked(world.admin).get(DASHBOARD)
    assert enrol.status_code == 302 and enrol["Location"].startswith(ENROL)
    assert unmarked(world.responder).get(DASHBOARD).status_code == 200
