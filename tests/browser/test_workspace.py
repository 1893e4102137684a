"""The staff workspace in a real browser, with axe-core on every page: filter the list, open a
story (recorded as read), tag it, and mark oneself answering."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from carestory.workspace.models import AnsweringMarker, StaffTag, StoryRead
from conftest import World
from tests.browser.conftest import axe_check, staff_sign_in, visit
from tests.factories import StoryFactory

pytestmark = pytest.mark.browser


def test_filter_the_workspace_and_open_a_story(
    live_world: World, live_server: Any, browser_page: Any
) -> None:
    site = str(live_server.url)
    now = timezone.now()
    StoryFactory(
        published=True,
        services=[live_world.ward],
        title="A mildly critical story",
        criticality=1,
        published_at=now - timedelta(days=1),
    )
    critical = StoryFactory(
        published=True,
        services=[live_world.ward],
        title="A strongly critical story",
        criticality=4,
        published_at=now - timedelta(days=2),
    )
    StoryFactory(published=True, services=[live_world.other_ward], title="Another trust's story")
    page = browser_page
    main = page.locator("main")

    staff_sign_in(page, site, live_world.responder.email)

    visit(page, f"{site}/staff/")
    expect(main).to_contain_text("A mildly critical story")
    expect(main).not_to_contain_text("Another trust's story")

    page.get_by_label("Criticality at or above").select_option(label="Moderately critical")
    main.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"min_criticality=3"))
    axe_check(page)
    expect(main).to_contain_text("A strongly critical story")
    expect(main).not_to_contain_text("A mildly critical story")

    # A bad filter says what is wrong.
    page.get_by_label("Service code").fill("RYY-W1")
    main.get_by_role("button", name="Apply filters").click()
    expect(main).to_contain_text("Choose a service inside your organisation's services")
    axe_check(page)
    page.get_by_label("Service code").fill("RXX01")
    main.get_by_role("button", name="Apply filters").click()

    main.get_by_role("link", name="A strongly critical story").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("A strongly critical story")
    axe_check(page)
    expect(main.locator(".cs-progress")).to_have_text("Progress: Read")  # someone opened it
    assert StoryRead.objects.filter(story=critical, user=live_world.responder).exists()

    page.get_by_label("Tag", exact=True).fill("Follow up")
    page.get_by_label("Shared (my organisation)").check()
    page.get_by_label("Negative").check()
    main.get_by_role("button", name="Add tag").click()
    expect(main.locator(".cs-staff-tags")).to_contain_text("Follow up")
    axe_check(page)
    assert StaffTag.objects.get().visibility == StaffTag.Visibility.SHARED

    main.get_by_role("button", name="Respond to this story").click()
    expect(page).to_have_url(re.compile(rf"/stories/{critical.public_id}/respond/"))
    axe_check(page)
    assert AnsweringMarker.objects.filter(story=critical, user=live_world.responder).exists()
