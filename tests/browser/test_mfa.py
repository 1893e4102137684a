"""MFA in a real browser: a moderator with no authenticator signs in, is sent to enrol, reads
the key off the page, turns MFA on with a code, sees the recovery codes once and reaches the
queue; signing in again asks for a code. axe-core runs on every page."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
from playwright.sync_api import expect

from carestory.accounts.models import MFADevice
from conftest import World
from tests.browser.conftest import axe_check, main, visit
from tests.factories import TEST_PASSWORD
from tests.mfa import mfa_code

pytestmark = pytest.mark.browser


def test_enrol_then_sign_in_with_a_code(
    live_world: World, site: str, new_page: Callable[[], Any]
) -> None:
    world = live_world
    page = new_page()

    def password() -> None:
        visit(page, f"{site}/staff/login/?next=/moderation/")
        page.get_by_label("Email address").fill(world.moderator.email)
        page.get_by_label("Password").fill(TEST_PASSWORD)
        main(page).get_by_role("button", name="Sign in").click()

    password()
    expect(page).to_have_url(re.compile(r"/staff/mfa/enrol/"))
    axe_check(page)
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    secret = page.locator("#mfa-secret").inner_text().replace(" ", "")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    main(page).get_by_role("button", name="Turn on").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    axe_check(page)
    main(page).get_by_role("link", name="I have saved my codes").click()
    expect(page).to_have_url(f"{site}/moderation/")
    assert MFADevice.objects.get(user=world.moderator).confirmed_at is not None

    page.get_by_role("button", name="Sign out").first.click()
    password()
    expect(page).to_have_url(re.compile(r"/staff/mfa/code/"))
    axe_check(page)
    page.get_by_label("Code").fill(mfa_code(world.moderator))
    main(page).get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{site}/moderation/")
