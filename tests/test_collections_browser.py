"""Headless Chromium on a live studio: an editor makes a team collection in the gallery's
side bar, adds a video from the selection bar, saves a filter and opens it; a viewer
sees both and is offered no removal; the side bar is a left column at 1280 px and a
fold above the grid at 390 px, with nothing past the width.

The videos are real 4 s renders of the local renderer, made through /v1/videos.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import launch_browser, shot, sign_in, wait_for_js
from tests.live import ADMIN_USERNAME, LiveStudio, live_studio

pytestmark = [pytest.mark.browser, pytest.mark.live]
playwright_sync = pytest.importorskip("playwright.sync_api")
PASSWORD = "collections-pw-1"
SIDE_LOADED = "!!document.querySelector('#gallery-side .gallery-side__section')"


def seed() -> None:
    """The team Crew: the studio's admin, lin (editor), vic (viewer); run in the studio."""
    from django.contrib.auth import get_user_model

    from videos_app.models import Membership, Team

    users = get_user_model().objects
    team = Team.objects.create(name="Crew", slug="crew")
    Membership.objects.create(team=team, user=users.get(username=ADMIN_USERNAME), role="admin")
    for name, role in (("lin", "editor"), ("vic", "viewer")):
        user = users.create_user(username=name, password=PASSWORD)
        Membership.objects.create(team=team, user=user, role=role)


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStudio]:
    for running in live_studio(tmp_path_factory.mktemp("collections-studio")):
        running.seed("tests.test_collections_browser")
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_browser()


@pytest.fixture(scope="module")
def video_ids(studio: LiveStudio) -> list[str]:
    """Two finished 4 s renders in the team Crew (newest first)."""
    prompts = ("A lighthouse on a cliff at dusk", "A red fox in the snow")
    return studio.render(*prompts, team="crew", within=240)[::-1]


def page_as(browser: Any, studio: LiveStudio, username: str, width: int = 1280) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.errors = errors
    if username == ADMIN_USERNAME:
        sign_in(page, studio)
    else:
        sign_in(page, studio, username, PASSWORD)
    return page


def test_a_collection_and_a_saved_filter_in_the_side_bar(
    studio: LiveStudio, browser: Any, video_ids: list[str]
) -> None:
    fox, lighthouse = video_ids
    lin = page_as(browser, studio, "lin")
    wait_for_js(lin, SIDE_LOADED)
    lin.click("#gallery-side summary:has-text('New collection')")
    lin.fill("#new-collection-name", "Selects")
    lin.select_option("#new-collection-team", label="Crew")
    lin.click("#gallery-side button:has-text('Make')")
    lin.wait_for_selector(".collection-head h2:has-text('Selects')")
    assert "empty" in lin.inner_text(".collection-head")

    lin.goto(studio.url + "/")
    lin.check(f"#card-{lighthouse} input[name=v]")
    lin.click("button:has-text('Add to collection')")
    lin.check("label.albums-choice:has-text('Selects') input")
    lin.click("button:has-text('Add')")
    lin.wait_for_selector(".collection-head h2:has-text('Selects')")
    assert lin.locator("#gallery-grid article.card").count() == 1
    assert lin.locator(f"#card-{lighthouse}").count() == 1
    collection_url = lin.url

    lin.goto(studio.url + "/?q=fox")
    lin.click("#save-filter")
    lin.fill("#id_name", "Foxes")
    lin.select_option("#id_team", label="Crew")
    lin.click("button:has-text('Save')")
    lin.wait_for_selector(f"#card-{fox}")
    wait_for_js(lin, SIDE_LOADED)
    assert lin.locator("#gallery-side a:has-text('Foxes')").count() == 1
    assert not lin.errors, lin.errors

    vic = page_as(browser, studio, "vic")
    vic.goto(collection_url)
    wait_for_js(vic, SIDE_LOADED)
    assert vic.locator("#gallery-side a:has-text('Selects')").count() == 1
    assert vic.locator("button:has-text('Remove from collection')").count() == 0
    vic.click("#gallery-side a:has-text('Foxes')")
    vic.wait_for_selector(f"#card-{fox}")
    assert vic.locator(f"#card-{lighthouse}").count() == 0

    for width in (1280, 390):
        page = page_as(browser, studio, "lin", width)
        page.goto(collection_url)
        wait_for_js(page, SIDE_LOADED)
        side = page.locator("#gallery-side").bounding_box()
        results = page.locator("#gallery-results").bounding_box()
        if width == 1280:  # a column on the left, always open
            assert side["x"] + side["width"] <= results["x"]
            assert not page.locator(".gallery-side__summary").is_visible()
        else:  # a fold above the filters and the grid
            assert side["y"] + side["height"] <= results["y"]
            assert page.locator(".gallery-side__summary").is_visible()
        assert page.locator("#gallery-side a[aria-current=page]:has-text('Selects')").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot(page, f"collections-gallery-{width}")
        page.goto(studio.url + "/")
        wait_for_js(page, SIDE_LOADED)
        shot(page, f"collections-gallery-all-{width}")
        assert not page.errors, page.errors
