"""Emails are rendered when sent: the database never holds a working link, and sent rows forget
their content after the retention period."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.apps import apps
from django.core import mail, serializers
from django.utils import timezone, translation

from carestory.accounts.models import SignInToken
from carestory.lib.tokens import hash_token, token_from_seed
from carestory.outbox.models import OutboxMessage
from carestory.outbox.services import (
    email_enqueue,
    outbox_drain,
    outbox_purge,
    outbox_render,
    outbox_requeue,
)
from carestory.stories.services import story_submit
from carestory.stories.tests.test_services import draft
from conftest import World

pytestmark = pytest.mark.django_db

Status = OutboxMessage.Status


def _database_text() -> str:
    """Every row of every table, serialised: what a copy of the database would give away."""
    parts = []
    for model in apps.get_models():
        parts.append(serializers.serialize("json", model._default_manager.all()))
    return "\n".join(parts)


def _link_token(body: str, prefix: str) -> str:
    line = next(line for line in body.splitlines() if prefix in line)
    return line.strip().rstrip("/").rsplit("/", 1)[-1]


def test_a_copy_of_the_database_holds_no_working_link_before_or_after_sending(
    world: World, settings: object
) -> None:
    story = story_submit(draft=draft(world), idempotency_key=uuid.uuid4()).story
    message = OutboxMessage.objects.get(dedupe_key__startswith="story-verify:")
    token = _link_token(outbox_render(message).body_text, "/verify/")
    assert SignInToken.objects.filter(token_hash=hash_token(token), story=story).exists()
    assert token not in _database_text()  # queued: only a seed, which needs the SECRET_KEY

    outbox_drain()
    sent = next(m for m in mail.outbox if "/verify/" in m.body)
    assert _link_token(str(sent.body), "/verify/") == token  # the emailed link is the real one
    assert token not in _database_text()
    message.refresh_from_db()
    assert message.status == Status.SENT
    # The seed is forgotten once the email is sent: nothing can make that link again.
    assert message.context["link"] == {"$secret_link": "sent"}


def test_the_token_needs_the_secret_key(settings: object) -> None:
    seed = "a-seed-from-a-stolen-database"
    first = token_from_seed(seed)
    settings.SECRET_KEY = "another-secret-key-entirely-" + "x" * 30  # type: ignore[attr-defined]
    assert token_from_seed(seed) != first


def test_a_retry_sends_the_same_link(world: World) -> None:
    story_submit(draft=draft(world), idempotency_key=uuid.uuid4())
    message = OutboxMessage.objects.get(dedupe_key__startswith="story-verify:")
    assert outbox_render(message).body_text == outbox_render(message).body_text


def test_the_email_is_rendered_in_the_language_it_was_queued_in(world: World) -> None:
    with translation.override("cy"):
        message = email_enqueue(
            dedupe_key="lang:1", to="a@example.org", template="outbox_test", context={"title": "x"}
        )
    assert message is not None
    assert message.language == "cy"


def test_rows_queued_before_send_time_rendering_are_sent_as_they_are() -> None:
    legacy = OutboxMessage.objects.create(
        kind=OutboxMessage.Kind.EMAIL,
        dedupe_key="legacy:1",
        to_email="old@example.org",
        subject="Old subject",
        body_text="Old body",
    )
    outbox_drain()
    assert [(m.subject, m.body) for m in mail.outbox] == [("Old subject", "Old body")]
    legacy.refresh_from_db()
    assert legacy.status == Status.SENT
    assert legacy.body_text == ""  # and forgotten once sent


def test_context_must_be_json_values_or_aware_datetimes() -> None:
    for value in ({1, 2}, object(), timezone.now().replace(tzinfo=None)):
        with pytest.raises(TypeError):
            email_enqueue(
                dedupe_key="bad:1",
                to="a@example.org",
                template="outbox_test",
                context={"when": value},
            )
    assert not OutboxMessage.objects.exists()
    from carestory.outbox.services import _expand_secret_links

    now = timezone.now()
    message = email_enqueue(
        dedupe_key="ok:1", to="a@example.org", template="outbox_test", context={"when": now}
    )
    assert message is not None
    message.refresh_from_db()
    assert _expand_secret_links(message.context) == {"when": now}


def test_a_missing_template_is_refused_when_queued_not_when_sent() -> None:
    from django.template import TemplateDoesNotExist

    with pytest.raises(TemplateDoesNotExist):
        email_enqueue(dedupe_key="bad:2", to="a@example.org", template="no_such", context={})


def test_purge_forgets_address_and_content_of_old_finished_rows(settings: object) -> None:
    settings.OUTBOX_RETENTION_DAYS = 30  # type: ignore[attr-defined]
    old = email_enqueue(
        dedupe_key="old:1", to="a@example.org", template="outbox_test", context={"title": "t"}
    )
    recent = email_enqueue(
        dedupe_key="new:1", to="b@example.org", template="outbox_test", context={"title": "t"}
    )
    pending = email_enqueue(
        dedupe_key="pending:1", to="c@example.org", template="outbox_test", context={"title": "t"}
    )
    assert old and recent and pending
    outbox_drain()
    long_ago = timezone.now() - timedelta(days=31)
    OutboxMessage.objects.filter(pk__in=[old.pk, pending.pk]).update(created_at=long_ago)
    OutboxMessage.objects.filter(pk=pending.pk).update(status=Status.PENDING)

    assert outbox_purge() == 1
    assert outbox_purge() == 0  # idempotent

    old.refresh_from_db()
    assert (old.to_email, old.context, old.status) == ("", {}, Status.SENT)
    assert old.purged_at is not None
    assert OutboxMessage.objects.get(pk=recent.pk).to_email == "b@example.org"
    assert OutboxMessage.objects.get(pk=pending.pk).to_email == "c@example.org"  # not finished
    # The dedupe key stays, so the same event is still not sent twice.
    assert (
        email_enqueue(
            dedupe_key="old:1", to="a@example.org", template="outbox_test", context={"title": "t"}
        )
        is None
    )
    # A purged row cannot be put back in the queue (it has nothing left to send).
    OutboxMessage.objects.filter(pk=old.pk).update(status=Status.FAILED)
    assert outbox_requeue(ids=[old.pk], actor=None) == 0


@pytest.mark.parametrize("view_name", ["stories:verify", "accounts:sign_in_confirm"])
def test_a_raw_token_link_cannot_be_queued(view_name: str) -> None:
    from carestory.lib.urls import absolute_url

    with pytest.raises(ValueError, match="secret_link"):
        email_enqueue(
            dedupe_key="raw:1",
            to="a@example.org",
            template="outbox_test",
            context={"title": "t", "link": absolute_url(view_name, "a-working-token")},
        )
    assert not OutboxMessage.objects.exists()
    # The page to ask for a sign-in link has no token: it may be linked to.
    assert email_enqueue(
        dedupe_key="plain:1",
        to="a@example.org",
        template="outbox_test",
        context={"title": "t", "link": absolute_url("accounts:sign_in")},
    )


def test_every_url_with_a_token_is_a_known_secret_link_view() -> None:
    """A new view taking a token must join SECRET_LINK_VIEWS, so the outbox guards it."""
    from django.urls import get_resolver

    from carestory.lib.tokens import SECRET_LINK_VIEWS

    found = set()
    for namespace, (_prefix, resolver) in get_resolver().namespace_dict.items():
        reverse_dict = resolver.reverse_dict
        for name in list(reverse_dict):
            if not isinstance(name, str):
                continue
            for _bits, pattern, _defaults, _converters in reverse_dict.getlist(name):
                if "(?P<token>" in pattern:
                    found.add(f"{namespace}:{name}")
    assert found == set(SECRET_LINK_VIEWS)
