"""The moderation workbench in a real browser: a moderator opens a story with an email address
and a name in it, applies the suggested edit, and publishes. axe-core runs on every page,
including the author's answer page and the provider's review page."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from carestory.moderation.services.decisions import story_publish
from carestory.moderation.services.edits import StoryEdit
from carestory.moderation.services.questions import story_question_ask
from carestory.outbox.models import OutboxMessage
from carestory.outbox.services import outbox_render
from carestory.services.models import Service
from carestory.stories.models import Story, StoryRevision, Tag
from conftest import World
from tests.browser.conftest import axe_check, main, staff_sign_in, visit, workbench_publish
from tests.factories import ServiceFactory, StoryFactory

pytestmark = pytest.mark.browser

EMAIL = "jo.bloggs@example.com"
TITLE = "Night on Ward 1"
BODY = (
    "Nurse Jane Smith sat with me all night when I could not sleep. "
    f"If the ward wants to thank her, email me at {EMAIL} and I will tell you more."
)


def test_apply_a_suggestion_and_publish(
    live_world: World, site: str, new_page: Callable[[], Any]
) -> None:
    world = live_world
    story = StoryFactory(
        author=world.author,
        services=[world.ward],
        original_title=TITLE,
        original_body=BODY,
        urgent=False,
    )
    StoryRevision.objects.create(
        story=story,
        kind=StoryRevision.Kind.SUBMITTED,
        editor=world.author,
        title=TITLE,
        body=BODY,
    )

    moderator = new_page()
    staff_sign_in(moderator, site, world.moderator.email)
    visit(moderator, f"{site}/moderation/")
    expect(main(moderator)).to_contain_text("New stories (1)")
    main(moderator).get_by_role("link", name=TITLE).click()
    expect(moderator.get_by_role("heading", level=1)).to_have_text(TITLE)
    axe_check(moderator)
    expect(main(moderator)).to_contain_text("You are moderating this story until")
    expect(moderator.get_by_label("Public text")).to_have_value(BODY)

    # The suggestion names the email address and its span; one click applies it.
    suggestions = main(moderator).locator("#suggestions-heading + p + ol")
    expect(suggestions).to_contain_text("Email address")
    expect(suggestions).to_contain_text(EMAIL)
    suggestions.get_by_role("button", name=re.compile(r"^Apply to email address")).click()
    expect(main(moderator)).to_contain_text("Suggestion applied and saved.")
    axe_check(moderator)
    public_text = moderator.get_by_label("Public text")
    expect(public_text).not_to_have_value(re.compile(re.escape(EMAIL)))
    expect(public_text).to_have_value(re.compile(r"^Nurse Jane Smith sat with me"))
    expect(main(moderator).locator("#history-heading ~ .nhsuk-card")).to_have_count(2)
    story.refresh_from_db()
    assert EMAIL not in story.body and story.version == 2

    workbench_publish(moderator, site, criticality="Not critical")

    story.refresh_from_db()
    assert story.status == Story.Status.PUBLISHED
    assert EMAIL not in story.body
    assert story.original_body == BODY  # the author's words are kept, privately

    # The read-only workbench of a published story, with its history, is accessible too.
    visit(moderator, f"{site}/moderation/stories/{story.public_id}/")
    expect(main(moderator)).to_contain_text("History of the text")

    reader = new_page()
    visit(reader, f"{site}/stories/{story.public_id}/")
    expect(main(reader)).not_to_contain_text(EMAIL)


def test_the_answer_and_provider_review_pages_are_accessible(
    live_world: World, site: str, new_page: Callable[[], Any]
) -> None:
    world = live_world
    tags = ((Tag.objects.get(slug="communication"), 1),)

    # The author answers a moderator's question through the emailed link.
    asked = StoryFactory(author=world.author, services=[world.ward], original_title=TITLE)
    story_question_ask(
        story=asked,
        moderator=world.moderator,
        question="Which ward were you on?",
        edit=StoryEdit(
            version=1,
            title=TITLE,
            body=asked.body,
            criticality=None,
            tags=tags,
            services=(world.ward,),
        ),
    )
    message = OutboxMessage.objects.get(dedupe_key__startswith="story-question:")
    match = re.search(r"/answer/[^/\s]+/", outbox_render(message).body_text)
    assert match
    author = new_page()
    visit(author, site + match.group(0))
    expect(main(author)).to_contain_text("Which ward were you on?")
    main(author).get_by_role("button", name="Send my answer").click()
    expect(main(author)).to_contain_text("Write your answer")
    axe_check(author)
    author.get_by_label("Your answer").fill("Ward 1, at night.")
    main(author).get_by_role("button", name="Send my answer").click()
    expect(author.get_by_role("heading", level=1)).to_have_text("Thank you for your answer")
    axe_check(author)
    asked.refresh_from_db()
    assert asked.status == Story.Status.IN_MODERATION

    # A provider's administrator reviews an approved story about a GP practice.
    gp = ServiceFactory(code="RXX-GP1", name="Riverside Surgery", parent=world.trust)
    Service.objects.filter(pk=gp.pk).update(provider_review=True)
    gp.refresh_from_db()
    reviewed = StoryFactory(author=world.author, services=[gp])
    story_publish(
        story=reviewed,
        moderator=world.moderator,
        edit=StoryEdit(
            version=1,
            title="Kind receptionist",
            body="The receptionist found me an appointment the same day.",
            criticality=0,
            tags=tags,
            services=(gp,),
        ),
    )
    review = reviewed.provider_reviews.get()
    admin = new_page()
    staff_sign_in(admin, site, world.admin.email)
    visit(admin, f"{site}/provider-review/{review.pk}/")
    expect(main(admin)).to_contain_text("The receptionist found me an appointment")
    main(admin).get_by_role("button", name="Request review").click()
    expect(main(admin)).to_contain_text("Explain why you are asking for a review")
    axe_check(admin)
    main(admin).get_by_role("button", name="Go ahead").click()
    expect(main(admin)).to_contain_text("said go ahead")
    axe_check(admin)
    reviewed.refresh_from_db()
    assert reviewed.status == Story.Status.PUBLISHED

    # The moderator's view of a held story.
    held = StoryFactory(services=[world.ward], status=Story.Status.HELD, safeguarding_level=2)
    moderator = new_page()
    staff_sign_in(moderator, site, world.moderator.email)
    visit(moderator, f"{site}/moderation/")
    visit(moderator, f"{site}/moderation/stories/{held.public_id}/")
    expect(main(moderator)).to_contain_text("Only a senior moderator can publish or reject")
