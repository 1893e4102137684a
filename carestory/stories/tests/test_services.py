from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from carestory.accounts.models import SignInToken
from carestory.audit.models import AuditEvent
from carestory.lib.errors import ConflictError, NotAllowed
from carestory.outbox.models import OutboxMessage
from carestory.outbox.services import outbox_drain, outbox_render
from carestory.stories.models import Story, Tag
from carestory.stories.services import (
    IdempotencyConflict,
    StoryDraft,
    story_author_edit,
    story_draft_check,
    story_submit,
    story_verify,
    story_withdraw,
)
from conftest import World
from tests.emails import verify_token
from tests.factories import StoryFactory, UserFactory, story_draft

pytestmark = pytest.mark.django_db


def draft(world: World, **overrides: Any) -> StoryDraft:
    """A story with every answer given: tags, postcode and age group too."""
    fields: dict[str, Any] = {
        "email": "New.Author@Example.org",
        "services": [world.ward],
        "good_tags": [Tag.objects.get(slug="staff-attitude")],
        "improve_tags": [Tag.objects.get(slug="food")],
        "feeling_tags": [Tag.objects.get(slug="anxious")],
        "postcode": "ts18 1hu",
        "age_group": "35_44",
        **overrides,
    }
    return story_draft(**fields)


def test_submit_commits_story_awaiting_verification_and_queues_email(world: World) -> None:
    result = story_submit(draft=draft(world), idempotency_key=uuid.uuid4())

    story = Story.objects.get(pk=result.story.pk)
    assert result.created
    assert story.status == Story.Status.AWAITING_VERIFICATION
    assert story.author.email == "new.author@example.org"
    assert story.original_body == story.body == "The nurses on the ward were kind."
    assert story.postcode == "TS18 1HU"
    assert list(story.services.all()) == [world.ward]
    polarities = {st.tag.slug: st.polarity for st in story.story_tags.select_related("tag")}
    assert polarities == {"staff-attitude": 1, "food": -1, "anxious": -1}
    email = OutboxMessage.objects.get(dedupe_key__startswith="story-verify:")
    assert email.to_email == "new.author@example.org"
    assert "/verify/" in outbox_render(email).body_text


def test_double_submit_with_same_key_makes_one_story(world: World) -> None:
    key = uuid.uuid4()
    first = story_submit(draft=draft(world), idempotency_key=key)
    second = story_submit(draft=draft(world), idempotency_key=key)

    assert first.created and not second.created
    assert second.story.pk == first.story.pk
    assert Story.objects.count() == 1
    assert OutboxMessage.objects.filter(dedupe_key__startswith="story-verify:").count() == 1


