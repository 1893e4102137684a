"""Shared pytest fixtures: personas, the local SMTP sink and settings for tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pytest_django.fixtures import Settings

from carestory.outbox.testing import SmtpSink

if TYPE_CHECKING:
    from carestory.accounts.models import User
    from carestory.subscriptions.models import Subscription

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# around it are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# The SQLite test database is a file under var/ (see settings.py).
(Path(__file__).resolve().parent / "var").mkdir(exist_ok=True)


@pytest.fixture(autouse=True)
def _force_login_is_a_finished_sign_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """``client.force_login`` stands for a finished staff sign-in, second factor included
    (tests of the sign-in itself go through the real pages: accounts/tests/test_mfa.py)."""
    from django.test import Client

    from tests.mfa import mark_signed_in

    force_login = Client.force_login

    def signed_in(self: Client, user: Any, backend: str | None = None) -> None:
        force_login(self, user, backend)
        mark_signed_in(self)

    monkeypatch.setattr(Client, "force_login", signed_in)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Settings) -> None:
    """Argon2 is deliberately slow; tests that check the production hasher set it back."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def smtp_sink(settings: Settings) -> Iterator[SmtpSink]:
    """A real SMTP server on 127.0.0.1 that Django's mail settings point at.

    ``sink.stop()`` makes SMTP "down" (connection refused); ``sink.start()`` brings it back on
    the same port. Received messages: ``sink.messages``, ``sink.wait_for(n)``, ``sink.find()``.
    """
    sink = SmtpSink()
    sink.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = sink.host
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    try:
        yield sink
    finally:
        sink.stop()


class World:
    """The personas every permission test uses (healthchecks' Alice/Bob/Charlie)."""

    def __init__(self) -> None:
        from carestory.stories.models import Tag
        from carestory.stories.vocabulary import tags_ensure
        from carestory.subscriptions.models import Membership

        tags_ensure(Tag)  # a transactional test before this one may have flushed them
        from tests.factories import (
            MembershipFactory,
            ServiceFactory,
            SubscriptionFactory,
            UserFactory,
        )

        self.trust = ServiceFactory(code="RXX", name="Riverside NHS Trust", kind="trust")
        self.hospital = ServiceFactory(
            code="RXX01", name="Riverside Hospital", kind="hospital", parent=self.trust
        )
        self.ward = ServiceFactory(code="RXX01-W1", name="Ward 1", parent=self.hospital)
        self.other_trust = ServiceFactory(code="RYY", name="Hilltop NHS Trust", kind="trust")
        self.other_ward = ServiceFactory(
            code="RYY-W1", name="Hilltop Ward", parent=self.other_trust
        )
        self.closed = ServiceFactory(
            code="RXX99", name="Old Clinic", parent=self.trust, is_open=False
        )
        self.subscription = SubscriptionFactory(
            code="RXX", name="Riverside NHS Trust", scope=[self.trust]
        )
        self.other_subscription = SubscriptionFactory(
            code="RYY", name="Hilltop NHS Trust", scope=[self.other_trust]
        )
        self.author = UserFactory(email="author@example.org")
        self.moderator = UserFactory(moderator=True, email="moderator@example.org")

        def staff(
            subscription: Subscription, role: str, email: str, name: str, **more: str
        ) -> User:
            """A new staff user, ``email`` and full ``name``, with ``role`` in ``subscription``."""
            user = UserFactory(staff=True, email=email, full_name=name, **more)
            return MembershipFactory(subscription=subscription, role=role, user=user).user

        riverside, hilltop, roles = self.subscription, self.other_subscription, Membership.Role
        self.responder = staff(
            riverside,
            roles.RESPONDER,
            "responder@riverside.example",
            "Rita Responder",
            job_title="Matron",
        )
        self.admin = staff(riverside, roles.ADMINISTRATOR, "admin@riverside.example", "Adam Admin")
        self.member = staff(riverside, roles.MEMBER, "member@riverside.example", "Mel Member")
        self.other_responder = staff(
            hilltop, roles.RESPONDER, "responder@hilltop.example", "Olly Other"
        )
        self.reader = UserFactory(email="reader@example.org")


@pytest.fixture
def world(db: None) -> World:
    return World()
