"""Stacks in headless Chromium: a stack of three versions is one card in the gallery
("v3 of 3", the scene's prompt), and its versions switch on the video page, at 1280 and
390 px with nothing past the width."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import launch_browser, shot, sign_in
from tests.live import ADMIN_USERNAME, LiveStudio, live_studio

pytestmark = [pytest.mark.browser, pytest.mark.live]

playwright_sync = pytest.importorskip("playwright.sync_api")

# A finished stack (create, remix, extend) and a video alone, with real MP4 files.
SEED = """
import json
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from tests.factories import image_bytes, mp4_bytes
from videos_app.models import Video

owner = get_user_model().objects.get(username=%r)
made, source = [], None
for operation, prompt in [
    ("create", "A red kite over the dunes at noon"),
    ("remix", "the same kite at dusk"),
    ("extend", "the kite lands in the sand"),
    ("create", "A quiet harbour in the fog"),
]:
    video = Video.objects.create(
        owner=owner, prompt=prompt, operation=operation, status="completed", progress=100,
        provider="local", size="1280x720", seconds=2,
        source=source if operation != "create" else None,
    )
    video.video_file.save(f"videos/{video.pk}/video.mp4", ContentFile(mp4_bytes(2, (1280, 720))))
    video.thumbnail_file.save(f"videos/{video.pk}/thumb.png", ContentFile(image_bytes(320, 180)))
    made.append(video.pk)
    source = video
print(json.dumps(made))
"""


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStudio]:
    yield from live_studio(tmp_path_factory.mktemp("stacks-studio"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_browser()


def fits(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_a_stack_is_one_card_and_its_versions_switch_on_the_video_page(
    studio: LiveStudio, browser: Any
) -> None:
    output = studio.manage("shell", "-c", SEED % ADMIN_USERNAME)
    ids = json.loads(output.strip().splitlines()[-1])  # after the shell's own line
    for width, height in ((1280, 900), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        errors = walk_through(context.new_page(), studio, ids, width)
        assert errors == []
        context.close()


def walk_through(page: Any, studio: LiveStudio, ids: list[str], width: int) -> list[str]:
    """The gallery's card, the versions on the video page, compare; the console's errors."""
    v1, v2, v3, alone = ids
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, studio)
    cards = page.locator("article.card")
    assert [cards.nth(i).get_attribute("id") for i in range(cards.count())] == [
        f"card-{alone}",
        f"card-{v3}",
    ]
    card = page.locator(f"#card-{v3}")
    assert "A red kite over the dunes at noon" in card.inner_text()
    assert "v3 of 3" in card.locator(".stack-badge").inner_text()
    assert "Extended: the kite lands in the sand" in card.inner_text()
    fits(page, width)
    shot(page, f"stacks-gallery-{width}")

    card.locator(".stack-badge").click()
    page.wait_for_url(f"**/videos/{v3}#stack-versions")
    versions = page.locator("#stack-versions li")
    assert versions.count() == 3
    assert "v3 of 3" in page.inner_text("#stack-versions h2")
    assert "Remixed: the same kite at dusk" in versions.nth(1).inner_text()
    page.click("#stack-versions a:has-text('v1')")
    page.wait_for_url(f"**/videos/{v1}#stack-versions")
    assert f"/videos/{v1}/media/video" in (page.get_attribute("#player", "src") or "")
    assert "v1 of 3" in page.inner_text("#stack-versions h2")
    fits(page, width)
    shot(page, f"stacks-video-{width}")

    # Any two side by side: v1 (this page's, ticked) and v2.
    page.check(f"#stack-versions input[value='{v2}']")
    page.click("#stack-versions button:has-text('Compare selected')")
    page.wait_for_url("**/compare/**")
    assert page.locator("video").count() == 2
    return errors
