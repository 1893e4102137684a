from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from carestory.accounts.throttle import (
    MAX_FAILURES_PER_ACCOUNT_AND_CLIENT as MAX_FAILURES_PER_ADDRESS,
)
from carestory.audit.models import LoginAttempt
from conftest import World
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db
LOGIN = reverse("accounts:staff_login")


def test_staff_sign_in_and_record(client: Client, world: World) -> None:
    response = client.post(LOGIN, {"username": world.responder.email, "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert LoginAttempt.objects.filter(outcome="succeeded").count() == 1
    # The address is not stored in clear.
    assert not LoginAttempt.objects.filter(email_hash=world.responder.email).exists()


def test_wrong_password_is_refused_with_a_message(client: Client, world: World) -> None:
    response = client.post(LOGIN, {"username": world.responder.email, "password": "wrong one"})
    assert response.status_code == 400
    assert "There is a problem" in response.content.decode()
    assert "wrong one" not in response.content.decode()


def test_too_many_failures_lock_for_a_while_then_unlock(client: Client, world: World) -> None:
    for _ in range(MAX_FAILURES_PER_ADDRESS):
        client.post(LOGIN, {"username": world.responder.email, "password": "guess"})
    locked = client.post(LOGIN, {"username": world.responder.email, "password": TEST_PASSWORD})
    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        ok = client.post(LOGIN, {"username": world.responder.email, "password": TEST_PASSWORD})
        assert ok.status_code == 302


def test_lockout_is_per_address(client: Client, world: World) -> None:
    for _ in range(MAX_FAILURES_PER_ADDRESS):
        client.post(LOGIN, {"username": world.responder.email, "password": "guess"})
    other = client.post(LOGIN, {"username": world.admin.email, "password": TEST_PASSWORD})
    assert other.status_code == 302


def test_forwarded_for_header_does_not_change_the_key(client: Client, world: World) -> None:
    for i in range(MAX_FAILURES_PER_ADDRESS):
        client.post(
            LOGIN,
            {"username": world.responder.email, "password": "guess"},
            HTTP_X_FORWARDED_FOR=f"10.0.0.{i}",
        )
    locked = client.post(
        LOGIN,
        {"username": world.responder.email, "password": TEST_PASSWORD},
        HTTP_X_FORWARDED_FOR="10.9.9.9",
    )
    assert locked.status_code == 429
