"""The subscriber's journey in a real browser (issue 10, "Done means"), axe-core on every page:
an administrator (password and MFA) invites a responder from the members page; the invitation
arrives at the SMTP sink; the responder joins, signs in, turns on MFA (reading the key off the
page), replaces their first alert with one of their own on /staff/alerts/; a moderator
publishes a story in scope; the alert arrives at the sink with its one-click unsubscribe; the
responder opens the story from the workspace, sees its progress and answers it from there.

Every email goes over SMTP to the ``smtp_sink``; ``outbox_drain()`` stands in for the worker.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from carestory.accounts.models import MFADevice, User
from carestory.alerts.models import Alert
from carestory.outbox.services import outbox_drain
from carestory.responses.models import Response
from carestory.subscriptions.models import Invitation, Membership
from carestory.workspace.models import AnsweringMarker, StoryRead
from conftest import World
from tests.browser.conftest import (
    axe_check,
    main,
    staff_sign_in,
    visit,
    workbench_publish,
)
from tests.browser.test_core_loop import link_in, only_email
from tests.factories import StoryFactory
from tests.mfa import mfa_code

pytestmark = pytest.mark.browser

NEW_EMAIL = "nina.newcomer@riverside.example"
NEW_PASSWORD = "three quiet herons by the river"
TITLE = "Clear answers in the Ward 1 discharge lounge"
RESPONSE_BODY = "Thank you for telling us; we have shared your kind words with the ward team."


def test_invited_responder_enrols_sets_an_alert_and_answers_from_the_workspace(
    live_world: World, site: str, smtp_sink: Any, new_page: Callable[[], Any]
) -> None:
    world = live_world

    # 1. The administrator signs in (password and code) and invites a responder.
    admin = new_page()
    staff_sign_in(admin, site, world.admin.email)
    main(admin).get_by_role("link", name="Manage the members of Riverside NHS Trust").click()
    expect(admin).to_have_url(f"{site}/staff/organisations/RXX/members/")
    axe_check(admin)
    main(admin).get_by_role("link", name="Invite a member").click()
    axe_check(admin)
    admin.get_by_label("First name").fill("Nina")
    admin.get_by_label("Last name").fill("Newcomer")
    admin.get_by_label("Email address").fill(NEW_EMAIL)
    admin.get_by_label("Job title (optional)").fill("Ward sister")
    admin.get_by_label("Responder").check()
    main(admin).get_by_role("button", name="Send the invitation").click()
    expect(admin).to_have_url(f"{site}/staff/organisations/RXX/members/")
    expect(main(admin)).to_contain_text(f"An invitation was sent to {NEW_EMAIL}.")
    expect(main(admin)).to_contain_text("Invited, not joined yet")
    axe_check(admin)
    assert Invitation.objects.get().role == Membership.Role.RESPONDER

    # 2. The invitation arrives through the SMTP sink; the responder joins with a password.
    outbox_drain()
    invitation = only_email(smtp_sink, to=NEW_EMAIL, subject_contains="invited to join")
    assert "Riverside NHS Trust" in invitation.subject
    responder = new_page()
    visit(responder, link_in(invitation, site, r"/staff/join/[^/\s]+/"))
    expect(responder.get_by_role("heading", level=1)).to_have_text("Join Riverside NHS Trust")
    responder.get_by_label("Choose a password").fill(NEW_PASSWORD)
    responder.get_by_label("Type the password again").fill(NEW_PASSWORD)
    main(responder).get_by_role("button", name="Join").click()
    expect(responder.get_by_role("heading", level=1)).to_have_text(
        "You have joined Riverside NHS Trust"
    )
    axe_check(responder)
    nina = User.objects.get(email=NEW_EMAIL)
    membership = Membership.objects.get(user=nina)
    assert (membership.subscription, membership.role) == (
        world.subscription,
        Membership.Role.RESPONDER,
    )

    # 3. They sign in with the new password (a responder: no code asked yet) and turn MFA on.
    main(responder).get_by_role("link", name="Sign in").click()
    responder.get_by_label("Email address").fill(NEW_EMAIL)
    responder.get_by_label("Password").fill(NEW_PASSWORD)
    main(responder).get_by_role("button", name="Sign in").click()
    expect(responder).to_have_url(f"{site}/staff/")
    axe_check(responder)
    visit(responder, f"{site}/staff/mfa/")
    main(responder).get_by_role("link", name="Set up two-step sign-in").click()
    expect(responder).to_have_url(re.compile(r"/staff/mfa/enrol/"))
    axe_check(responder)
    secret = responder.locator("#mfa-secret").inner_text().replace(" ", "")
    responder.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    main(responder).get_by_role("button", name="Turn on").click()
    expect(responder.locator("#recovery-codes li")).to_have_count(10)
    axe_check(responder)
    assert MFADevice.objects.get(user=nina).confirmed_at is not None

    # Signing in again now asks for a code.
    responder.get_by_role("button", name="Sign out").first.click()
    visit(responder, f"{site}/staff/login/")
    responder.get_by_label("Email address").fill(NEW_EMAIL)
    responder.get_by_label("Password").fill(NEW_PASSWORD)
    main(responder).get_by_role("button", name="Sign in").click()
    expect(responder).to_have_url(re.compile(r"/staff/mfa/code/"))
    axe_check(responder)
    responder.get_by_label("Code").fill(mfa_code(nina))
    main(responder).get_by_role("button", name="Continue").click()
    expect(responder).to_have_url(f"{site}/staff/")

    # 4. On /staff/alerts/ they delete the first alert they were given and add their own:
    # new stories, immediately, the whole scope. (So the email below is their alert's.)
    visit(responder, f"{site}/staff/alerts/")
    expect(main(responder)).to_contain_text("Your alerts")
    main(responder).get_by_role("link", name="Delete this alert").click()
    axe_check(responder)
    main(responder).get_by_role("button", name="Delete alert").click()
    axe_check(responder)
    assert not Alert.objects.filter(membership=membership).exists()
    visit(responder, f"{site}/staff/alerts/")
    expect(main(responder)).to_contain_text("You have no alerts here")
    main(responder).get_by_role("link", name="Add an alert").click()
    axe_check(responder)
    responder.get_by_label("New published stories").check()
    responder.get_by_label("Immediately, one email each").check()
    main(responder).get_by_role("button", name="Save alert").click()
    expect(responder).to_have_url(f"{site}/staff/alerts/members/{membership.pk}/")
    expect(main(responder)).to_contain_text("The whole scope")
    axe_check(responder)
    alert = Alert.objects.get(membership=membership)
    assert list(alert.events) == [Alert.Event.STORIES]
    assert alert.frequency == Alert.Frequency.IMMEDIATE
    assert not alert.services.exists()

    # 5. A moderator publishes a story about a ward in scope.
    story = StoryFactory(title=TITLE, original_title=TITLE, services=[world.ward])
    moderator = new_page()
    staff_sign_in(moderator, site, world.moderator.email)
    visit(moderator, f"{site}/moderation/stories/{story.public_id}/")
    workbench_publish(moderator, site, criticality="Mildly critical")

    # 6. The worker sends the alert; it arrives at the sink with a one-click unsubscribe.
    outbox_drain()  # the fan-out job queues the emails
    outbox_drain()  # ...which are sent
    email = only_email(smtp_sink, to=NEW_EMAIL, subject_contains="New story")
    assert TITLE in email.subject
    unsubscribe = email.header("List-Unsubscribe")
    assert re.fullmatch(
        re.escape(f"<{site}/staff/alerts/unsubscribe/") + r"[^/\s>]+/>", unsubscribe
    )
    assert email.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"

    # 7. From the workspace: the story is listed as heard, opened (now read), answered.
    visit(responder, f"{site}/staff/")
    card = main(responder).locator(".cs-workspace-story", has_text=TITLE)
    expect(card.locator(".cs-progress")).to_have_text("Progress: Heard")
    card.get_by_role("link", name=TITLE).click()
    expect(responder).to_have_url(f"{site}/staff/stories/{story.public_id}/")
    expect(responder.get_by_role("heading", level=1)).to_have_text(TITLE)
    axe_check(responder)
    expect(main(responder).locator(".cs-progress")).to_have_text("Progress: Read")
    expect(main(responder).locator(".cs-readers")).to_contain_text("Nina Newcomer")
    assert StoryRead.objects.filter(story=story, user=nina).exists()
    main(responder).get_by_role("button", name="Respond to this story").click()
    expect(responder).to_have_url(f"{site}/stories/{story.public_id}/respond/")
    axe_check(responder)
    assert AnsweringMarker.objects.filter(story=story, user=nina).exists()
    responder.get_by_label("Your response").fill(RESPONSE_BODY)
    main(responder).get_by_role("button", name="Send response").click()
    expect(responder.get_by_role("heading", level=1)).to_have_text("Your response has been sent")
    axe_check(responder)

    # 8. The response is saved, in its edit window, and its page offers the change.
    response = Response.objects.get(story=story)
    assert (response.responder, response.subscription) == (nina, world.subscription)
    assert response.original_body == RESPONSE_BODY
    assert response.editable_until is not None and response.editable_until > timezone.now()
    main(responder).get_by_role("link", name="Change or delete your response").click()
    expect(responder.get_by_label("Your response")).to_have_value(RESPONSE_BODY)
    axe_check(responder)
