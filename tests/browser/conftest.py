"""Browser fixtures: Debian's Chromium driven by Playwright, the live site with committed
personas, and the helpers every browser test uses (visit with an axe-core check, sign in).

Playwright's own browser downloads are never used: the tests launch /usr/bin/chromium.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_django.fixtures import Settings

from carestory.outbox.testing import SmtpSink
from conftest import World
from tests.factories import TEST_PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
AXE_JS = Path(__file__).parent / "vendor" / "axe.min.js"
RESULTS_DIR = Path(__file__).resolve().parents[2] / "test-results"
BLOCKING_IMPACTS = {"serious", "critical"}
DEFAULT_TIMEOUT_MS = 10_000


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the session; every test gets fresh contexts from it."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} does not exist: install Debian's chromium to run browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_page(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Callable[[], Any]]:
    """A factory of pages, each in its own fresh context (its own cookies: one person each).

    The site's CSP (``script-src 'self'``) refuses the inline script that
    ``page.add_script_tag`` uses to inject axe-core, so contexts bypass CSP.
    On failure, a screenshot of every page goes to test-results/.
    """
    contexts: list[Any] = []

    def make() -> Any:
        context = chromium.new_context(bypass_csp=True, locale="en-GB")
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make

    report = getattr(request.node, "rep_call", None)
    failed = report is not None and report.failed
    try:
        if failed:
            RESULTS_DIR.mkdir(exist_ok=True)
            stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
            for c_index, context in enumerate(contexts):
                for p_index, page in enumerate(context.pages):
                    path = RESULTS_DIR / f"{stem}-{c_index}-{p_index}.png"
                    try:
                        page.screenshot(path=str(path), full_page=True)
                    except Exception as exc:  # a crashed page must not hide the real failure
                        print(f"screenshot {path} failed: {exc}")
                    else:
                        print(f"screenshot: {path} ({page.url})")
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def browser_page(new_page: Callable[[], Any]) -> Any:
    """A page in a fresh browser context."""
    return new_page()


@pytest.fixture
def live_world(transactional_db: None, django_db_serialized_rollback: None) -> World:
    """The personas, committed so the live server's thread can see them.

    Serialized rollback puts the data migrations' rows (the tags) back for later tests,
    since a transactional test ends by emptying every table.
    """
    return World()


@pytest.fixture
def site(live_server: Any, settings: Settings, smtp_sink: SmtpSink) -> str:
    """The live server's address; emailed links point at it, and email goes to the sink."""
    settings.SITE_URL = live_server.url
    return str(live_server.url)


def visit(page: Any, url: str) -> None:
    """Go to ``url`` and fail on any serious accessibility violation there."""
    page.goto(url)
    axe_check(page)


def main(page: Any) -> Any:
    return page.locator("main")


def staff_sign_in(page: Any, site: str, email: str) -> None:
    """Sign in on the staff form with the test password, and for an account that needs MFA
    (moderators, administrators) a code from its test authenticator (``tests/mfa.py``); the
    pages after it are checked too."""
    from playwright.sync_api import expect

    from carestory.accounts.mfa import mfa_required
    from carestory.accounts.models import User
    from tests.mfa import mfa_code, mfa_enrol

    user = User.objects.get(email=email)
    second_step = mfa_required(user)
    if second_step:
        mfa_enrol(user)
    visit(page, f"{site}/staff/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    main(page).get_by_role("button", name="Sign in").click()
    if second_step:
        expect(page).to_have_url(re.compile(r"/staff/mfa/code/"))
        axe_check(page)
        page.get_by_label("Code").fill(mfa_code(user))
        main(page).get_by_role("button", name="Continue").click()
    expect(page).not_to_have_url(re.compile(r"/staff/(login|mfa)/"))
    axe_check(page)


def workbench_publish(page: Any, site: str, *, criticality: str) -> None:
    """On a story's workbench: rate it and publish; the moderator is back on an empty queue."""
    from playwright.sync_api import expect

    page.get_by_label("Criticality (staff only, never public)").select_option(label=criticality)
    main(page).get_by_role("button", name="Publish", exact=True).click()
    expect(page).to_have_url(f"{site}/moderation/")
    expect(main(page)).to_contain_text("No stories are waiting.")
    axe_check(page)


def _describe(violation: dict[str, Any]) -> str:
    nodes = "\n".join(
        f"      {', '.join(map(str, node.get('target', [])))}: {node.get('html', '')[:200]}"
        for node in violation.get("nodes", [])
    )
    return (
        f"  [{violation['impact']}] {violation['id']}: {violation['help']}"
        f" ({violation.get('helpUrl', '')})\n{nodes}"
    )


def axe_check(page: Any) -> list[dict[str, Any]]:
    """Run axe-core on the current page; fail listing every serious or critical violation.

    Returns all violations (including minor and moderate ones) for callers that want them.
    """
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    results = page.evaluate("async () => await axe.run(document)")
    violations: list[dict[str, Any]] = results["violations"]
    blocking = [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]
    for violation in violations:
        if violation not in blocking:  # shown with the output of a failing test, or with -s
            print(f"axe (not failing) on {page.url}:\n{_describe(violation)}")
    if blocking:
        details = "\n".join(_describe(v) for v in blocking)
        pytest.fail(f"axe-core found accessibility violations on {page.url}:\n{details}")
    return violations
