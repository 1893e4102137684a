"""Security basics: headers, caching of private pages, safe GETs, CSRF, redirects, errors,
password hashing."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client
from pytest_django.fixtures import Settings

from carestory import settings as production_settings
from carestory.accounts.models import SignInToken, User
from carestory.accounts.services import moderator_add
from carestory.outbox.models import OutboxMessage
from carestory.stories.models import Story
from carestory.stories.services import story_submit
from conftest import World
from tests.emails import emailed_path, verify_token
from tests.factories import TEST_PASSWORD, StoryFactory, UserFactory, story_draft

pytestmark = pytest.mark.django_db


def _signed_in(user: User, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def _story_form(**overrides: str) -> dict[str, str]:
    data = {
        "service": "RXX01-W1",
        "idempotency_key": str(uuid.uuid4()),
        "title": "Kind nurses",
        "body": "The nurses on the ward were kind.",
        "author_role": "patient",
        "screen_name": "Grateful patient",
        "email": "new.author@example.org",
        "consent": "on",
    }
    data.update(overrides)
    return data


# Headers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/stories/", "/services/RXX/", "/api/v1/stories"])
def test_security_headers_on_public_pages(client: Client, world: World, url: str) -> None:
    response = client.get(url)

    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    directives = {
        part.strip().split()[0]: part.strip().split()[1:] for part in csp.split(";") if part.strip()
    }
    assert directives["default-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Request-Id"]


def test_security_headers_on_the_404_page(client: Client, db: None) -> None:
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_public_page_for_an_anonymous_visitor_may_be_cached(client: Client, world: World) -> None:
    response = client.get("/stories/")

    assert "no-store" not in response.get("Cache-Control", "")


@pytest.mark.parametrize(
    ("persona", "url"),
    [
        ("moderator", "/moderation/"),
        ("author", "/my-stories/"),
        ("responder", "/staff/"),
        ("member", "/staff/"),
        ("admin", "/staff/"),
        # Personalised for a signed-in user ("Respond" button), so also private.
        ("responder", "/stories/"),
    ],
)
def test_private_pages_are_not_stored(world: World, persona: str, url: str) -> None:
    client = _signed_in(getattr(world, persona))

    response = client.get(url)

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("url", ["/moderation/", "/my-stories/", "/staff/"])
def test_private_pages_redirecting_to_sign_in_are_not_stored(
    client: Client, db: None, url: str
) -> None:
    response = client.get(url)

    assert response.status_code == 302
    assert response["Cache-Control"] == "no-store"


def test_story_page_for_a_responder_is_not_stored(world: World) -> None:
    story = StoryFactory(published=True, services=[world.ward])
    client = _signed_in(world.responder)

    response = client.get(f"/stories/{story.public_id}/")

    assert response.status_code == 200
    assert f"/stories/{story.public_id}/respond/" in response.content.decode()
    assert response["Cache-Control"] == "no-store"


# GET never changes state ---------------------------------------------------------------------


def _told_story(world: World) -> Story:
    draft = story_draft(email="new.author@example.org", services=[world.ward])
    return story_submit(draft=draft, idempotency_key=uuid.uuid4()).story


def test_get_on_the_verify_link_does_not_verify(client: Client, world: World) -> None:
    story = _told_story(world)
    token = verify_token()

    for _ in range(3):  # a mail scanner fetching the link, more than once
        response = client.get(f"/verify/{token}/")
        assert response.status_code == 200
        assert 'method="post"' in response.content.decode()

    story.refresh_from_db()
    assert story.status == Story.Status.AWAITING_VERIFICATION
    assert story.verified_at is None
    assert SignInToken.objects.get(story=story).used_at is None
    assert "_auth_user_id" not in client.session
    assert not OutboxMessage.objects.filter(dedupe_key__startswith="story-received:").exists()

    # The button (a POST) does it.
    response = client.post(f"/verify/{token}/")
    assert response.status_code == 200
    story.refresh_from_db()
    assert story.status == Story.Status.IN_MODERATION


def test_head_on_the_verify_link_does_not_verify(client: Client, world: World) -> None:
    story = _told_story(world)

    client.head(f"/verify/{verify_token()}/")

    story.refresh_from_db()
    assert story.status == Story.Status.AWAITING_VERIFICATION


def test_get_on_sign_out_does_not_sign_out(world: World) -> None:
    client = _signed_in(world.responder)

    response = client.get("/sign-out/")

    assert response.status_code == 405
    assert client.get("/staff/").status_code == 200
    assert client.post("/sign-out/").status_code == 302
    assert client.get("/staff/").status_code == 302


def test_get_on_withdraw_shows_a_confirmation_and_changes_nothing(world: World) -> None:
    story = StoryFactory(author=world.author, published=True, services=[world.ward])
    client = _signed_in(world.author)

    response = client.get(f"/my-stories/{story.public_id}/withdraw/")

    assert response.status_code == 200
    text = response.content.decode()
    assert 'method="post"' in text
    assert "Withdraw my story" in text
    story.refresh_from_db()
    assert story.status == Story.Status.PUBLISHED
    assert story.withdrawn_at is None
    assert Client().get(f"/stories/{story.public_id}/").status_code == 200

    client.post(f"/my-stories/{story.public_id}/withdraw/")
    story.refresh_from_db()
    assert story.status == Story.Status.WITHDRAWN


def test_get_on_a_sign_in_link_does_not_use_it(client: Client, world: World) -> None:
    StoryFactory(author=world.author, services=[world.ward])
    client.post("/sign-in/", {"email": "author@example.org"})
    path = emailed_path("sign-in:", "/sign-in/")

    assert client.get(path).status_code == 200
    assert client.get(path).status_code == 200

    assert SignInToken.objects.get(purpose=SignInToken.Purpose.SIGN_IN).used_at is None
    assert "_auth_user_id" not in client.session


# CSRF ----------------------------------------------------------------------------------------


def test_telling_a_story_without_a_csrf_token_is_refused(world: World) -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.post("/tell-your-story/", _story_form())

    assert response.status_code == 403
    assert not Story.objects.exists()
    assert not User.objects.filter(email="new.author@example.org").exists()
    assert not OutboxMessage.objects.exists()


def test_telling_a_story_with_the_form_works(world: World) -> None:
    """The control for the CSRF test above: the same data, posted normally, makes a story."""
    response = Client().post("/tell-your-story/", _story_form())

    assert response.status_code == 302
    assert Story.objects.get().status == Story.Status.AWAITING_VERIFICATION


def test_moderating_without_a_csrf_token_is_refused(world: World) -> None:
    story = StoryFactory(services=[world.ward])
    client = _signed_in(world.moderator, enforce_csrf_checks=True)

    response = client.post(
        f"/moderation/stories/{story.public_id}/",
        {
            "action": "publish",
            "version": story.version,
            "title": story.title,
            "body": story.body,
            "criticality": "1",
            "service_codes": "RXX01-W1",
        },
    )

    assert response.status_code == 403
    story.refresh_from_db()
    assert story.status == Story.Status.IN_MODERATION


def test_withdrawing_without_a_csrf_token_is_refused(world: World) -> None:
    story = StoryFactory(author=world.author, published=True, services=[world.ward])
    client = _signed_in(world.author, enforce_csrf_checks=True)

    response = client.post(f"/my-stories/{story.public_id}/withdraw/")

    assert response.status_code == 403
    story.refresh_from_db()
    assert story.status == Story.Status.PUBLISHED


# Cookies -------------------------------------------------------------------------------------


def test_session_and_csrf_cookies_are_not_readable_by_scripts(world: World) -> None:
    client = Client()
    client.get("/staff/login/")
    response = client.post(
        "/staff/login/",
        {"username": "responder@riverside.example", "password": TEST_PASSWORD},
    )

    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["httponly"]
    assert session["samesite"] == "Lax"
    csrf = client.cookies["csrftoken"]
    assert csrf["httponly"]


def test_signing_in_gives_a_new_session_id(world: World) -> None:
    client = Client()
    client.get("/staff/login/")
    client.session.save()
    before = client.cookies["sessionid"].value

    client.post(
        "/staff/login/",
        {"username": "responder@riverside.example", "password": TEST_PASSWORD},
    )

    assert client.cookies["sessionid"].value != before


# API documentation ---------------------------------------------------------------------------

_ASSET = re.compile(r"""<(?:script|link)\b[^>]*\b(?:src|href)\s*=\s*["']([^"']+)["']""", re.I)
_INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)([^>]*)>", re.I)


def test_api_docs_page_works_under_the_content_security_policy(client: Client, db: None) -> None:
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    text = response.content.decode()
    for url in _ASSET.findall(text):
        assert url.startswith("/") and not url.startswith("//"), url
    for attributes in _INLINE_SCRIPT.findall(text):
        if "application/json" in attributes:
            continue  # data, not code
        nonce = re.search(r"""nonce=["']([^"']+)["']""", attributes)
        assert nonce is not None and f"'nonce-{nonce.group(1)}'" in csp, attributes


# Redirects -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/",
        "http://evil.example/staff/",
        "//evil.example/",
        "/\\evil.example/",
        "https:evil.example",
        "javascript:alert(1)",
    ],
)
def test_staff_login_does_not_redirect_off_site(world: World, next_url: str) -> None:
    client = Client()

    in_query = client.post(
        "/staff/login/?" + f"next={next_url}",
        {"username": "responder@riverside.example", "password": TEST_PASSWORD},
    )
    client.logout()
    in_form = client.post(
        "/staff/login/",
        {
            "username": "responder@riverside.example",
            "password": TEST_PASSWORD,
            "next": next_url,
        },
    )

    for response in (in_query, in_form):
        assert response.status_code == 302
        assert response["Location"] == "/staff/"


def test_staff_login_follows_a_local_next(world: World) -> None:
    response = Client().post(
        "/staff/login/?next=/moderation/",
        {"username": "moderator@example.org", "password": TEST_PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == "/moderation/"


def test_staff_login_with_a_wrong_password_says_so_and_signs_nobody_in(world: World) -> None:
    client = Client()

    response = client.post(
        "/staff/login/", {"username": "responder@riverside.example", "password": "wrong"}
    )

    assert response.status_code == 400
    assert "_auth_user_id" not in client.session
    assert "correct" in response.content.decode().lower()


# Error pages ---------------------------------------------------------------------------------


def test_404_page_does_not_leak_a_traceback(client: Client, db: None, settings: Settings) -> None:
    settings.DEBUG = False

    response = client.get("/no-such-page/anywhere/")

    assert response.status_code == 404
    text = response.content.decode()
    assert "Page not found" in text
    for debug_text in ("Traceback", "URLconf", "urlpatterns", "DEBUG = True", "carestory/"):
        assert debug_text not in text


def test_500_page_does_not_leak_a_traceback(
    db: None, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.DEBUG = False

    def explode(**kwargs: object) -> None:
        raise RuntimeError("secret-internal-detail")

    monkeypatch.setattr("carestory.stories.views.stories_published", explode)
    client = Client(raise_request_exception=False)

    response = client.get("/")

    assert response.status_code == 500
    text = response.content.decode()
    assert "Sorry, there is a problem with the service" in text
    for debug_text in ("Traceback", "secret-internal-detail", "RuntimeError", "carestory/"):
        assert debug_text not in text


# Passwords -----------------------------------------------------------------------------------


@pytest.fixture
def production_hashers(settings: Settings) -> None:
    """The hashers from settings.py (the test suite swaps in a fast one)."""
    settings.PASSWORD_HASHERS = list(production_settings.PASSWORD_HASHERS)
    assert settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_passwords_are_hashed_with_argon2(production_hashers: None, db: None) -> None:
    users = [
        UserFactory(moderator=True),
        UserFactory(staff=True),
        User.objects.create_user("direct@example.org", "another long password 77"),
    ]
    for user in users:
        user.refresh_from_db()
        assert user.password.startswith("argon2"), user.email
        assert "long" not in user.password
        assert "argon2id" in user.password
    assert users[0].check_password(TEST_PASSWORD)


def test_moderator_add_hashes_with_argon2(production_hashers: None, db: None) -> None:
    user = moderator_add(email="new.mod@example.org", password="correct horse battery staple 9")

    user.refresh_from_db()
    assert user.password.startswith("argon2")


def test_authors_have_no_usable_password(world: World) -> None:
    world.author.refresh_from_db()

    assert not world.author.has_usable_password()


def test_an_old_hash_is_upgraded_to_argon2_on_sign_in(
    production_hashers: None, world: World
) -> None:
    user = UserFactory(staff=True, email="old.hash@riverside.example")
    User.objects.filter(pk=user.pk).update(
        password=make_password(TEST_PASSWORD, hasher="pbkdf2_sha256")
    )

    response = Client().post(
        "/staff/login/", {"username": "old.hash@riverside.example", "password": TEST_PASSWORD}
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2")
