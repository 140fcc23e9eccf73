"""A user in headless Chromium: sign in, create, watch progress, play, download, delete."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import launch_browser, shot, sign_in, wait_for_js
from tests.live import ADMIN_PASSWORD, ADMIN_USERNAME, LiveStudio, live_studio

pytestmark = [pytest.mark.browser, pytest.mark.live]

playwright_sync = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStudio]:
    yield from live_studio(tmp_path_factory.mktemp("browser-studio"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_browser()


def test_a_user_creates_watches_plays_downloads_and_deletes_a_video(
    studio: LiveStudio, browser: object, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, accept_downloads=True)  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto(studio.url + "/")
    assert "/login/" in page.url
    shot(page, "01-login")
    page.fill("input[name=username]", ADMIN_USERNAME)
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(studio.url + "/")
    shot(page, "02-empty-gallery")
    assert page.get_by_text("No videos yet").is_visible()

    page.get_by_role("link", name="New video").first.click()
    page.fill("textarea[name=prompt]", "A neon city at night, slow drift over glowing towers")
    page.select_option("select[name=size]", "1792x1024")
    page.select_option("select[name=seconds]", "20")
    shot(page, "03-create-form")
    page.get_by_role("button", name="Create video").click()
    page.wait_for_url(re.compile(r"/videos/video_[0-9a-f]+$"))
    video_url = page.url

    # The progress bar is polled by htmx and moves while the worker renders.
    values: list[int] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and page.locator("video#player").count() == 0:
        bar = page.locator("progress#job-progress")
        if bar.count():
            # The element may be swapped out between the two calls.
            with contextlib.suppress(playwright_sync.Error):
                values.append(int(bar.get_attribute("value", timeout=500) or 0))
            if len(values) == 3:
                shot(page, "04-progress")
        time.sleep(0.1)
    distinct = sorted(set(values))
    assert len(distinct) >= 2 and any(0 < v < 100 for v in distinct), distinct

    player = page.locator("video#player")
    player.wait_for(timeout=120_000)
    shot(page, "05-completed")
    # It plays: currentTime advances.
    page.evaluate("document.querySelector('#player').muted = true")
    page.evaluate("document.querySelector('#player').play()")
    wait_for_js(page, "document.querySelector('#player').currentTime > 0.5")
    # And it seeks (the server answers Range requests) and plays on from there.
    page.evaluate("document.querySelector('#player').currentTime = 15")
    wait_for_js(page, "document.querySelector('#player').currentTime > 15.3")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download MP4").click()
    download = download_info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    assert target.suffix == ".mp4" and target.read_bytes()[4:8] == b"ftyp"

    page.get_by_role("link", name="Delete…").click()
    shot(page, "06-confirm-delete")
    page.get_by_role("button", name="Delete video").click()
    page.wait_for_url(studio.url + "/")
    assert page.get_by_text("Video deleted").is_visible()
    assert page.get_by_text("No videos yet").is_visible()
    assert errors == [], errors  # no CSP violation, no failed request on the way
    assert page.goto(video_url).status == 404  # type: ignore[union-attr]
    context.close()


def test_the_gallery_updates_running_jobs_with_one_poll(
    studio: LiveStudio, browser: object
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    client = studio.client()
    ids = []
    for size in ("720x1280", "1280x720", "1024x1792"):
        response = client.post(
            "/videos/new",
            data={
                "prompt": f"ocean waves at sunset {size}",
                "model": "sora-2",
                "size": size,
                "seconds": "8",
            },
            files={"reference_image": ("", b"")},
        )
        ids.append(response.headers["location"].rsplit("/", 1)[1])
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/videos/progress" in r.url else None)
    sign_in(page, studio)
    shot(page, "07-gallery-running")
    for video_id in ids:
        page.locator(f"#card-{video_id} img").wait_for(timeout=120_000)
    shot(page, "08-gallery-done")
    assert polls, "the gallery never polled"
    # One request per poll carries all the running jobs, never one request per card.
    from urllib.parse import parse_qs, urlsplit

    first = parse_qs(urlsplit(polls[0]).query)["ids"][0].split(",")
    assert sorted(first) == sorted(ids)
    # Once every job is done (286), polling stops.
    count = len(polls)
    time.sleep(3)
    assert len(polls) == count
    context.close()


def wait_for_completed(page: object, timeout: float = 180) -> None:
    page.locator("video#player").wait_for(timeout=timeout * 1000)  # type: ignore[attr-defined]


def test_a_user_remixes_extends_and_edits_and_uses_a_character(
    studio: LiveStudio, browser: object, tmp_path: Path
) -> None:
    from tests.api_helpers import mp4_bytes

    context = browser.new_context(viewport={"width": 1280, "height": 1000})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, studio)

    # A character from a short clip.
    clip = tmp_path / "pixel.mp4"
    clip.write_bytes(mp4_bytes())
    page.get_by_role("link", name="Characters").click()
    page.fill("input[name=name]", "Pixel")
    page.set_input_files("input[name=video]", str(clip))
    page.get_by_role("button", name="Create character").click()
    page.get_by_text("Character “Pixel” created.").wait_for()
    shot(page, "09-characters")

    # A video that uses it, picked on the create form.
    page.get_by_role("link", name="New video").first.click()
    page.fill("textarea[name=prompt]", "A calm ocean at sunset, slow drift")
    page.select_option("select[name=size]", "1280x720")
    page.get_by_label("Pixel").check()
    shot(page, "10-create-with-character")
    page.get_by_role("button", name="Create video").click()
    wait_for_completed(page)
    source_url = page.url
    shot(page, "11-completed-with-tools")

    # Remix from the detail page.
    page.locator("#tool-remix summary").click()
    page.fill("textarea[name=remix-prompt]", "A calm ocean at night, slow drift")
    page.get_by_role("button", name="Remix").click()
    page.wait_for_url(re.compile(r"/videos/video_[0-9a-f]+$"))
    assert page.url != source_url
    wait_for_completed(page)
    assert page.get_by_text("Remixed", exact=False).first.is_visible()
    shot(page, "12-remix")

    # Extend the source by 4 s.
    page.goto(source_url)
    page.locator("#tool-extend summary").click()
    page.fill("textarea[name=extend-prompt]", "The sun sinks below the sea")
    page.select_option("select[name=extend-seconds]", "4")
    page.get_by_role("button", name="Extend").click()
    page.wait_for_url(re.compile(r"/videos/video_[0-9a-f]+$"))
    wait_for_completed(page)
    duration = page.evaluate("document.querySelector('#player').duration")
    assert 7.5 < duration < 8.5, duration  # 4 s + 4 s, stitched
    shot(page, "13-extension")

    # Edit the source.
    page.goto(source_url)
    page.locator("#tool-edit summary").click()
    page.fill("textarea[name=edit-prompt]", "black and white, mirror")
    page.get_by_role("button", name="Edit").click()
    page.wait_for_url(re.compile(r"/videos/video_[0-9a-f]+$"))
    wait_for_completed(page)
    shot(page, "14-edit")

    # The source's page now lists its three derivatives.
    page.goto(source_url)
    derived = page.locator(".chain--children li")
    assert derived.count() == 3
    shot(page, "15-lineage")
    assert errors == [], errors
    context.close()
