"""A person finds their GP practice by postcode and tells a story about it.

Uses the shipped demo slice of real NHS data (The Densham Surgery, A81001, TS18 1HU) and its
postcodes, as a newcomer's `make run` would have them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from carestory.outbox.services import outbox_drain
from carestory.outbox.testing import SmtpSink
from carestory.services.demo import demo_postcodes_load, demo_tree_load
from carestory.stories.models import Story, Tag
from carestory.stories.vocabulary import tags_ensure
from tests.browser.conftest import axe_check

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_tree(transactional_db: None, django_db_serialized_rollback: None) -> None:
    tags_ensure(Tag)
    demo_tree_load()
    demo_postcodes_load()


def test_find_gp_practice_by_postcode_and_tell_a_story(
    demo_tree: None, site: str, smtp_sink: SmtpSink, new_page: Callable[[], Any]
) -> None:
    page = new_page()
    page.goto(f"{site}/tell-your-story/")
    axe_check(page)
    search = page.get_by_label("Search by name, town, code or postcode")

    # With JavaScript, suggestions appear as the person types, nearest first.
    search.fill("TS18 1HU")
    suggestions = page.locator("#service-q-suggestions")
    expect(suggestions).to_be_visible()
    expect(suggestions.locator("li").first).to_contain_text("The Densham Surgery")
    expect(suggestions.locator("li").first).to_contain_text("km away")
    axe_check(page)

    # The plain search (what a person without JavaScript gets) gives the same answer.
    page.locator("main").get_by_role("button", name="Search").click()
    results = page.locator("main ul.nhsuk-list--border").last
    first = results.locator("li").first
    expect(first).to_contain_text("The Densham Surgery")
    expect(first).to_contain_text("0.0 km away")
    axe_check(page)
    first.get_by_role("link", name="Choose The Densham Surgery").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Tell your story")
    expect(page.locator("main")).to_contain_text("The Densham Surgery")
    page.get_by_label("What was your story about?").fill("Helpful receptionist")
    page.get_by_label("What happened? How did you feel?").fill(
        "The receptionist found me an appointment the same day and the GP was thorough."
    )
    page.get_by_role("group", name="Who are you in this story?").get_by_label(
        "Patient", exact=True
    ).check()
    page.get_by_label("Screen name").fill("Teesside patient")
    page.get_by_label("Email address").fill("gp.patient@example.org")
    page.get_by_label("I agree to my story being published").check()
    page.get_by_role("button", name="Send my story").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    axe_check(page)

    story = Story.objects.get()
    assert [s.code for s in story.services.all()] == ["A81001"]
    outbox_drain()
    [email] = smtp_sink.find(to="gp.patient@example.org", subject_contains="Confirm your story")
    link = re.search(re.escape(site) + r"/verify/[^/\s]+/", email.text)
    assert link
    page.goto(link.group(0))
    page.locator("main").get_by_role("button", name="Confirm my story").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("your story is confirmed")
    story.refresh_from_db()
    assert story.status == Story.Status.IN_MODERATION
