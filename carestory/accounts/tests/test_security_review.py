"""Issue 7 (security review): sign-in that nobody can bypass with address variants, that no one
can use to lock out someone else, that covers the admin login, and emailed links that never
give a staff or moderator session."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from carestory.accounts.models import SignInToken, User
from carestory.accounts.services import (
    author_sign_in_request,
    moderator_add,
    sign_in_token_issue,
)
from carestory.audit.models import LoginAttempt
from carestory.lib.tokens import token_from_seed
from carestory.outbox.models import OutboxMessage
from carestory.stories.models import Story
from carestory.stories.services import story_submit
from conftest import World
from tests.factories import TEST_PASSWORD, StoryFactory, UserFactory, story_draft

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:staff_login")
ADMIN_LOGIN = reverse("admin:login")
LIMIT = 5  # failures one client may make on one account in 15 minutes
WRONG = "guess"


def _fullwidth(text: str) -> str:
    """ASCII letters and digits as their fullwidth compatibility forms (NFKC maps them back)."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in text)


def _attempt(client: Client, email: str, password: str = WRONG, **extra: Any) -> int:
    return client.post(LOGIN, {"username": email, "password": password}, **extra).status_code


# One normalisation of addresses ----------------------------------------------------------------


@pytest.mark.parametrize("variant", [_fullwidth, str.upper, lambda e: f"  {e.title()} "])
def test_a_variant_of_a_locked_address_is_locked_too(
    client: Client, world: World, variant: object
) -> None:
    for _ in range(LIMIT):
        _attempt(client, world.responder.email)
    assert callable(variant)
    status = _attempt(client, variant(world.responder.email), TEST_PASSWORD)
    assert status == 429
    assert "_auth_user_id" not in client.session


def test_failures_with_a_variant_count_for_the_address(client: Client, world: World) -> None:
    for _ in range(LIMIT):
        _attempt(client, _fullwidth(world.responder.email))
    assert _attempt(client, world.responder.email, TEST_PASSWORD) == 429


@pytest.mark.parametrize("variant", [_fullwidth, str.upper])
def test_staff_sign_in_with_a_variant_of_their_address(
    client: Client, world: World, variant: object
) -> None:
    assert callable(variant)
    assert _attempt(client, variant(world.responder.email), TEST_PASSWORD) == 302
    assert client.session["_auth_user_id"] == str(world.responder.pk)


# Client identity and lockouts ------------------------------------------------------------------


def test_behind_the_proxy_junk_attempts_lock_out_only_the_attacker(
    world: World, settings: SettingsWrapper
) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    proxy: dict[str, Any] = {"REMOTE_ADDR": "10.0.0.2"}
    attacker = Client(HTTP_X_FORWARDED_FOR="203.0.113.66", **proxy)
    for i in range(60):
        attacker.post(LOGIN, {"username": f"junk{i}@example.org", "password": "guess"})
    for _ in range(LIMIT):
        _attempt(attacker, world.responder.email)
    assert _attempt(attacker, world.responder.email, TEST_PASSWORD) == 429

    # Every other person behind the same proxy signs in, the attacked account included.
    colleague = Client(HTTP_X_FORWARDED_FOR="spoofed, 198.51.100.7", **proxy)
    assert _attempt(colleague, world.responder.email, TEST_PASSWORD) == 302
    assert (
        _attempt(
            Client(HTTP_X_FORWARDED_FOR="198.51.100.8", **proxy), world.admin.email, TEST_PASSWORD
        )
        == 302
    )


def test_without_a_trusted_proxy_the_forwarded_header_is_ignored(
    world: World, settings: SettingsWrapper
) -> None:
    settings.TRUSTED_PROXY_COUNT = 0
    for i in range(LIMIT):
        _attempt(Client(headers={"x-forwarded-for": f"198.51.100.{i}"}), world.responder.email)
    assert (
        _attempt(Client(headers={"x-forwarded-for": "198.51.100.99"}), world.responder.email) == 429
    )


