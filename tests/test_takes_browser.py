"""Takes in headless Chromium: the create form makes three takes, the first take's page
shows the strip, picking another swaps the strip (htmx) and the gallery keeps only the
pick; at 1280 and 390 px."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import launch_browser, shot, sign_in, wait_for_js
from tests.live import LiveStudio, live_studio

pytestmark = [pytest.mark.browser, pytest.mark.live]

playwright_sync = pytest.importorskip("playwright.sync_api")

PROMPT = "A paper boat on a rainy street at dusk"


# The local renderer priced, so the estimate has a sum to multiply.
PRICED = """
from decimal import Decimal
from videos_app.models import ModelRoute, Provider
ModelRoute.objects.create(
    name="local-paid", provider=Provider.objects.get(name="local"), price_per_second=Decimal("0.10")
)
"""


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStudio]:
    for studio in live_studio(tmp_path_factory.mktemp("takes-studio")):
        studio.manage("shell", "-c", PRICED)
        yield studio


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_browser()


def wait_until_finished(page: Any, studio: LiveStudio, urls: list[str]) -> None:
    """Every take rendered (its page says so), reloading as a user would."""
    deadline = time.monotonic() + 240
    for url in urls:
        page.goto(url)
        while not page.locator("#player").count():
            assert "This video failed" not in page.content(), studio.tail()
            assert time.monotonic() < deadline, studio.tail()
            time.sleep(1)
            page.reload()


def test_three_takes_are_made_shown_as_a_strip_and_one_is_picked(
    studio: LiveStudio, browser: Any
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, studio)
    page.goto(studio.url + "/videos/new")
    page.fill("textarea[name=prompt]", PROMPT)
    page.select_option("select[name=seconds]", "4")
    page.select_option("select[name=n]", "3")
    shot(page, "takes-create-1280")
    page.click("button[type=submit]:has-text('Create video')")
    page.wait_for_url(re.compile(r"/videos/video_\w+$"))
    strip = page.locator("#take-strip")
    assert "Take 1 of 3" in strip.inner_text()
    urls = [
        studio.url + str(href)
        for href in page.eval_on_selector_all(
            "#take-strip .take__link", "links => links.map(a => a.getAttribute('href'))"
        )
    ]
    assert len(set(urls)) == 3
    wait_until_finished(page, studio, urls)

    page.goto(urls[1])
    assert "Take 2 of 3" in page.inner_text("#take-strip")
    page.click("#take-strip button:has-text('Pick this take')")
    page.wait_for_selector("#take-strip :text('Take 2 picked by')")
    assert page.locator("#take-strip .take--discarded").count() == 2
    assert page.locator("#take-strip button:has-text('Undo the pick')").count() == 1
    assert page.locator("#take-strip :text('Continue from this take')").count() == 1
    shot(page, "takes-picked-1280")

    # The gallery keeps the pick; the discarded takes are a filter away.
    page.goto(studio.url + "/")
    cards = page.locator(f".card:has-text('{PROMPT}')")
    assert cards.count() == 1
    page.goto(studio.url + "/?discarded=1")
    assert page.locator(f".card:has-text('{PROMPT}')").count() == 2
    assert errors == []

    phone = browser.new_context(viewport={"width": 390, "height": 844})
    small = phone.new_page()
    sign_in(small, studio)
    small.goto(urls[0])
    assert "Take 1 of 3" in small.inner_text("#take-strip")
    box = small.locator("#take-strip").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    shot(small, "takes-discarded-390")
    small.goto(studio.url + "/videos/new")
    shot(small, "takes-create-390")
    phone.close()
    context.close()


def test_the_estimate_counts_every_take(studio: LiveStudio, browser: Any) -> None:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, studio)
    page.goto(studio.url + "/videos/new")
    page.select_option("select[name=model]", "local-paid")
    page.select_option("select[name=seconds]", "4")
    page.select_option("select[name=n]", "3")
    times = "\N{MULTIPLICATION SIGN}"
    expected = f"Estimated cost: $1.20 (3 takes {times} 4 s {times} $0.10/s)"
    wait_for_js(page, f"document.getElementById('cost-estimate').textContent === '{expected}'")
    page.select_option("select[name=n]", "1")
    expected = f"Estimated cost: $0.40 (4 s {times} $0.10/s)"
    wait_for_js(page, f"document.getElementById('cost-estimate').textContent === '{expected}'")
    page.context.close()
