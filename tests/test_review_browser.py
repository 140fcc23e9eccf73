"""Headless Chromium on a live studio: synchronised compare, and comments that seek.

The videos are real 4 s renders of the local renderer, made through /v1/videos.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import launch_browser, shot, sign_in, wait_for_js
from tests.live import LiveStudio, live_studio

pytestmark = [pytest.mark.browser, pytest.mark.live]
playwright_sync = pytest.importorskip("playwright.sync_api")

PLAYERS = "Array.from(document.querySelectorAll('[data-compare-player]'))"
TIMES = f"{PLAYERS}.map(p => p.currentTime)"


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStudio]:
    yield from live_studio(tmp_path_factory.mktemp("review-studio"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_browser()


@pytest.fixture(scope="module")
def two_videos(studio: LiveStudio) -> list[str]:
    """Two finished 4 s renders with different prompts and seeds."""
    return studio.render(
        "A red kite over green hills at noon", "A blue kite over green hills at dusk"
    )


def spread(times: list[float]) -> float:
    return max(times) - min(times)


def test_compare_plays_pauses_and_seeks_in_sync(
    studio: LiveStudio, browser: object, two_videos: list[str]
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, studio)
    page.goto(f"{studio.url}/compare/?v={two_videos[0]}&v={two_videos[1]}")
    wait_for_js(page, f"{PLAYERS}.every(p => p.readyState >= 2)")
    assert page.evaluate(f"{PLAYERS}.length") == 2
    # One set of controls: the players' own are hidden, one of them is audible.
    assert page.evaluate(f"{PLAYERS}.map(p => p.controls)") == [False, False]
    assert sorted(page.evaluate(f"{PLAYERS}.map(p => p.muted)")) == [False, True]

    page.click("#compare-play")
    time.sleep(1.5)
    first = page.evaluate(TIMES)
    assert min(first) > 0.5, first
    assert spread(first) < 0.1, first
    # Still advancing together: sample the spread while they play.
    samples = []
    for _ in range(5):
        time.sleep(0.1)
        samples.append(spread(page.evaluate(TIMES)))
    later = page.evaluate(TIMES)
    assert min(later) > max(first) + 0.2, (first, later)
    assert max(samples) < 0.1, samples
    shot(page, "review-compare-playing")

    page.click("#compare-play")  # pause
    wait_for_js(page, f"{PLAYERS}.every(p => p.paused && !p.seeking)")
    assert spread(page.evaluate(TIMES)) < 0.1

    # Seek with the shared bar: every player goes there.
    page.fill("#compare-seek", "3")
    wait_for_js(page, f"{PLAYERS}.every(p => !p.seeking)")
    times = page.evaluate(TIMES)
    assert all(abs(t - 3.0) < 0.1 for t in times), times
    assert page.evaluate(f"{PLAYERS}.every(p => p.paused)")
    assert page.text_content("#compare-time") == "0:03.0 / 0:04.0"

    # Seek back and play: a follower knocked 0.4 s off is brought back in step.
    page.fill("#compare-seek", "0.2")
    page.click("#compare-play")
    page.evaluate(f"{PLAYERS}[1].currentTime += 0.4")
    in_step = f"{PLAYERS}.every(p => !p.paused && !p.seeking && p.currentTime > 0.3)"
    spread_js = f"Math.max(...{TIMES}) - Math.min(...{TIMES})"
    # Brought back within a few seconds (the machine may be busy), then kept in step.
    wait_for_js(page, f"{in_step} && {spread_js} < 0.1", timeout=3)
    times = page.evaluate(TIMES)
    time.sleep(0.3)
    after = page.evaluate(TIMES)
    assert spread(times) < 0.1 and spread(after) < 0.1, (times, after)
    assert min(after) > max(times), (times, after)  # and they play on
    page.click("#compare-play")
    wait_for_js(page, f"{PLAYERS}.every(p => p.paused)")
    assert errors == [], errors
    context.close()


def test_a_comment_at_a_moment_seeks_the_player(
    studio: LiveStudio, browser: object, two_videos: list[str]
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, studio)
    page.goto(f"{studio.url}/videos/{two_videos[0]}")
    wait_for_js(page, "document.querySelector('#player').readyState >= 1")
    # Park the player at 2.0 s and tick "At the player's current time".
    page.evaluate("document.querySelector('#player').currentTime = 2.0")
    wait_for_js(page, "!document.querySelector('#player').seeking")
    page.check("#comment-at-now")
    assert page.input_value("#comment-at") == "2.000"
    page.fill("#comment-body", "The kite turns here")
    page.get_by_role("button", name="Comment", exact=True).click()
    link = page.locator("#comments a.seek")
    link.wait_for()
    assert link.get_attribute("data-seek") == "2.000"
    assert link.inner_text().strip() == "0:02.0"
    shot(page, "review-comment")

    # Move away, then click the moment: the player seeks back to it.
    page.evaluate("document.querySelector('#player').currentTime = 0")
    wait_for_js(page, "document.querySelector('#player').currentTime < 0.1")
    link.click()
    wait_for_js(page, "Math.abs(document.querySelector('#player').currentTime - 2.0) < 0.05")
    assert page.url.endswith(f"/videos/{two_videos[0]}")  # no navigation to the file
    assert errors == [], errors
    context.close()
