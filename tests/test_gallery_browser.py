"""The gallery in headless Chromium: filters and search through htmx and the URL (with the
back button), hover-scrub over spritesheets, and the lightbox's keyboard."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.live import ADMIN_USERNAME, LiveStudio, live_studio

pytestmark = [pytest.mark.browser, pytest.mark.live]

playwright_sync = pytest.importorskip("playwright.sync_api")

from tests.browser import launch_browser, shot, sign_in, wait_for_js  # noqa: E402

# Tile i of a seeded spritesheet is this colour, so a screenshot tells which tile shows.
COLS = ROWS = 5


def tile_colour(i: int) -> tuple[int, int, int]:
    return (40 + i * 8, 220 - i * 8, (i * 53) % 256)


# (prompt, size, seconds, status); newest last.
SEED = [
    ("A lighthouse on a cliff at dusk, waves breaking", "720x1280", 4, "completed"),
    ("A neon city at night, slow drift over glowing towers", "1280x720", 8, "completed"),
    ("Morning fog in a pine forest, birds flying", "1280x720", 12, "completed"),
    ("A red balloon over a wheat field", "720x1280", 4, "completed"),
    ("Waves on a black sand beach, slow motion", "1792x1024", 8, "completed"),
    ("A paper boat in a rain gutter", "720x1280", 4, "failed"),
]


def seed() -> None:
    """Videos with real (small) files for the studio's admin; run inside the studio."""
    from django.contrib.auth import get_user_model
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from PIL import Image

    from tests.factories import mp4_bytes
    from videos_app.models import Membership, Team, Video, asset_path

    admin = get_user_model().objects.get(username=ADMIN_USERNAME)
    team, _ = Team.objects.get_or_create(slug="crew", defaults={"name": "Crew"})
    Membership.objects.get_or_create(team=team, user=admin, defaults={"role": "admin"})
    clip = mp4_bytes(2.0, (320, 240))
    for n, (prompt, size, seconds, status) in enumerate(SEED):
        video = Video.objects.create(
            owner=admin, team=team, prompt=prompt, size=size, seconds=seconds, status=status,
            progress=100, review_state="approved" if n == 1 else "draft",
        )  # fmt: skip
        if status != "completed":
            continue
        w, h = (int(x) // 8 for x in size.split("x"))
        sheet = Image.new("RGB", (w * COLS, h * ROWS))
        for i in range(COLS * ROWS):
            tile = Image.new("RGB", (w, h), tile_colour(i))
            sheet.paste(tile, (i % COLS * w, i // COLS * h))
        files = {
            "spritesheet_file": ("spritesheet.jpg", sheet, "JPEG"),
            "thumbnail_file": ("thumbnail.webp", Image.new("RGB", (w, h), (90, 90, 110)), "WEBP"),
        }
        for field, (name, image, fmt) in files.items():
            buffer = io.BytesIO()
            image.save(buffer, format=fmt, quality=95)
            path = default_storage.save(asset_path(video, name), ContentFile(buffer.getvalue()))
            setattr(video, field, path)
        video.video_file = default_storage.save(asset_path(video, "video.mp4"), ContentFile(clip))
        video.save()


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStudio]:
    for running in live_studio(tmp_path_factory.mktemp("gallery-studio")):
        running.seed("tests.test_gallery_browser")
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_browser()


@pytest.fixture
def page(studio: LiveStudio, browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console",
        lambda m: errors.append(f"{m.text} {m.location} {page.url}") if m.type == "error" else None,
    )
    sign_in(page, studio)
    yield page
    context.close()
    assert not errors, errors  # no CSP violations, no script errors


def cards(page: Any) -> int:
    return int(page.evaluate("document.querySelectorAll('#gallery-grid article.card').length"))


def settle(page: Any, url_part: str, count: int) -> None:
    """Wait until the URL holds url_part and the grid shows ``count`` cards."""
    deadline = time.monotonic() + 30
    while not (url_part in location(page) and cards(page) == count):
        assert time.monotonic() < deadline, (location(page), cards(page))
        time.sleep(0.05)


def location(page: Any) -> str:
    return str(page.evaluate("location.href"))


def test_filters_and_search_update_the_grid_and_the_url(page: Any, studio: LiveStudio) -> None:
    assert cards(page) == len(SEED)
    assert "6 videos" in page.inner_text("#result-count")
    # A mark on the window survives only if the page is never reloaded.
    page.evaluate("window.galleryMark = 'kept'")

    page.select_option("select[name=size]", "1280x720")
    settle(page, "size=1280x720", 2)
    assert "2 videos match" in page.inner_text("#result-count")
    assert "q=" not in location(page)  # empty fields are left out of the pushed URL

    page.fill("input[name=q]", "neon towers")
    settle(page, "q=neon%20towers", 1)
    assert "size=1280x720" in location(page)
    assert "neon city" in page.inner_text("#gallery-grid")
    assert page.evaluate("window.galleryMark") == "kept"
    shot(page, "gallery-10-filtered")

    page.fill("input[name=q]", "submarine")
    settle(page, "q=submarine", 0)
    assert page.get_by_text("No videos match").is_visible()
    shot(page, "gallery-11-no-match")

    # Back: the previous filters, in the grid and in the filter bar.
    page.go_back()
    settle(page, "q=neon%20towers", 1)
    wait_for_js(page, "document.querySelector('input[name=q]').value === 'neon towers'")
    page.go_back()
    settle(page, "size=1280x720", 2)
    assert page.input_value("select[name=size]") == "1280x720"
    assert page.input_value("input[name=q]") == ""
    page.go_back()
    settle(page, studio.url + "/", len(SEED))
    assert "size=" not in location(page)

    # A shared link opens filtered, and the filters still work after back / forward.
    page.goto(studio.url + "/?review=approved")
    assert cards(page) == 1 and page.input_value("select[name=review]") == "approved"


def test_hover_scrub_changes_the_frame_shown(page: Any) -> None:
    from PIL import Image

    media = page.locator("#gallery-grid .card__media[data-sprite]").first
    media.scroll_into_view_if_needed()
    box = media.bounding_box()
    scrub = media.locator(".card__scrub")
    assert scrub.is_hidden()
    seen = {}
    for fraction, tile in ((0.01, 0), (0.5, 12), (0.99, 24)):
        page.mouse.move(box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2)
        wait_for_js(
            page,
            "document.querySelector('#gallery-grid .card__media[data-sprite]')"
            f".dataset.frame === '{tile}'",
        )
        assert scrub.is_visible()
        # The tile's colour on screen (once the sheet has loaded).
        deadline = time.monotonic() + 10
        while True:
            image = Image.open(io.BytesIO(scrub.screenshot(caret="initial"))).convert("RGB")
            pixel = image.getpixel((image.width // 2, image.height // 2))
            expected = tile_colour(tile)
            if all(abs(a - b) <= 12 for a, b in zip(pixel, expected, strict=True)):
                break
            assert time.monotonic() < deadline, (tile, pixel, expected)
            time.sleep(0.1)
        seen[tile] = scrub.evaluate("e => e.style.backgroundPosition")
    assert seen == {0: "0% 0%", 12: "50% 50%", 24: "100% 100%"}
    shot(page, "gallery-12-scrub")
    page.mouse.move(5, 5)
    wait_for_js(page, "document.querySelector('#gallery-grid .card__scrub').hidden")


def test_touch_scrubs_too(studio: LiveStudio, browser: Any) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
    )
    page = context.new_page()
    sign_in(page, studio)
    shot(page, "gallery-13-phone")
    media = page.locator("#gallery-grid .card__media[data-sprite]").first
    media.scroll_into_view_if_needed()
    box = media.bounding_box()
    y = box["y"] + box["height"] / 2
    # A finger moving across the thumbnail: touchstart, touchmoves, touchend.
    cdp = context.new_cdp_session(page)
    frame_js = "document.querySelector('#gallery-grid .card__media[data-sprite]').dataset.frame"
    frames = []
    for kind, fraction in (("touchStart", 0.05), ("touchMove", 0.3), ("touchMove", 0.95)):
        point = {"x": box["x"] + box["width"] * fraction, "y": y}
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [point]})
        time.sleep(0.3)
        frames.append(page.evaluate(frame_js))
    assert frames[0] is None  # a touch alone does not scrub; moving does
    assert int(frames[1]) in range(6, 9) and int(frames[2]) >= 23, frames
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    context.close()


def test_the_lightbox_plays_and_the_arrow_keys_change_video(page: Any) -> None:
    sources = page.evaluate(
        "[...document.querySelectorAll('#gallery-grid .card__media[data-video]')]"
        ".map(e => e.dataset.video)"
    )
    assert len(sources) == 5
    page.locator("#gallery-grid .card__media[data-video]").nth(1).click()
    wait_for_js(page, "document.getElementById('lightbox').open")
    assert "/videos/" not in page.url.split("127.0.0.1")[1].strip("/")  # still the gallery

    def current() -> str:
        return str(page.evaluate("document.querySelector('#lightbox video').getAttribute('src')"))

    assert current() == sources[1]
    assert page.evaluate("document.activeElement.id") == "lightbox"
    page.keyboard.press("ArrowRight")
    assert current() == sources[2]
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert current() == sources[0]
    page.keyboard.press("ArrowLeft")  # wraps around
    assert current() == sources[-1]
    assert page.inner_text(".lightbox__position") == f"{len(sources)} / {len(sources)}"

    # Space plays and pauses (muted, so autoplay rules do not get in the way).
    page.evaluate("document.querySelector('#lightbox video').muted = true")
    page.evaluate("document.querySelector('#lightbox video').pause()")
    page.keyboard.press(" ")
    wait_for_js(page, "!document.querySelector('#lightbox video').paused")
    wait_for_js(page, "document.querySelector('#lightbox video').currentTime > 0.2")
    shot(page, "gallery-14-lightbox")
    page.keyboard.press(" ")
    wait_for_js(page, "document.querySelector('#lightbox video').paused")

    page.keyboard.press("Escape")
    wait_for_js(page, "!document.getElementById('lightbox').open")
    # Focus goes back to the thumbnail the lightbox last showed (on the close event, a
    # task after the dialog closes).
    wait_for_js(
        page,
        "document.activeElement === document.querySelectorAll("
        "'#gallery-grid .card__media[data-video]')[4]",
    )
    assert current() == "None"


def test_the_selection_bar_says_why_compare_is_off(page: Any) -> None:
    boxes = page.locator('input[name="v"][form="gallery-selection"]')
    compare = page.locator("[data-compare]")
    assert compare.is_disabled()
    boxes.nth(0).check()
    assert "tick one more to compare" in page.text_content("#selection-count")
    assert compare.is_disabled()
    boxes.nth(1).check()
    assert page.text_content("#selection-count") == "2 selected"
    assert compare.is_enabled()
    for n in range(2, 5):
        boxes.nth(n).check()
    assert "compare takes 2 to 4" in page.text_content("#selection-count")
    assert compare.is_disabled()
    assert page.locator("[data-export]").is_enabled()
