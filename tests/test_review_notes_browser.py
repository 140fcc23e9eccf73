"""Headless Chromium on a live studio: range notes on the player's timeline, the editor's
keys, resolving a thread, and a drawing that comes back at its frame after a reload and
stays on the picture when the window is resized (1280 and 390 px)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import launch_browser, shot, sign_in, wait_for_js
from tests.live import LiveStudio, live_studio

pytestmark = [pytest.mark.browser, pytest.mark.live]
playwright_sync = pytest.importorskip("playwright.sync_api")

PLAYER = "document.querySelector('#player')"
FPS = 24
# The picture's rectangle inside the player (which letterboxes it), in the page's pixels.
PICTURE = f"""(() => {{
  const v = {PLAYER}; const r = v.getBoundingClientRect();
  const s = Math.min(r.width / v.videoWidth, r.height / v.videoHeight);
  const w = v.videoWidth * s, h = v.videoHeight * s;
  return {{left: r.left + (r.width - w) / 2, top: r.top + (r.height - h) / 2, width: w, height: h}};
}})()"""


def seed() -> None:
    """Run inside the studio: the admin's finished 4 s video (a real 24 fps MP4)."""
    import io

    from django.contrib.auth import get_user_model
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from PIL import Image

    from tests.factories import mp4_bytes
    from videos_app.models import Video, asset_path

    admin = get_user_model().objects.get(username="admin")
    video = Video.objects.create(
        owner=admin, prompt="A red kite over green hills", size="1280x720", seconds=4,
        status="completed", progress=100,
    )  # fmt: skip
    buffer = io.BytesIO()
    Image.new("RGB", (160, 90), (90, 90, 110)).save(buffer, format="WEBP")
    video.thumbnail_file = default_storage.save(
        asset_path(video, "thumbnail.webp"), ContentFile(buffer.getvalue())
    )
    video.video_file = default_storage.save(
        asset_path(video, "video.mp4"), ContentFile(mp4_bytes(4.0, (320, 180)))
    )
    video.save()
    print(video.pk)


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStudio]:
    yield from live_studio(tmp_path_factory.mktemp("notes-studio"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_browser()


def new_video(studio: LiveStudio) -> str:
    out = studio.seed("tests.test_review_notes_browser")
    return out.strip().splitlines()[-1]


def open_page(browser: Any, studio: LiveStudio, video_id: str, viewport: dict[str, int]) -> Any:
    page = browser.new_context(viewport=viewport).new_page()
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    sign_in(page, studio)
    page.goto(f"{studio.url}/videos/{video_id}")
    wait_for_js(page, f"{PLAYER}.readyState >= 2")
    return page


def park(page: Any, seconds: float) -> None:
    page.evaluate(f"{PLAYER}.pause(); {PLAYER}.currentTime = {seconds}")
    wait_for_js(page, f"!{PLAYER}.seeking && Math.abs({PLAYER}.currentTime - {seconds}) < 0.01")


def frame(page: Any) -> int:
    return int(page.evaluate(f"Math.floor({PLAYER}.currentTime * {FPS} + 0.02)"))


def test_a_range_note_from_the_keys_has_a_marker_that_plays_the_range(
    studio: LiveStudio, browser: Any
) -> None:
    page = open_page(browser, studio, new_video(studio), {"width": 1280, "height": 900})
    assert page.is_hidden("#notes-bar")  # no notes yet
    # I and O take the playhead's frame; C focuses the box without typing a "c".
    park(page, 1.0)
    page.keyboard.press("i")
    park(page, 2.5)
    page.keyboard.press("o")
    assert (page.input_value("#comment-at"), page.input_value("#comment-out")) == (
        "1.000",
        "2.500",
    )
    page.keyboard.press("c")
    assert page.evaluate("document.activeElement.id") == "comment-body"
    assert page.input_value("#comment-body") == ""
    page.keyboard.type("The kite dips here")  # typing "i", "o", "c" changes no field
    assert page.input_value("#comment-at") == "1.000"
    page.get_by_role("button", name="Comment", exact=True).click()

    # The marker appears without a reload: a span from 1/4 to 2.5/4 of the timeline.
    marker = page.locator(".notes-bar__note--range")
    marker.wait_for()
    assert page.is_visible("#notes-bar")
    track = page.locator("#notes-track").bounding_box()
    box = marker.bounding_box()
    assert abs((box["x"] - track["x"]) / track["width"] - 0.25) < 0.01, (box, track)
    assert abs(box["width"] / track["width"] - 0.375) < 0.01, (box, track)
    shot(page, "notes-range-1280")

    # Clicking it seeks to the in, plays, and pauses at the out.
    park(page, 0.0)
    marker.click()
    wait_for_js(page, f"!{PLAYER}.paused && {PLAYER}.currentTime >= 1.0", timeout=5)
    assert page.locator("#comments .comment--current").count() == 1  # its comment is marked
    assert page.evaluate(f"{PLAYER}.currentTime") < 2.0
    wait_for_js(page, f"{PLAYER}.paused && !{PLAYER}.seeking", timeout=6)
    assert frame(page) == 60, page.evaluate(f"{PLAYER}.currentTime")

    # "," and "." step one frame; K pauses; L plays, L again plays faster; J goes back.
    page.keyboard.press(".")
    wait_for_js(page, f"!{PLAYER}.seeking")
    assert frame(page) == 61
    page.keyboard.press(",")
    page.keyboard.press(",")
    wait_for_js(page, f"!{PLAYER}.seeking")
    assert frame(page) == 59
    park(page, 0.5)
    page.keyboard.press("l")
    wait_for_js(page, f"!{PLAYER}.paused")
    page.keyboard.press("l")
    assert page.evaluate(f"{PLAYER}.playbackRate") == 2
    page.keyboard.press("k")
    wait_for_js(page, f"{PLAYER}.paused")
    assert page.evaluate(f"{PLAYER}.playbackRate") == 1
    before = page.evaluate(f"{PLAYER}.currentTime")
    page.keyboard.press("j")
    wait_for_js(page, f"{PLAYER}.currentTime < {before} - 0.2", timeout=5)
    page.keyboard.press("k")

    # Resolving the thread folds it and dims its marker; reopening brings both back.
    page.get_by_role("button", name="Resolve").click()
    page.locator(".notes-bar__note--resolved").wait_for()
    assert page.is_hidden("#comments .comment__body")  # folded away
    assert "Resolved by admin" in page.inner_text(".thread__fold summary")
    shot(page, "notes-resolved-1280")
    page.click(".thread__fold summary")
    page.get_by_role("button", name="Reopen").click()
    page.locator(".notes-bar__note:not(.notes-bar__note--resolved)").wait_for()

    # ? opens the list of keys.
    page.keyboard.press("?")
    assert page.is_visible(".keys__list")
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator("#player").scroll_into_view_if_needed()
    shot(page, "notes-keys-390")
    assert page.errors == [], page.errors
    page.context.close()


def drag(page: Any, start: tuple[float, float], end: tuple[float, float]) -> None:
    """A drag across the picture between two points in 0-1 frame coordinates."""
    pic = page.evaluate(PICTURE)
    at = [(pic["left"] + x * pic["width"], pic["top"] + y * pic["height"]) for x, y in (start, end)]
    page.mouse.move(*at[0])
    page.mouse.down()
    page.mouse.move(*at[1], steps=6)
    page.mouse.up()


def assert_drawing_on_the_picture(page: Any) -> None:
    """The layer covers the picture exactly, and the rectangle drawn at 0.2-0.6 x 0.2-0.5
    sits there on it (measured in one go: the page may still be scrolling)."""
    wait_for_js(page, "!document.querySelector('#drawing-layer').hasAttribute('hidden')")
    time.sleep(0.1)  # a resize's observer runs after layout
    pic, layer, rect = page.evaluate(
        f"[{PICTURE}, ...['#drawing-layer', '#drawing-layer rect'].map("
        "s => document.querySelector(s).getBoundingClientRect().toJSON())]"
    )
    for key in ("left", "top", "width", "height"):
        assert abs(layer[key] - pic[key]) < 1.5, (key, layer, pic)
    expected = {
        "left": pic["left"] + 0.2 * pic["width"],
        "top": pic["top"] + 0.2 * pic["height"],
        "width": 0.4 * pic["width"],
        "height": 0.3 * pic["height"],
    }
    for key, value in expected.items():
        assert abs(rect[key] - value) < 2, (key, rect, expected)


@pytest.mark.parametrize(
    ("name", "viewport", "resized"),
    [
        # 700 px high: the player's height is capped, so the picture is pillarboxed.
        ("1280", {"width": 1280, "height": 700}, {"width": 390, "height": 844}),
        ("390", {"width": 390, "height": 844}, {"width": 1280, "height": 700}),
    ],
)
def test_a_drawing_comes_back_at_its_frame_and_stays_on_the_picture(
    studio: LiveStudio, browser: Any, name: str, viewport: dict[str, int], resized: dict[str, int]
) -> None:
    video_id = new_video(studio)
    page = open_page(browser, studio, video_id, viewport)
    park(page, 2.0)
    page.click("#draw-start")
    assert page.is_visible("#draw-bar") and page.input_value("#comment-at") == "2.000"
    page.click("[data-draw-kind=rect]")
    page.click("[data-draw-color=yellow]")
    drag(page, (0.2, 0.2), (0.6, 0.5))
    page.click("[data-draw-kind=arrow]")
    drag(page, (0.8, 0.8), (0.62, 0.52))
    page.click("[data-draw-kind=pen]")
    drag(page, (0.1, 0.9), (0.3, 0.7))
    shot(page, f"notes-draw-mode-{name}")
    page.click("#draw-undo")  # the stroke goes
    assert len(json.loads(page.input_value("#comment-drawing"))) == 2
    assert page.is_visible("#comment-drawn")
    page.click("#draw-done")
    page.fill("#comment-body", "Keep the kite inside this box")
    page.get_by_role("button", name="Comment", exact=True).click()
    page.locator("#comments [data-drawing]").wait_for()
    shapes = json.loads(page.get_attribute("#comments [data-drawing]", "data-drawing"))
    assert [(s["kind"], s["color"]) for s in shapes] == [("rect", "yellow"), ("arrow", "yellow")]
    (x0, y0), (x1, y1) = shapes[0]["points"]
    assert max(abs(x0 - 0.2), abs(y0 - 0.2), abs(x1 - 0.6), abs(y1 - 0.5)) < 0.01, shapes

    # After a reload, the drawing is on the picture at its frame and nowhere else.
    page.reload()
    wait_for_js(page, f"{PLAYER}.readyState >= 2")
    park(page, 0.5)
    assert page.get_attribute("#drawing-layer", "hidden") is not None
    page.click("#comments a.seek")
    wait_for_js(page, f"!{PLAYER}.seeking")
    assert frame(page) == 48
    assert_drawing_on_the_picture(page)
    assert page.locator("#drawing-layer path").count() == 1  # the arrow
    shot(page, f"notes-drawing-{name}")

    # Resized, the layer follows the picture.
    page.set_viewport_size(resized)
    assert_drawing_on_the_picture(page)
    shot(page, f"notes-drawing-{name}-resized")
    assert page.errors == [], page.errors
    page.context.close()
