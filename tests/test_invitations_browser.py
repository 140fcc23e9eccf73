"""An invitation in Chromium: an admin makes a one-time link on the team page, and a fresh
browser context (no session) opens it, makes an account and lands signed in, at a desk's
width and a phone's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.live import LiveStudio, live_studio

pytestmark = [pytest.mark.browser, pytest.mark.live]

playwright_sync = pytest.importorskip("playwright.sync_api")

from tests.browser import launch_browser, shot, sign_in  # noqa: E402

SCREENS = {"desk": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStudio]:
    yield from live_studio(tmp_path_factory.mktemp("invitations-studio"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_browser()


@pytest.mark.parametrize("screen", list(SCREENS))
def test_a_link_made_on_the_team_page_signs_a_newcomer_in(
    studio: LiveStudio, browser: Any, screen: str
) -> None:
    phone = screen == "phone"
    errors: list[str] = []
    admin = browser.new_context(viewport=SCREENS[screen], has_touch=phone, is_mobile=phone)
    page = admin.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, studio)
    page.goto(studio.url + "/teams/studio/")
    page.select_option("#invite-role", "editor")
    page.click("button[name=kind][value=link]")
    page.wait_for_selector("#new-link")
    link = page.input_value("#new-link")
    assert "/invite/" in link
    assert page.is_visible("button[data-copy=new-link]")  # copy.js ran (no CSP refusal)
    page.locator("#invitations").scroll_into_view_if_needed()
    shot(page, f"invitations-team-{screen}")
    admin.close()

    newcomer = browser.new_context(viewport=SCREENS[screen], has_touch=phone, is_mobile=phone)
    page = newcomer.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(link)
    assert "Join Studio" in page.inner_text("h1")
    shot(page, f"invitations-accept-{screen}")
    username = f"newcomer-{screen}"
    page.fill("input[name=username]", username)
    page.fill("input[name=password1]", "a long new password 7")
    page.fill("input[name=password2]", "a long new password 7")
    page.click("button[type=submit]:has-text('Make the account')")
    page.wait_for_url(studio.url + "/teams/studio/")
    assert "Welcome to Studio" in page.inner_text("main")
    assert username in (page.text_content(".topbar") or "")  # signed in as the new account
    shot(page, f"invitations-joined-{screen}")
    newcomer.close()
    assert not errors, errors