def test_someone_at_the_same_address_cannot_lock_out_a_known_browser(world: World) -> None:
    """A browser that has signed in to the account before keeps its own count."""
    staff = Client()
    assert _attempt(staff, world.responder.email, TEST_PASSWORD) == 302
    staff.post(reverse("accounts:sign_out"))

    attacker = Client()  # same REMOTE_ADDR as the member of staff
    refused = [_attempt(attacker, world.responder.email) for _ in range(100)]
    assert refused.count(429) >= 100 - LIMIT

    assert _attempt(staff, world.responder.email, TEST_PASSWORD) == 302


def test_many_clients_cannot_brute_force_one_account(
    world: World, settings: SettingsWrapper
) -> None:
    """Past a ceiling of failures for one account, unknown clients are slowed to one attempt
    every half minute for that account (never locked out: the owner waits and signs in)."""
    settings.TRUSTED_PROXY_COUNT = 1
    checked = 0
    for i in range(25):
        bot = Client(headers={"x-forwarded-for": f"203.0.113.{i}"})
        statuses = [_attempt(bot, world.responder.email) for _ in range(LIMIT)]
        checked += statuses.count(400)
    assert checked <= 21  # the ceiling (20), then one every 30 seconds

    owner = Client(headers={"x-forwarded-for": "198.51.100.7"})
    slowed = owner.post(LOGIN, {"username": world.responder.email, "password": TEST_PASSWORD})
    assert slowed.status_code == 429
    assert 0 < int(slowed["Retry-After"]) <= 30
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        assert _attempt(owner, world.responder.email, TEST_PASSWORD) == 302


def test_the_lock_ends_and_says_when(client: Client, world: World) -> None:
    for _ in range(LIMIT):
        _attempt(client, world.responder.email)
    locked = client.post(LOGIN, {"username": world.responder.email, "password": TEST_PASSWORD})
    assert locked.status_code == 429
    assert 14 * 60 < int(locked["Retry-After"]) <= 15 * 60
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert _attempt(client, world.responder.email, TEST_PASSWORD) == 302


def test_attempts_are_recorded_without_the_address(client: Client, world: World) -> None:
    _attempt(client, world.responder.email)
    _attempt(client, world.responder.email, TEST_PASSWORD)
    rows = list(LoginAttempt.objects.order_by("id"))
    assert [r.outcome for r in rows] == ["failed", "succeeded"]
    assert all(world.responder.email not in str(vars(r)) for r in rows)
    assert {r.surface for r in rows} == {"staff"}


# The admin login -------------------------------------------------------------------------------