def test_same_key_from_another_email_is_a_conflict(world: World) -> None:
    key = uuid.uuid4()
    story_submit(draft=draft(world), idempotency_key=key)
    with pytest.raises(IdempotencyConflict):
        story_submit(draft=draft(world, email="someone.else@example.org"), idempotency_key=key)
    assert Story.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_double_submit_makes_one_story() -> None:
    world = World()
    key = uuid.uuid4()
    barrier = threading.Barrier(2)
    results: list[object] = []

    def submit() -> None:
        try:
            barrier.wait()
            results.append(story_submit(draft=draft(world), idempotency_key=key))
        except Exception as exc:
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Story.objects.count() == 1
    assert OutboxMessage.objects.filter(dedupe_key__startswith="story-verify:").count() == 1
    # Each request either made the story or got the same story back (SQLite may serialise
    # the two; a lock timeout would show up here as an exception).
    assert all(not isinstance(r, Exception) for r in results), results


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"consent": False}, "agree"),
        ({"services": []}, "Choose the service"),
        ({"body": "word " * 1501}, "1501 words"),
    ],
)
def test_submit_refuses_bad_drafts_and_changes_nothing(
    world: World, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        story_submit(draft=draft(world, **overrides), idempotency_key=uuid.uuid4())
    assert Story.objects.count() == 0
    assert OutboxMessage.objects.count() == 0


def test_closed_service_cannot_be_chosen(world: World) -> None:
    with pytest.raises(ValidationError, match="closed"):
        story_submit(draft=draft(world, services=[world.closed]), idempotency_key=uuid.uuid4())
    assert Story.objects.count() == 0


def test_verified_signed_in_author_skips_confirmation(world: World) -> None:
    result = story_submit(
        draft=draft(world, email=world.author.email),
        idempotency_key=uuid.uuid4(),
        signed_in=world.author,
    )
    assert result.story.status == Story.Status.IN_MODERATION
    assert OutboxMessage.objects.filter(dedupe_key=f"story-received:{result.story.pk}").exists()
    assert not OutboxMessage.objects.filter(dedupe_key__startswith="story-verify:").exists()


def test_signed_in_user_cannot_skip_confirmation_for_another_address(world: World) -> None:
    result = story_submit(
        draft=draft(world, email="victim@example.org"),
        idempotency_key=uuid.uuid4(),
        signed_in=world.author,
    )
    assert result.story.status == Story.Status.AWAITING_VERIFICATION


def test_verify_moves_story_to_moderation_once(world: World) -> None:
    story = story_submit(draft=draft(world), idempotency_key=uuid.uuid4()).story
    token = verify_token()

    verified = story_verify(raw_token=token)

    assert verified is not None and verified.pk == story.pk
    assert verified.status == Story.Status.IN_MODERATION
    assert verified.author.email_verified_at is not None
    ack = OutboxMessage.objects.get(dedupe_key=f"story-received:{story.pk}")
    ack_text = outbox_render(ack).body_text
    assert "999" in ack_text and "116 123" in ack_text  # crisis signposting
    assert "/my-stories/" in ack_text
    assert story_verify(raw_token=token) is None  # single use


def test_verify_link_expires(world: World) -> None:
    story = story_submit(draft=draft(world), idempotency_key=uuid.uuid4()).story
    token = verify_token()
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert story_verify(raw_token=token) is None
    assert Story.objects.get(pk=story.pk).status == Story.Status.AWAITING_VERIFICATION


def test_tokens_are_stored_hashed(world: World) -> None:
    story_submit(draft=draft(world), idempotency_key=uuid.uuid4())
    token = verify_token()
    assert len(token) >= 43  # 256 bits, url-safe
    assert not SignInToken.objects.filter(token_hash=token).exists()


def test_author_edit_while_in_moderation_and_version_conflict(world: World) -> None:
    story = StoryFactory(author=world.author, services=[world.ward])
    story_author_edit(story=story, author=world.author, title="New", body="New body", version=1)
    story.refresh_from_db()
    assert (story.original_title, story.title, story.version) == ("New", "New", 2)

    with pytest.raises(ConflictError):
        story_author_edit(story=story, author=world.author, title="Stale", body="x", version=1)
    story.refresh_from_db()
    assert story.title == "New"


def test_author_cannot_edit_after_moderation(world: World) -> None:
    story = StoryFactory(author=world.author, published=True, services=[world.ward])
    with pytest.raises(ValidationError):
        story_author_edit(
            story=story, author=world.author, title="x", body="y", version=story.version
        )


def test_withdraw_is_audited_and_only_by_the_author(world: World) -> None:
    story = StoryFactory(author=world.author, published=True, services=[world.ward])
    with pytest.raises(NotAllowed):
        story_withdraw(story=story, author=UserFactory())
    story_withdraw(story=story, author=world.author)
    story.refresh_from_db()
    assert story.status == Story.Status.WITHDRAWN
    assert AuditEvent.objects.filter(action="story.withdraw", object_id=story.public_id).exists()


def test_public_ids_are_not_sequential(world: World) -> None:
    ids = {StoryFactory(services=[world.ward]).public_id for _ in range(5)}
    assert len(ids) == 5
    assert all(not i.isdigit() and len(i) == 10 for i in ids)


def test_a_second_story_about_the_same_service_is_flagged_as_a_possible_duplicate(
    world: World,
) -> None:
    def told(**overrides: Any) -> Story:
        """A story the signed-in author tells."""
        return story_submit(
            draft=draft(world, email=world.author.email, **overrides),
            idempotency_key=uuid.uuid4(),
            signed_in=world.author,
        ).story

    first = told()
    assert "DUPLICATE_RISK" not in Story.objects.get(pk=first.pk).automod_flags
    second = told(title="The same stay again")
    other_service = told(services=[world.other_ward])
    outbox_drain()  # the checks run in the worker
    assert "DUPLICATE_RISK" in Story.objects.get(pk=second.pk).automod_flags
    assert "DUPLICATE_RISK" not in Story.objects.get(pk=other_service.pk).automod_flags
    # Withdrawn earlier stories do not count.
    story_withdraw(story=first, author=world.author)
    story_withdraw(story=second, author=world.author)
    third = told(title="Third")
    outbox_drain()
    assert Story.objects.get(pk=third.pk).checked_at is not None
    assert "DUPLICATE_RISK" not in Story.objects.get(pk=third.pk).automod_flags
    # And a story told more than 90 days later is a new episode.
    with time_machine.travel(timezone.now() + timedelta(days=91)):
        later = told(title="Months later")
        outbox_drain()
    assert Story.objects.get(pk=later.pk).checked_at is not None
    assert "DUPLICATE_RISK" not in Story.objects.get(pk=later.pk).automod_flags


def test_confirmation_emails_are_limited_per_address_without_losing_stories(
    world: World,
) -> None:
    from carestory.stories.services import UNCONFIRMED_PER_DAY, story_confirm_signed_in

    for _ in range(UNCONFIRMED_PER_DAY):
        story_submit(draft=draft(world), idempotency_key=uuid.uuid4())
    # One more: kept (nothing accepted is lost), but no sixth email, and no error that would
    # tell the sender anything about the address.
    extra = story_submit(draft=draft(world), idempotency_key=uuid.uuid4()).story
    assert Story.objects.count() == UNCONFIRMED_PER_DAY + 1
    verify_emails = OutboxMessage.objects.filter(dedupe_key__startswith="story-verify:")
    assert verify_emails.count() == UNCONFIRMED_PER_DAY
    # The author, signed in with that address, sends it to the moderators from My stories.
    extra.author.email_verified_at = timezone.now()
    extra.author.save()
    assert story_confirm_signed_in(story=extra, author=extra.author)
    extra.refresh_from_db()
    assert extra.status == Story.Status.IN_MODERATION
    assert AuditEvent.objects.filter(action="story.verify", object_id=extra.public_id).exists()
    assert not story_confirm_signed_in(story=extra, author=extra.author)  # only once
    # Another address is not affected, and a day later the limit has passed.
    story_submit(draft=draft(world, email="other@example.org"), idempotency_key=uuid.uuid4())
    assert verify_emails.count() == UNCONFIRMED_PER_DAY + 1
    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1)):
        story_submit(draft=draft(world), idempotency_key=uuid.uuid4())
    assert verify_emails.count() == UNCONFIRMED_PER_DAY + 2


