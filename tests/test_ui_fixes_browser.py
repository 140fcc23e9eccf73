"""The review's UI fixes in headless Chromium: compare's keys after its Play button, the
phone's Filters count and results bar, short pushed URLs, un-favoriting in "My
favorites", running videos in the selection, and the presets page for a viewer."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.live import ADMIN_PASSWORD, ADMIN_USERNAME, LiveStudio, live_studio

pytestmark = [pytest.mark.browser, pytest.mark.live]

playwright_sync = pytest.importorskip("playwright.sync_api")

from tests.browser import launch_browser, shot, sign_in, wait_for_js  # noqa: E402

VIEWER, VIEWER_PASSWORD = "vic", "viewer-password-1"
# (prompt, status, favorite of the admin); newest last.
SEED = [
    ("A red kite over green hills at noon", "completed", True),
    ("A blue kite over green hills at dusk", "completed", True),
    ("Waves on a black sand beach, slow motion", "completed", False),
    ("A paper boat in a rain gutter, rendering", "in_progress", False),
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def seed() -> None:
    """Run inside the studio: videos with real files, favorites, and a viewer."""
    from django.contrib.auth import get_user_model
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from PIL import Image

    from tests.factories import mp4_bytes
    from videos_app.models import Favorite, Membership, Team, Video, asset_path

    admin = get_user_model().objects.get(username=ADMIN_USERNAME)
    team, _ = Team.objects.get_or_create(slug="crew", defaults={"name": "Crew"})
    Membership.objects.get_or_create(team=team, user=admin, defaults={"role": "admin"})
    viewer = get_user_model().objects.create_user(username=VIEWER, password=VIEWER_PASSWORD)
    Membership.objects.create(team=team, user=viewer, role="viewer")
    clip = mp4_bytes(4.0, (320, 180))
    for prompt, status, favorite in SEED:
        video = Video.objects.create(
            owner=admin, team=team, prompt=prompt, size="1280x720", seconds=4, status=status,
            progress=100 if status == "completed" else 40,
        )  # fmt: skip
        # Files even for the running one, so that it can be finished by flipping its status.
        buffer = io.BytesIO()
        Image.new("RGB", (160, 90), (90, 90, 110)).save(buffer, format="WEBP")
        video.thumbnail_file = default_storage.save(
            asset_path(video, "thumbnail.webp"), ContentFile(buffer.getvalue())
        )
        video.video_file = default_storage.save(asset_path(video, "video.mp4"), ContentFile(clip))
        video.save()
        if favorite:
            Favorite.objects.create(user=admin, video=video)


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStudio]:
    for running in live_studio(tmp_path_factory.mktemp("ui-fixes-studio")):
        running.seed("tests.test_ui_fixes_browser")
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_browser()


def open_page(
    studio: LiveStudio,
    browser: Any,
    viewport: dict[str, int] = DESKTOP,
    username: str = ADMIN_USERNAME,
    password: str = ADMIN_PASSWORD,
) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, studio, username, password)
    return context, page, errors


@pytest.fixture
def desktop(studio: LiveStudio, browser: Any) -> Iterator[Any]:
    context, page, errors = open_page(studio, browser)
    yield page
    context.close()
    assert not errors, errors


@pytest.fixture
def phone(studio: LiveStudio, browser: Any) -> Iterator[Any]:
    context, page, errors = open_page(studio, browser, PHONE)
    yield page
    context.close()
    assert not errors, errors


def ids(studio: LiveStudio) -> dict[str, str]:
    """{prompt: id} of the seeded videos."""
    out = studio.manage(
        "shell", "--no-imports", "-c",
        "from videos_app.models import Video\n"
        "for v in Video.objects.all(): print(v.pk + '\\t' + v.prompt)",
    )  # fmt: skip
    return {prompt: pk for pk, prompt in (line.split("\t") for line in out.splitlines() if line)}


def cards(page: Any) -> int:
    return int(page.evaluate("document.querySelectorAll('#gallery-grid article.card').length"))


def wait_until(condition: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# --- Compare -------------------------------------------------------------------------------

PLAYERS = "Array.from(document.querySelectorAll('[data-compare-player]'))"
LEADER_TIME = f"Math.max(...{PLAYERS}.map(p => p.currentTime))"


def test_compare_keys_work_after_pressing_play_and_on_the_seek_bar(
    desktop: Any, studio: LiveStudio
) -> None:
    page = desktop
    known = ids(studio)
    a, b = known[SEED[0][0]], known[SEED[1][0]]
    page.goto(f"{studio.url}/compare/?v={a}&v={b}")
    wait_for_js(page, f"{PLAYERS}.every(p => p.readyState >= 2)")
    playing = "document.getElementById('compare').classList.contains('compare--playing')"

    page.click("#compare-play")
    wait_for_js(page, playing)
    assert page.evaluate("document.activeElement.id") == "compare-play"
    page.keyboard.press("k")  # the play button has focus: K still pauses (well before the end)
    wait_for_js(page, f"!{playing} && {PLAYERS}.every(p => p.paused && !p.seeking)", timeout=2)
    assert page.evaluate(LEADER_TIME) < 3

    page.evaluate(f"{PLAYERS}.forEach(p => p.currentTime = 1)")
    wait_for_js(page, f"{PLAYERS}.every(p => !p.seeking)")
    page.keyboard.press("ArrowRight")
    wait_for_js(page, f"{PLAYERS}.every(p => !p.seeking && Math.abs(p.currentTime - 2) < 0.05)")
    page.keyboard.press("ArrowLeft")
    wait_for_js(page, f"{PLAYERS}.every(p => !p.seeking && Math.abs(p.currentTime - 1) < 0.05)")
    assert page.text_content("#compare-time") == "0:01.0 / 0:04.0"

    # Space on the focused button presses it once (its own activation, not twice).
    page.keyboard.press(" ")
    wait_for_js(page, playing)
    time.sleep(0.3)
    assert page.evaluate(playing)
    page.keyboard.press(" ")
    wait_for_js(page, f"!{playing} && {PLAYERS}.every(p => p.paused && !p.seeking)")
    shot(page, "ui-fixes-compare-1280")

    # On the focused seek bar the arrows step a second too (not its 0.01 step).
    page.evaluate(f"{PLAYERS}.forEach(p => p.currentTime = 1)")
    wait_for_js(page, f"{PLAYERS}.every(p => !p.seeking)")
    page.focus("#compare-seek")
    page.keyboard.press("ArrowRight")
    wait_for_js(page, f"{PLAYERS}.every(p => !p.seeking && Math.abs(p.currentTime - 2) < 0.05)")
    page.keyboard.press("ArrowUp")
    wait_for_js(page, f"{PLAYERS}.every(p => !p.seeking && Math.abs(p.currentTime - 3) < 0.05)")
    page.keyboard.press("ArrowLeft")
    wait_for_js(page, f"{PLAYERS}.every(p => !p.seeking && Math.abs(p.currentTime - 2) < 0.05)")
    assert abs(float(page.input_value("#compare-seek")) - 2) < 0.05
    page.keyboard.press("k")
    wait_for_js(page, playing)
    page.keyboard.press("k")
    wait_for_js(page, f"!{playing}")
    page.set_viewport_size(PHONE)
    # Side by side on a phone too: the players share a row, each within the screen.
    boxes = page.evaluate(
        f"{PLAYERS}.map(p => {{ const r = p.getBoundingClientRect(); "
        "return [r.left, r.top, r.right]; })"
    )
    assert len(boxes) == 2 and abs(boxes[0][1] - boxes[1][1]) < 1, boxes
    assert boxes[0][2] <= boxes[1][0] and boxes[1][2] <= PHONE["width"], boxes
    shot(page, "ui-fixes-compare-390")


# --- Gallery -------------------------------------------------------------------------------


def location(page: Any) -> str:
    return str(page.evaluate("location.href"))


def test_phone_filter_count_follows_htmx_and_urls_leave_out_defaults(
    phone: Any, studio: LiveStudio
) -> None:
    page = phone
    summary = ".filters__summary"
    assert page.inner_text(summary).strip() == "Filters"
    page.click(summary)
    page.select_option("select[name=status]", "completed")
    wait_until(lambda: "status=completed" in location(page) and cards(page) == 3)
    wait_until(lambda: page.inner_text(summary).strip() == "Filters · 1 set")
    assert "sort=" not in location(page)  # the default sort stays out of the URL
    shot(page, "ui-fixes-phone-filters-390")

    page.select_option("select[name=sort]", "oldest")
    wait_until(lambda: "sort=oldest" in location(page))
    assert page.inner_text(summary).strip() == "Filters · 1 set"  # the sort is not a filter
    page.select_option("select[name=sort]", "newest")
    wait_until(lambda: "sort=" not in location(page))
    assert location(page) == studio.url + "/?status=completed"

    page.select_option("select[name=status]", "")
    wait_until(lambda: location(page) == studio.url + "/" and cards(page) == 4)
    wait_until(lambda: page.inner_text(summary).strip() == "Filters")  # after the swap

    # Back and forward still step through the changes.
    page.go_back()
    wait_until(lambda: location(page) == studio.url + "/?status=completed" and cards(page) == 3)
    page.go_back()
    wait_until(lambda: "sort=oldest" in location(page))
    wait_until(lambda: page.input_value("select[name=sort]") == "oldest")  # restored page
    assert page.inner_text(summary).strip() == "Filters · 1 set"


def test_wide_filter_change_pushes_no_defaults(desktop: Any, studio: LiveStudio) -> None:
    page = desktop
    page.select_option("select[name=review]", "draft")
    wait_until(lambda: "review=draft" in location(page))
    assert location(page) == studio.url + "/?review=draft"
    shot(page, "ui-fixes-gallery-1280")


def test_phone_results_bar_lines_up(phone: Any) -> None:
    page = phone
    bar = page.locator(".results-bar__actions").bounding_box()
    compare = page.locator("[data-compare]").bounding_box()
    export_all = page.locator(".results-bar__actions a.button").bounding_box()
    assert abs(compare["x"] - bar["x"]) < 1, (compare, bar)
    assert abs(export_all["x"] - bar["x"]) < 1 or export_all["y"] == compare["y"]
    shot(page, "ui-fixes-phone-gallery-390")


def test_unfavoriting_in_my_favorites_removes_the_card(desktop: Any, studio: LiveStudio) -> None:
    page = desktop
    page.goto(studio.url + "/?favorites=on")
    assert cards(page) == 2
    assert page.inner_text("#result-count").strip() == "2 videos match"
    first = page.locator("#gallery-grid article.card").first
    gone = first.get_attribute("id")
    first.locator(".fav__button").click()
    wait_until(lambda: cards(page) == 1)
    wait_until(lambda: page.inner_text("#result-count").strip() == "1 video matches")
    assert page.locator(f"#{gone}").count() == 0
    shot(page, "ui-fixes-favorites-1280")
    # It is out of the favorites for good; favoriting it again elsewhere still works.
    page.goto(studio.url + "/?favorites=on")
    assert cards(page) == 1
    page.goto(studio.url + "/")
    page.locator(f"#{gone} .fav__button").click()
    wait_for_js(page, f"document.querySelector('#{gone} .fav__button').ariaPressed === 'true'")
    assert cards(page) == 4  # not in "My favorites": nothing leaves


def test_running_videos_can_be_picked_for_download_and_keep_the_tick(
    desktop: Any, studio: LiveStudio
) -> None:
    page = desktop
    known = ids(studio)
    running, kite = known[SEED[3][0]], known[SEED[0][0]]
    box = page.get_by_role("checkbox", name=f"Select for download: {SEED[3][0]}")
    assert box.count() == 1
    assert page.get_by_role("checkbox", name=f"Select for compare or download: {SEED[0][0]}")
    box.check()
    page.locator(f'input[name="v"][value="{kite}"]').check()
    assert page.text_content("#selection-count") == "2 selected — only finished videos compare"
    assert page.locator("[data-compare]").is_disabled()
    assert page.locator("[data-export]").is_enabled()
    shot(page, "ui-fixes-running-picked-1280")

    # It finishes: the progress poll swaps its card in, still ticked, and now comparable.
    studio.manage(
        "shell", "--no-imports", "-c",
        "from videos_app.models import Video\n"
        f"Video.objects.filter(pk='{running}').update(status='completed', progress=100)",
    )  # fmt: skip
    wait_for_js(page, f"!!document.querySelector('#card-{running} img')", timeout=30)
    wait_until(lambda: page.text_content("#selection-count") == "2 selected")
    assert page.locator(f'input[name="v"][value="{running}"]').is_checked()
    assert (
        page.locator(f'input[name="v"][value="{running}"]').get_attribute("data-unfinished") is None
    )
    assert page.locator("[data-compare]").is_enabled()


def test_the_presets_page_tells_a_viewer_their_role(studio: LiveStudio, browser: Any) -> None:
    for name, viewport in (("1280", DESKTOP), ("390", PHONE)):
        context, page, errors = open_page(studio, browser, viewport, VIEWER, VIEWER_PASSWORD)
        page.goto(studio.url + "/presets/")
        text = page.inner_text(".split .panel")
        assert "You are a viewer in Crew; only editors and admins save presets." in text
        assert "not in a team" not in text
        shot(page, f"ui-fixes-presets-viewer-{name}")
        context.close()
        assert not errors, errors
