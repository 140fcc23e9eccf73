"""Headless Chromium on a live studio: a mention raises the inbox count in the other
user's top bar, and marking it read lowers it (at 1280 and 390 px)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import launch_browser, shot, sign_in, wait_for_js
from tests.live import ADMIN_USERNAME, LiveStudio, live_studio

pytestmark = [pytest.mark.browser, pytest.mark.live]
playwright_sync = pytest.importorskip("playwright.sync_api")

WRITER, WRITER_PASSWORD = "ivan", "ivan-live-password-1"
PROMPT = "A lighthouse on a cliff at dusk, waves below"
COUNT = "document.querySelector('[data-inbox-count]')"


def seed() -> None:
    """Run inside the studio: a team of the admin and ivan, and the admin's finished video."""
    from django.contrib.auth import get_user_model
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from PIL import Image

    from tests.factories import mp4_bytes
    from videos_app.models import Membership, Team, Video, asset_path

    admin = get_user_model().objects.get(username=ADMIN_USERNAME)
    team, _ = Team.objects.get_or_create(slug="crew", defaults={"name": "Crew"})
    Membership.objects.get_or_create(team=team, user=admin, defaults={"role": "admin"})
    writer = get_user_model().objects.create_user(username=WRITER, password=WRITER_PASSWORD)
    Membership.objects.create(team=team, user=writer, role="viewer")
    video = Video.objects.create(
        owner=admin, team=team, prompt=PROMPT, size="1280x720", seconds=4, status="completed",
        progress=100,
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
    yield from live_studio(tmp_path_factory.mktemp("inbox-studio"))


@pytest.fixture(scope="module")
def video_id(studio: LiveStudio) -> str:
    out = studio.seed("tests.test_inbox_browser")
    return out.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_browser()


def badge(page: Any) -> tuple[str, bool, str]:
    """The inbox link's accessible name, whether the count shows, and its text."""
    link = page.locator("#inbox-link")
    count = page.locator("[data-inbox-count]")
    return link.get_attribute("aria-label"), count.is_visible(), count.inner_text()


@pytest.mark.parametrize(
    ("name", "viewport"),
    [("1280", {"width": 1280, "height": 900}), ("390", {"width": 390, "height": 844})],
)
def test_a_mention_raises_the_count_and_reading_lowers_it(
    studio: LiveStudio, browser: Any, video_id: str, name: str, viewport: dict[str, int]
) -> None:
    reader = browser.new_context(viewport=viewport).new_page()
    writer = browser.new_context(viewport=viewport).new_page()
    errors: list[str] = []
    for page in (reader, writer):
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(reader, studio)
    assert badge(reader)[:2] == ("Inbox", False)
    assert reader.locator("#inbox-link").is_visible()  # on a phone too, outside the menu

    sign_in(writer, studio, WRITER, WRITER_PASSWORD)
    writer.goto(f"{studio.url}/videos/{video_id}")
    writer.fill("#comment-body", f"@{ADMIN_USERNAME} the wave at {name} px looks off")
    writer.click("#comment-form button[type=submit]")
    # This comment, not the one an earlier case left on the same video.
    wait_for_js(
        writer,
        "[...document.querySelectorAll('.comments__list .comment')]"
        f".some((c) => c.innerText.includes('the wave at {name} px'))",
    )

    reader.reload()
    assert badge(reader) == ("Inbox, 1 unread", True, "1")
    shot(reader, f"inbox-badge-{name}")
    reader.click("#inbox-link")
    reader.wait_for_url(f"{studio.url}/inbox/")
    line = reader.locator(".inbox__item--unread")
    assert line.count() == 1 and f"the wave at {name} px" in line.inner_text()
    shot(reader, f"inbox-page-{name}")

    line.locator("button", has_text="Mark read").click()
    # The count and the line are two swaps of the one answer: wait for both.
    wait_for_js(reader, f"{COUNT}.hidden && !document.querySelector('.inbox__item--unread')")
    assert badge(reader)[:2] == ("Inbox", False)
    reader.reload()
    assert badge(reader)[:2] == ("Inbox", False)
    shot(reader, f"inbox-read-{name}")
    assert errors == []
