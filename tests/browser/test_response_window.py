"""The response edit window and the public statistics page in a real browser, with axe-core
on every page: send, change, delete; then read the moderation statistics."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect
from pytest_django.fixtures import Settings

from carestory.responses.models import Response
from conftest import World
from tests.browser.conftest import axe_check, staff_sign_in, visit
from tests.factories import StoryFactory

pytestmark = pytest.mark.browser


def test_change_then_delete_a_response_within_the_window(
    live_world: World, live_server: Any, settings: Settings, browser_page: Any
) -> None:
    site = str(live_server.url)
    settings.SITE_URL = site
    story = StoryFactory(published=True, services=[live_world.ward], author=live_world.author)
    page = browser_page
    main = page.locator("main")

    staff_sign_in(page, site, live_world.responder.email)

    visit(page, f"{site}/stories/{story.public_id}/respond/")
    expect(main).to_contain_text("will be checked by a moderator")
    page.get_by_label("Your response").fill("Thank you for telling us.")
    main.get_by_role("button", name="Send response").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your response has been sent")
    axe_check(page)

    main.get_by_role("link", name="Change or delete your response").click()
    axe_check(page)
    page.get_by_label("Your response").fill("Thank you. I have shared this with the ward.")
    main.get_by_role("button", name="Save changes").click()
    expect(main).to_contain_text("Your changes are saved.")
    axe_check(page)
    assert Response.objects.get().body == "Thank you. I have shared this with the ward."

    # The story page shows the responder (only) the way back to it.
    visit(page, f"{site}/stories/{story.public_id}/")
    main.get_by_role("link", name=re.compile(r"Change or delete your response")).click()
    main.get_by_role("link", name="Delete this response").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete your response?")
    axe_check(page)
    main.get_by_role("button", name="Delete response").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your response has been deleted")
    axe_check(page)
    assert not Response.objects.exists()


def test_the_statistics_page(live_world: World, live_server: Any, browser_page: Any) -> None:
    StoryFactory(published=True, services=[live_world.ward])
    visit(browser_page, f"{live_server.url}/statistics/moderation/")
    expect(browser_page.get_by_role("heading", level=1)).to_have_text("Moderation statistics")
    expect(browser_page.locator('[data-stat="published-30"]')).to_have_text("1")
