"""A share link in Chromium: an admin shares a video from its page, a fresh browser
context (no session) opens the link, plays the video and comments with a name, and the
team then sees the comment on the video's page, at a desk's width and a phone's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.live import LiveStudio, live_studio

pytestmark = [pytest.mark.browser, pytest.mark.live]

playwright_sync = pytest.importorskip("playwright.sync_api")

from tests.browser import launch_browser, shot, sign_in, wait_for_js  # noqa: E402

SCREENS = {"desk": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStudio]:
    yield from live_studio(tmp_path_factory.mktemp("sharing-studio"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_browser()


@pytest.fixture(scope="module")
def video_id(studio: LiveStudio) -> str:
    """A finished 4 s render of the local renderer, made through /v1/videos."""
    return studio.render("A paper boat on a pond at noon")[0]


def context_for(browser: Any, screen: str) -> Any:
    phone = screen == "phone"
    return browser.new_context(viewport=SCREENS[screen], has_touch=phone, is_mobile=phone)


@pytest.mark.parametrize("screen", list(SCREENS))
def test_a_visitor_without_a_session_plays_and_comments_and_the_team_sees_it(
    studio: LiveStudio, browser: Any, video_id: str, screen: str
) -> None:
    errors: list[str] = []

    def watch(page: Any) -> Any:
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        return page

    team = context_for(browser, screen)
    page = watch(team.new_page())
    sign_in(page, studio)
    page.goto(f"{studio.url}/videos/{video_id}")
    page.wait_for_selector("#video-shares-title")  # the box came in by htmx
    page.click("#video-shares a:has-text('Share link…')")
    page.fill("input[name=label]", f"For the client ({screen})")
    shot(page, f"sharing-new-{screen}")
    page.click("button:has-text('Make the link')")
    link = page.input_value("#new-share-link")
    assert "/s/" in link
    assert page.is_visible("button[data-copy=new-share-link]")  # copy.js ran
    shot(page, f"sharing-created-{screen}")

    visitor = context_for(browser, screen)
    guest = watch(visitor.new_page())
    guest.goto(link)
    assert "For the client" in guest.inner_text("h1")
    assert "A paper boat" in guest.inner_text(".shared-video__title")
    guest.evaluate("() => { const v = document.querySelector('video'); v.muted = true; v.play(); }")
    wait_for_js(guest, "document.querySelector('video').currentTime > 0.3")
    guest.evaluate("() => document.querySelector('video').pause()")
    guest.fill("input[name=name]", "Ana from the agency")
    guest.fill("textarea[name=body]", f"The boat should be red ({screen})")
    guest.check("[data-at-now] input")  # sharing.js ran: the moment comes from the player
    guest.click("button:has-text('Comment')")
    guest.wait_for_selector(f"text=The boat should be red ({screen})")
    guest.evaluate("() => { const v = document.querySelector('video'); v.currentTime = 3.5; }")
    guest.click(".comment--guest a.seek")  # the moment seeks the player back
    wait_for_js(guest, "document.querySelector('video').currentTime < 3")
    assert "Ana from the agency" in guest.inner_text("main")
    assert not visitor.cookies() or all(c["name"] != "sessionid" for c in visitor.cookies())
    shot(guest, f"sharing-visitor-{screen}")
    visitor.close()

    page.goto(f"{studio.url}/videos/{video_id}")
    page.wait_for_selector(f"#video-shares >> text=The boat should be red ({screen})")
    shares = page.inner_text("#video-shares")
    assert "Ana from the agency" in shares and f"via share link For the client ({screen})" in shares
    page.locator("#video-shares").scroll_into_view_if_needed()
    shot(page, f"sharing-video-page-{screen}")
    page.goto(f"{studio.url}/teams/studio/shares/")
    assert f"For the client ({screen})" in page.inner_text("main")
    shot(page, f"sharing-team-{screen}")
    team.close()
    assert not errors, errors


@pytest.mark.parametrize("screen", list(SCREENS))
def test_a_link_made_from_the_gallery_asks_its_passphrase_once(
    studio: LiveStudio, browser: Any, video_id: str, screen: str
) -> None:
    team = context_for(browser, screen)
    page = team.new_page()
    sign_in(page, studio)
    assert page.is_disabled("button[data-share]")  # nothing ticked yet
    page.check(f"input[name=v][value={video_id}]", force=True)
    page.locator("#gallery-results .results-bar").scroll_into_view_if_needed()
    shot(page, f"sharing-gallery-{screen}")
    page.click("button[data-share]")
    assert page.is_checked(f"input[name=videos][value={video_id}]")
    page.fill("input[name=passphrase]", "paper boats float")
    page.click("button:has-text('Make the link')")
    link = page.input_value("#new-share-link")
    team.close()

    visitor = context_for(browser, screen)
    guest = visitor.new_page()
    guest.goto(link)
    assert guest.locator("video").count() == 0
    guest.fill("input[name=passphrase]", "wrong guess")
    guest.click("button:has-text('Open')")
    assert "not the passphrase" in guest.inner_text("main")
    shot(guest, f"sharing-passphrase-{screen}")
    guest.fill("input[name=passphrase]", "paper boats float")
    guest.click("button:has-text('Open')")
    guest.wait_for_selector("video")
    guest.goto(link)  # the browser stays unlocked
    assert guest.locator("video").count() == 1
    visitor.close()
