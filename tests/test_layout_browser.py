"""Layout at a desk's width (1440 x 900) and a phone's (390 x 844), measured in Chromium: the
gallery packs mixed shapes without holes, character tiles keep a bounded height, the phone's
first screen reaches the first card, and a video's comment box is in view with its player."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import pytest

from tests.factories import mp4_bytes
from tests.live import LiveStudio, live_studio

pytestmark = [pytest.mark.browser, pytest.mark.live]

playwright_sync = pytest.importorskip("playwright.sync_api")

from tests.browser import launch_browser, shot, sign_in, wait_for_js  # noqa: E402

DESK = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
SCREENS = {"desk": DESK, "phone": PHONE}


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStudio]:
    for running in live_studio(tmp_path_factory.mktemp("layout-studio")):
        # Mixed shapes in an order that leaves holes in a grid of columns.
        running.seed("tests.test_gallery_browser")
        client = running.client()
        for name, size in [("Tall Tess", (360, 640)), ("Wide Walt", (640, 360))]:
            clip = ("clip.mp4", mp4_bytes(2.0, size), "video/mp4")
            response = client.post("/characters", data={"name": name}, files={"video": clip})
            assert response.status_code == 302, response.text[:500]
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_browser()


@pytest.fixture(params=list(SCREENS))
def page(request: pytest.FixtureRequest, studio: LiveStudio, browser: Any) -> Iterator[Any]:
    phone = request.param == "phone"
    context = browser.new_context(viewport=SCREENS[request.param], has_touch=phone, is_mobile=phone)
    page = context.new_page()
    page.screen_name = request.param
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, studio)
    yield page
    context.close()
    assert not errors, errors


def rects(page: Any, selector: str) -> list[dict[str, float]]:
    return list(
        page.eval_on_selector_all(
            selector,
            "els => els.map(e => { const r = e.getBoundingClientRect();"
            " return {top: r.top + scrollY, bottom: r.bottom + scrollY, left: r.left,"
            " right: r.right, width: r.width, height: r.height}; })",
        )
    )


def viewport_rect(page: Any, selector: str) -> dict[str, float]:
    return dict(page.eval_on_selector(selector, "e => e.getBoundingClientRect().toJSON()"))


def test_gallery_cards_leave_no_hole_beneath_and_keep_the_page_order(page: Any) -> None:
    page.wait_for_selector("#gallery-grid article.card")
    shot(page, f"layout-gallery-{page.screen_name}")
    cards = rects(page, "#gallery-grid article.card")
    assert len(cards) == 6
    gap = float(
        page.evaluate(
            "parseFloat(getComputedStyle(document.querySelector('#gallery-grid')).rowGap)"
        )
    )
    rows: dict[int, list[dict[str, float]]] = {}
    for card in cards:
        rows.setdefault(round(card["top"]), []).append(card)
    tops = sorted(rows)
    for top, below_top in pairwise(tops):
        reach = max(card["right"] for card in rows[below_top])
        for card in rows[top]:
            # Beneath each card: the next row, one gap down (where that row reaches; only
            # the last row may end early).
            assert below_top - card["bottom"] <= gap + 2, (card, below_top)
            if card["left"] >= reach - 1:
                assert below_top == tops[-1], (card, rows)
    for card in rows[tops[-1]]:
        assert abs(card["bottom"] - rows[tops[-1]][0]["bottom"]) <= 2, rows[tops[-1]]
    # Reading order: top to bottom, then left to right, is the page's (and the keyboard's).
    order = sorted(range(len(cards)), key=lambda i: (round(cards[i]["top"]), cards[i]["left"]))
    assert order == list(range(len(cards)))
    # Within a row the posters are one height, whatever their shape.
    posters = rects(page, "#gallery-grid article.card .card__media")
    heights: dict[int, list[float]] = {}
    for poster in posters:
        heights.setdefault(round(poster["top"]), []).append(poster["height"])
    for row in heights.values():
        assert max(row) - min(row) <= 2, heights


def test_character_tiles_have_a_bounded_height(page: Any, studio: LiveStudio) -> None:
    page.goto(studio.url + "/characters")
    shot(page, f"layout-characters-{page.screen_name}")
    tiles = rects(page, ".people .person")
    assert len(tiles) == 2
    for tile in tiles:
        assert tile["height"] <= 480, tiles
    posters = rects(page, ".people .person img")
    assert len({round(p["height"]) for p in posters}) == 1, posters  # portrait and landscape alike


def test_the_first_screen_reaches_the_first_card_and_the_menu_opens(page: Any) -> None:
    toggle = page.locator(".topbar__toggle")
    if page.screen_name == "desk":
        assert not toggle.is_visible()
        assert page.locator(".topbar__nav").is_visible()
        assert page.inner_text(".page-head p").count("Hover over a thumbnail") == 1
        return
    header = page.evaluate("document.querySelector('.topbar').getBoundingClientRect().height")
    assert header <= 72  # one line: brand, New video, Menu
    first = rects(page, "#gallery-grid article.card")[0]
    assert first["top"] + 200 <= PHONE["height"], first  # at least 200 px of it in view
    assert "Slide a finger across a thumbnail" in page.inner_text(".page-head p")
    assert not page.locator(".topbar__nav").is_visible()
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    assert page.locator(".topbar__nav a", has_text="Characters").is_visible()
    assert page.locator(".topbar__user button", has_text="Sign out").is_visible()
    page.keyboard.press("Escape")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert not page.locator(".topbar__nav").is_visible()


@pytest.mark.parametrize("shape", ["portrait", "landscape"])
def test_the_comment_box_is_in_view_with_the_player(
    page: Any, studio: LiveStudio, shape: str
) -> None:
    href = page.get_attribute(
        f"#gallery-grid article.card--{shape} a.card__media[data-video]", "href"
    )
    page.goto(studio.url + href)
    page.wait_for_selector("#player")
    shot(page, f"layout-detail-{shape}-{page.screen_name}")
    height = SCREENS[page.screen_name]["height"]
    player = viewport_rect(page, "#player")
    box = viewport_rect(page, "#comment-body")
    button = viewport_rect(page, "#comment-form button[type=submit]")
    assert player["top"] >= 0, player
    assert box["bottom"] <= height and button["bottom"] <= height, (player, box, button)
    # Not squeezed to make room: as tall as the page's width allows, up to 280 px.
    assert player["height"] >= min(280, player["width"] * 9 / 16 - 2), player


def test_timecode_is_a_preference_the_player_label_follows(page: Any, studio: LiveStudio) -> None:
    page.goto(studio.url + "/account/preferences")  # start from the default, whatever ran before
    page.check("input[name=time_format][value=clock]")
    page.click("form.panel button[type=submit]")
    page.goto(studio.url + "/")
    href = page.get_attribute("#gallery-grid article.card a.card__media[data-video]", "href")
    page.goto(studio.url + href)
    page.wait_for_selector("#player")
    label = page.locator("[data-at-now]")
    assert "(0:00.0)" in label.inner_text()
    page.click("#comments .comments__times button")  # "Show timecode": back on this page
    page.wait_for_selector('#comments[data-time-format="timecode"]')
    page.evaluate("document.getElementById('player').currentTime = 1.5")
    wait_for_js(page, "document.querySelector('[data-at-now]').innerText.includes('00:00:01:12')")
    page.click("#comments .comments__times button")  # and back
    page.wait_for_selector('#comments[data-time-format="clock"]')