def test_admin_login_is_throttled_and_recorded(client: Client, world: World) -> None:
    boss = UserFactory(email="boss@example.org", is_staff=True, is_superuser=True)
    boss.set_password(TEST_PASSWORD)
    boss.save()
    for _ in range(LIMIT):
        response = client.post(ADMIN_LOGIN, {"username": boss.email, "password": "guess"})
        assert response.status_code == 200
    assert LoginAttempt.objects.filter(surface="admin", outcome="failed").count() == LIMIT
    locked = client.post(
        ADMIN_LOGIN, {"username": _fullwidth(boss.email), "password": TEST_PASSWORD}
    )
    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_admin_login_records_success(client: Client, world: World) -> None:
    boss = UserFactory(email="boss@example.org", is_staff=True, is_superuser=True)
    boss.set_password(TEST_PASSWORD)
    boss.save()
    response = client.post(ADMIN_LOGIN, {"username": boss.email, "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert LoginAttempt.objects.filter(surface="admin", outcome="succeeded").count() == 1


def test_failures_on_one_login_count_on_the_other(client: Client, world: World) -> None:
    boss = UserFactory(email="boss@example.org", is_staff=True, is_superuser=True)
    boss.set_password(TEST_PASSWORD)
    boss.save()
    for _ in range(LIMIT):
        _attempt(client, boss.email)
    locked = client.post(ADMIN_LOGIN, {"username": boss.email, "password": TEST_PASSWORD})
    assert locked.status_code == 429


# Emailed links never make a staff session --------------------------------------------------------


def _staff_accounts(world: World) -> list[User]:
    boss = UserFactory(email="boss@example.org", is_staff=True)
    root = UserFactory(email="root@example.org", is_superuser=True)
    return [world.moderator, world.responder, world.member, boss, root]


def test_no_author_link_is_sent_to_a_staff_account(world: World) -> None:
    for user in _staff_accounts(world):
        StoryFactory(author=user, services=[world.ward])
        author_sign_in_request(email=user.email)
    assert not OutboxMessage.objects.exists()
    StoryFactory(author=world.author, services=[world.ward])
    author_sign_in_request(email=world.author.email)
    assert OutboxMessage.objects.count() == 1


def test_a_sign_in_link_for_a_staff_account_is_refused(client: Client, world: World) -> None:
    for user in _staff_accounts(world):
        _, seed = sign_in_token_issue(user=user, purpose=SignInToken.Purpose.SIGN_IN)
        path = reverse("accounts:sign_in_confirm", args=[token_from_seed(seed)])
        shown = client.get(path)
        assert shown.status_code == 403
        assert "sign in with your password" in shown.content.decode()
        response = client.post(path)
        assert response.status_code == 403
        assert reverse("accounts:staff_login") in response.content.decode()
        assert "_auth_user_id" not in client.session


def test_confirming_a_story_told_with_a_staff_address_gives_no_session(
    client: Client, world: World
) -> None:
    """Anyone can tell a story with a staff address; the link goes to that inbox, and following
    it confirms the story but signs nobody in."""
    draft = story_draft(email=world.admin.email.upper(), services=[world.ward])
    story = story_submit(draft=draft, idempotency_key=uuid.uuid4()).story
    assert story.author_id == world.admin.pk
    _, seed = sign_in_token_issue(
        user=world.admin, purpose=SignInToken.Purpose.VERIFY_STORY, story_id=story.pk
    )
    response = client.post(reverse("stories:verify", args=[token_from_seed(seed)]))
    assert response.status_code == 200
    assert reverse("accounts:staff_login") in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert Story.objects.get(pk=story.pk).status == Story.Status.IN_MODERATION


def test_an_author_link_still_signs_an_author_in(client: Client, world: World) -> None:
    _, seed = sign_in_token_issue(user=world.author, purpose=SignInToken.Purpose.SIGN_IN)
    path = reverse("accounts:sign_in_confirm", args=[token_from_seed(seed)])
    assert client.post(path).status_code == 302
    assert client.session["_auth_user_id"] == str(world.author.pk)


def test_every_session_is_made_by_the_one_sign_in_module() -> None:
    """django.contrib.auth.login is called in one place, which refuses link sessions to staff."""
    root = Path(__file__).resolve().parents[2]
    allowed = {root / "accounts" / "signin.py"}
    offenders = []
    for path in root.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts or path in allowed:
            continue
        text = path.read_text(encoding="utf-8")
        if "import login" in text or "auth.login" in text or "auth_login" in text:
            offenders.append(str(path.relative_to(root)))
    assert offenders == []


@pytest.mark.parametrize("promote", ["flag", "moderator_add"])
def test_a_link_session_ends_when_the_account_becomes_staff(
    client: Client, world: World, promote: str
) -> None:
    StoryFactory(author=world.author, services=[world.ward])
    _, seed = sign_in_token_issue(user=world.author, purpose=SignInToken.Purpose.SIGN_IN)
    client.post(reverse("accounts:sign_in_confirm", args=[token_from_seed(seed)]))
    assert client.get(reverse("stories:my_stories")).status_code == 200
    if promote == "flag":  # e.g. ticked in the admin, no new password
        User.objects.filter(pk=world.author.pk).update(is_staff=True)
    else:
        moderator_add(email=world.author.email, password=TEST_PASSWORD)
    assert client.get(reverse("stories:my_stories")).status_code == 302
    assert "_auth_user_id" not in client.session
