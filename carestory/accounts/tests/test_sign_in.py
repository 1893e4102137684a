from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from carestory.accounts.models import SignInToken
from carestory.accounts.services import SIGN_IN_LINKS_PER_HOUR, author_sign_in_request
from carestory.outbox.models import OutboxMessage
from conftest import World
from tests.emails import emailed_path
from tests.factories import StoryFactory

pytestmark = pytest.mark.django_db


def test_sign_in_link_for_an_author(client: Client, world: World) -> None:
    StoryFactory(author=world.author, services=[world.ward], original_title="My first story")
    response = client.post(reverse("accounts:sign_in"), {"email": "AUTHOR@example.org "})
    assert response.status_code == 200
    message = OutboxMessage.objects.get(dedupe_key__startswith="sign-in:")
    assert message.to_email == world.author.email
    path = emailed_path("sign-in:", "/sign-in/")
    assert client.get(path).status_code == 200  # a confirmation page: scanners cannot use it
    assert client.post(path).status_code == 302
    assert "My first story" in client.get(reverse("stories:my_stories")).content.decode()
    client.logout()
    assert client.post(path).status_code == 404  # single use


def test_unknown_and_known_addresses_get_the_same_answer(client: Client, world: World) -> None:
    StoryFactory(author=world.author, services=[world.ward])
    known = client.post(reverse("accounts:sign_in"), {"email": world.author.email})
    unknown = client.post(reverse("accounts:sign_in"), {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert known.content == unknown.content
    assert OutboxMessage.objects.count() == 1


def test_staff_without_stories_get_no_author_link(world: World) -> None:
    author_sign_in_request(email=world.responder.email)
    assert not OutboxMessage.objects.exists()


def test_bad_email_is_explained(client: Client) -> None:
    response = client.post(reverse("accounts:sign_in"), {"email": "nope"})
    assert response.status_code == 400
    assert "Enter an email address in the correct format" in response.content.decode()


def test_links_are_limited_per_hour(world: World) -> None:
    StoryFactory(author=world.author, services=[world.ward])
    for _ in range(SIGN_IN_LINKS_PER_HOUR + 3):
        author_sign_in_request(email=world.author.email)
    assert SignInToken.objects.filter(purpose="sign_in").count() == SIGN_IN_LINKS_PER_HOUR
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        author_sign_in_request(email=world.author.email)
    assert SignInToken.objects.filter(purpose="sign_in").count() == SIGN_IN_LINKS_PER_HOUR + 1


def test_expired_link_does_not_sign_in(client: Client, world: World) -> None:
    StoryFactory(author=world.author, services=[world.ward])
    author_sign_in_request(email=world.author.email)
    path = emailed_path("sign-in:", "/sign-in/")
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert client.post(path).status_code == 404
    assert client.get(reverse("stories:my_stories")).status_code == 302