# --- Validate once: what a story may be, and the messages, are the service's ----------------


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": "   "}, "title", "Enter a title for your story"),
        ({"title": "x" * 201}, "title", "The title must be 200 characters or fewer"),
        ({"body": " \r\n "}, "body", "Enter your story"),
        (
            {"body": "!" * 20_001},
            "body",
            "Your story has 20001 characters: shorten it to 20000 characters or fewer",
        ),
        (
            {"body": "word " * 1501},
            "body",
            "Your story has 1501 words: shorten it to 1500 words or fewer",
        ),
        ({"screen_name": " "}, "screen_name", "Enter a screen name"),
        ({"screen_name": "Sarah Jones"}, "screen_name", "looks like a real name"),
        ({"postcode": "Leeds"}, "postcode", "Enter a UK postcode, like LS1 4AP"),
        ({"postcode": "LS1 4AP 4AP"}, "postcode", "Enter a postcode of 10 characters or fewer"),
        ({"consent": False}, "consent", "You must agree to your story being published"),
    ],
)
def test_the_rules_of_a_story_and_their_messages_come_from_the_service(
    world: World, overrides: dict[str, object], field: str, message: str
) -> None:
    """The form checks only types: the view, the demo loader and any other caller of
    story_submit get the same message, on the story form's field name, and nothing changes."""
    with pytest.raises(ValidationError) as caught:
        story_submit(draft=draft(world, **overrides), idempotency_key=uuid.uuid4())
    assert list(caught.value.message_dict) == [field]
    assert message in caught.value.message_dict[field][0]
    assert Story.objects.count() == 0
    assert OutboxMessage.objects.count() == 0


def test_every_problem_of_a_draft_is_found_at_once(world: World) -> None:
    bad = draft(world, title="", body="", screen_name="", postcode="Leeds", consent=False)
    with pytest.raises(ValidationError) as caught:
        story_draft_check(draft=bad)
    assert set(caught.value.message_dict) == {"title", "body", "screen_name", "postcode", "consent"}
    kept = story_draft_check(draft=draft(world, title="  Kind nurses\r\n", postcode="ls14ap"))
    assert (kept.title, kept.postcode) == ("Kind nurses", "LS1 4AP")


def test_an_authors_edit_meets_the_same_rules_with_the_same_messages(world: World) -> None:
    story = StoryFactory(author=world.author, services=[world.ward])
    with pytest.raises(ValidationError) as caught:
        story_author_edit(
            story=story, author=world.author, title="", body="word " * 1501, version=1
        )
    assert caught.value.message_dict == {
        "title": ["Enter a title for your story"],
        "body": ["Your story has 1501 words: shorten it to 1500 words or fewer"],
    }
    story.refresh_from_db()
    assert story.version == 1


def test_a_form_sent_again_with_another_address_is_explained(world: World) -> None:
    key = uuid.uuid4()
    story_submit(draft=draft(world), idempotency_key=key)
    with pytest.raises(ValidationError, match="already used to send a story"):
        story_submit(draft=draft(world, email="someone.else@example.org"), idempotency_key=key)
