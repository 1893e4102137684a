"""Addresses are stored, looked up and compared in one normal form, by every path."""

from __future__ import annotations

import importlib
import uuid

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction

from carestory.accounts.models import User
from carestory.accounts.services import author_get_or_create
from carestory.stories.services import IdempotencyConflict, StoryDraft, story_submit
from conftest import World
from tests.factories import story_draft

pytestmark = pytest.mark.django_db


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


FULLWIDTH = _fullwidth("MIXED@Example.org")


def test_every_way_of_storing_an_address_stores_the_normal_form() -> None:
    made = User.objects.create_user("  Mixed@Example.ORG ")
    assert made.email == "mixed@example.org"

    saved = User(email=_fullwidth("saved@Example.org"))
    saved.set_unusable_password()
    saved.save()
    saved.refresh_from_db()
    assert saved.email == "saved@example.org"

    (bulk,) = User.objects.bulk_create([User(email="Bulk@Example.org", password="!")])
    assert User.objects.filter(pk=bulk.pk).values_list("email", flat=True).get() == (
        "bulk@example.org"
    )

    User.objects.filter(pk=made.pk).update(email="UPDATED@example.org")
    assert User.objects.filter(pk=made.pk).values_list("email", flat=True).get() == (
        "updated@example.org"
    )

    cleaned = User(email="Cleaned@Example.org")
    cleaned.clean()
    assert cleaned.email == "cleaned@example.org"


def test_a_variant_is_the_same_account() -> None:
    user = User.objects.create_user("mixed@example.org")
    assert User.objects.get_by_email(FULLWIDTH) == user
    assert User.objects.get(email=" MIXED@example.org") == user
    assert author_get_or_create(email=FULLWIDTH) == user
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("Mixed@Example.org")
    assert User.objects.count() == 1


def test_a_story_told_with_a_variant_belongs_to_the_same_author(world: World) -> None:
    def draft(email: str) -> StoryDraft:
        return story_draft(email=email, services=[world.ward])

    key = uuid.uuid4()
    first = story_submit(draft=draft("author@example.org".upper()), idempotency_key=key)
    assert first.story.author == world.author
    again = story_submit(draft=draft(" Author@Example.org"), idempotency_key=key)
    assert again.story == first.story and not again.created
    with pytest.raises(IdempotencyConflict):
        story_submit(draft=draft("other@example.org"), idempotency_key=key)


def _migration() -> object:
    return importlib.import_module(
        "carestory.accounts.migrations.0004_normalised_emails_rate_limits"
    )


def _plant(email: str) -> int:
    """A row as an older version stored it (raw SQL: the model would normalise it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO accounts_user (password, is_superuser, email, full_name, job_title, "
            "is_active, is_staff, is_moderator, is_senior_moderator, date_joined) "
            "VALUES ('!', %s, %s, '', '', %s, %s, %s, %s, CURRENT_TIMESTAMP)",
            [False, email, True, False, False, False],
        )
    return User.objects.values_list("pk", flat=True).order_by("-pk").first() or 0


def test_the_migration_normalises_stored_addresses() -> None:
    pk = _plant("Old.Style@EXAMPLE.org")
    _migration().normalise_stored_emails(apps, None)  # type: ignore[attr-defined]
    assert User.objects.values_list("email", flat=True).get(pk=pk) == "old.style@example.org"


def test_the_migration_stops_on_addresses_that_would_collide() -> None:
    first = _plant("twin@example.org")
    second = _plant("TWIN@example.org")
    with pytest.raises(RuntimeError) as raised:
        _migration().normalise_stored_emails(apps, None)  # type: ignore[attr-defined]
    message = str(raised.value)
    assert f"[{first}, {second}]" in message
    assert "twin" not in message.lower()  # ids, never addresses
