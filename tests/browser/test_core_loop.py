"""The core loop in a real browser: tell, verify, moderate, alert, respond, reply, publish.

Every email goes over SMTP to the ``smtp_sink``; ``outbox_drain()`` stands in for the worker.
Each person uses their own browser context (their own cookies), as they would in real life.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from playwright.sync_api import expect

from carestory.outbox.services import outbox_drain
from carestory.outbox.testing import ReceivedEmail, SmtpSink
from carestory.responses.models import AuthorReply, ModerationStatus, Response
from carestory.stories.models import Story
from conftest import World
from tests.browser.conftest import axe_check, main, staff_sign_in, visit, workbench_publish

pytestmark = pytest.mark.browser

TITLE = "Kind nurses on Ward 1"
ORIGINAL_BODY = (
    "I was admitted at night after a fall. Nurse Jenny Smith held my hand and explained "
    "everything. The ward was calm and clean, and nobody made me feel like a nuisance."
)
PUBLIC_BODY = (
    "I was admitted at night after a fall. A nurse held my hand and explained "
    "everything. The ward was calm and clean, and nobody made me feel like a nuisance."
)
AUTHOR_EMAIL = "author@example.org"
RESPONSE_BODY = "Thank you for taking the time to tell us about your stay on Ward 1."
CHANGE_DESCRIPTION = "We now offer every patient admitted at night a hot drink and a blanket."
REPLY_BODY = "Thank you for listening. I hope the next patient gets that hot drink too."


def only_email(sink: SmtpSink, *, to: str, subject_contains: str) -> ReceivedEmail:
    found = sink.find(to=to, subject_contains=subject_contains)
    subjects = [(m.rcpt_tos, m.subject) for m in sink.messages]
    assert len(found) == 1, f"expected one '{subject_contains}' email to {to}; got {subjects}"
    return found[0]


def link_in(email: ReceivedEmail, site: str, path_pattern: str) -> str:
    match = re.search(re.escape(site) + path_pattern, email.text)
    assert match, f"no link matching {path_pattern!r} in:\n{email.text}"
    return match.group(0)


def test_core_loop(
    live_world: World,
    site: str,
    smtp_sink: SmtpSink,
    new_page: Callable[[], Any],
) -> None:
    world = live_world

    # 1. An anonymous visitor finds the ward and tells their story.
    author = new_page()
    visit(author, f"{site}/tell-your-story/")
    author.get_by_label("Search by name, town, code or postcode").fill("Ward 1")
    main(author).get_by_role("button", name="Search").click()
    axe_check(author)
    main(author).get_by_role("link", name="Ward 1").click()
    expect(author.get_by_role("heading", level=1)).to_have_text("Tell your story")
    axe_check(author)
    author.get_by_label("What was your story about?").fill(TITLE)
    author.get_by_label("What happened? How did you feel?").fill(ORIGINAL_BODY)
    good = author.get_by_role("group", name="What was good?")
    good.get_by_label("Staff attitude").check()
    author.get_by_role("group", name="Who are you in this story?").get_by_label(
        "Patient", exact=True
    ).check()
    author.get_by_label("Screen name").fill("Grateful patient")
    author.get_by_label("Email address").fill(AUTHOR_EMAIL)
    author.get_by_label("I agree to my story being published").check()
    author.get_by_role("button", name="Send my story").click()
    expect(author.get_by_role("heading", level=1)).to_have_text("Check your email")
    axe_check(author)
    story = Story.objects.get()
    assert story.status == Story.Status.AWAITING_VERIFICATION
    assert [s.code for s in story.services.all()] == [world.ward.code]
    assert list(story.story_tags.values_list("tag__name", "polarity")) == [("Staff attitude", 1)]

    # 2. The verification email arrives; the author confirms.
    outbox_drain()
    verify_email = only_email(smtp_sink, to=AUTHOR_EMAIL, subject_contains="Confirm your story")
    visit(author, link_in(verify_email, site, r"/verify/[^/\s]+/"))
    main(author).get_by_role("button", name="Confirm my story").click()
    expect(author.get_by_role("heading", level=1)).to_have_text(
        "Thank you: your story is confirmed"
    )
    axe_check(author)
    story.refresh_from_db()
    assert story.status == Story.Status.IN_MODERATION

    # 3. A moderator edits out the nurse's name, rates it and publishes.
    moderator = new_page()
    staff_sign_in(moderator, site, world.moderator.email)
    visit(moderator, f"{site}/moderation/")
    main(moderator).get_by_role("link", name=TITLE).click()
    axe_check(moderator)
    public_text = moderator.get_by_label("Public text")
    expect(public_text).to_have_value(ORIGINAL_BODY)
    public_text.fill(PUBLIC_BODY)
    workbench_publish(moderator, site, criticality="Mildly critical")
    story.refresh_from_db()
    assert story.status == Story.Status.PUBLISHED
    assert story.body == PUBLIC_BODY
    assert story.original_body == ORIGINAL_BODY
    story_url = f"{site}/stories/{story.public_id}/"

    # 4. The publish queued a job that fans out the staff alerts.
    outbox_drain()
    outbox_drain()
    alert = only_email(smtp_sink, to=world.responder.email, subject_contains="New story")
    assert TITLE in alert.subject
    assert TITLE in alert.text
    assert story_url in alert.text
    assert PUBLIC_BODY in alert.text
    assert "Mildly critical" in alert.text
    for private in (AUTHOR_EMAIL, "Jenny", ORIGINAL_BODY):
        assert private not in alert.text, private
        assert private not in alert.html, private
    only_email(smtp_sink, to=world.admin.email, subject_contains="New story")
    assert not smtp_sink.find(to=world.member.email)
    assert not smtp_sink.find(to=world.other_responder.email)
    published = only_email(smtp_sink, to=AUTHOR_EMAIL, subject_contains="Your story is published")
    assert story_url in published.text

    # 5. The responder follows the alert and responds, describing a change.
    responder = new_page()
    staff_sign_in(responder, site, world.responder.email)
    visit(responder, link_in(alert, site, r"/stories/[^/\s]+/"))
    expect(main(responder)).to_contain_text(PUBLIC_BODY)
    main(responder).get_by_role("link", name="Respond to this story").click()
    axe_check(responder)
    expect(main(responder)).to_contain_text("will be checked by a moderator")
    responder.get_by_label("Your response").fill(RESPONSE_BODY)
    responder.get_by_label("We have made a change").check()
    responder.get_by_label("Describe the change").fill(CHANGE_DESCRIPTION)
    main(responder).get_by_role("button", name="Send response").click()
    expect(responder.get_by_role("heading", level=1)).to_have_text("Your response has been sent")
    axe_check(responder)
    response = Response.objects.get()
    assert response.change == Response.Change.MADE
    # The 30-minute edit window ends: the release job sends it to moderation (a change claim
    # is never fast-tracked).
    assert response.editable_until is not None
    with time_machine.travel(response.editable_until):
        outbox_drain()
    response.refresh_from_db()
    assert response.status == ModerationStatus.IN_MODERATION

    # 6. The moderator publishes the response; the author is told.
    visit(moderator, f"{site}/moderation/")
    main(moderator).get_by_role("link", name=f"Riverside NHS Trust on '{TITLE}'").click()
    axe_check(moderator)
    expect(moderator.get_by_label("Public text")).to_have_value(RESPONSE_BODY)
    main(moderator).get_by_role("button", name="Publish", exact=True).click()
    expect(main(moderator)).to_contain_text("No responses are waiting.")
    axe_check(moderator)
    outbox_drain()
    responded = only_email(smtp_sink, to=AUTHOR_EMAIL, subject_contains="has responded")
    response_link = link_in(responded, site, rf"/stories/{story.public_id}/#response-\d+")

    # 7. The author signs in by emailed link (a new browser) and replies.
    author = new_page()
    visit(author, f"{site}/sign-in/")
    author.get_by_label("Email address").fill(AUTHOR_EMAIL)
    main(author).get_by_role("button", name="Email me a link").click()
    expect(author.get_by_role("heading", level=1)).to_have_text("Check your email")
    axe_check(author)
    outbox_drain()
    sign_in = only_email(smtp_sink, to=AUTHOR_EMAIL, subject_contains="Your link to sign in")
    visit(author, link_in(sign_in, site, r"/sign-in/[^/\s]+/"))
    main(author).get_by_role("button", name="Sign in").click()
    expect(author).to_have_url(f"{site}/my-stories/")
    axe_check(author)
    visit(author, response_link)
    main(author).get_by_role("link", name="Reply to this response").click()
    axe_check(author)
    author.get_by_label("Your reply").fill(REPLY_BODY)
    main(author).get_by_role("button", name="Send my reply").click()
    expect(author.get_by_role("heading", level=1)).to_have_text("Thank you for your reply")
    axe_check(author)

    # 8. The moderator publishes the reply; everyone can read the whole conversation.
    visit(moderator, f"{site}/moderation/")
    main(moderator).get_by_role("link", name=f"Reply on '{TITLE}'").click()
    axe_check(moderator)
    main(moderator).get_by_role("button", name="Publish", exact=True).click()
    expect(main(moderator)).to_contain_text("No replies are waiting.")
    axe_check(moderator)
    assert AuthorReply.objects.get().published_at is not None
    outbox_drain()
    only_email(smtp_sink, to=world.responder.email, subject_contains="has replied")

    reader = new_page()
    visit(reader, story_url)
    content = main(reader)
    expect(reader.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(content).to_contain_text(PUBLIC_BODY)
    expect(content).not_to_contain_text("Jenny")
    expect(content).to_contain_text("Posted by Grateful patient (patient)")
    expect(content.locator(".cs-response h3")).to_have_text(
        "Response from Rita Responder, Matron, Riverside NHS Trust"
    )
    expect(content.locator(".cs-response .nhsuk-tag")).to_have_text("We have made a change")
    expect(content).to_contain_text(CHANGE_DESCRIPTION)
    expect(content).to_contain_text(RESPONSE_BODY)
    expect(content.locator(".cs-reply")).to_contain_text("Update from Grateful patient")
    expect(content.locator(".cs-reply")).to_contain_text(REPLY_BODY)
    expect(content).not_to_contain_text(AUTHOR_EMAIL)
    expect(content.get_by_role("link", name="Reply to this response")).to_have_count(0)
    expect(content.get_by_role("link", name="Respond to this story")).to_have_count(0)


def test_empty_story_form_shows_every_problem(
    live_world: World, site: str, browser_page: Any
) -> None:
    page = browser_page
    visit(page, f"{site}/tell-your-story/?service={live_world.ward.code}")
    page.get_by_role("button", name="Send my story").click()

    summary = page.locator(".nhsuk-error-summary")
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(page).to_have_title(re.compile(r"^Error: "))
    expect(summary.get_by_role("listitem")).to_have_text(
        [
            "Enter a title for your story",
            "Enter your story",
            "Select who you are in this story",
            "Enter a screen name",
            "Enter your email address",
            "You must agree to your story being published",
        ]
    )
    # Each message links to its field, and the field shows the message too.
    summary.get_by_role("link", name="Select who you are in this story").click()
    expect(page.get_by_label("Patient", exact=True)).to_be_focused()
    expect(page.locator(".nhsuk-form-group--error")).to_have_count(6)
    axe_check(page)
    assert Story.objects.count() == 0
