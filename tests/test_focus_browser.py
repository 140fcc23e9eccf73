"""Keyboard focus in headless Chromium: a focused gallery card shows its focus ring."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import launch_browser, sign_in
from tests.live import ADMIN_USERNAME, LiveStudio, live_studio

pytestmark = [pytest.mark.browser, pytest.mark.live]


def seed() -> None:
    """One finished video (no files needed for the card) for the admin; run in the studio."""
    from django.contrib.auth import get_user_model

    from videos_app.models import Video

    admin = get_user_model().objects.get(username=ADMIN_USERNAME)
    Video.objects.create(owner=admin, prompt="A lighthouse", status="completed", progress=100)


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStudio]:
    for running in live_studio(tmp_path_factory.mktemp("focus-studio")):
        running.seed("tests.test_focus_browser")
        yield running


@pytest.fixture
def page(studio: LiveStudio) -> Iterator[Any]:
    for browser in launch_browser():
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in(page, studio)
        yield page


def test_a_gallery_card_reached_by_tab_shows_a_focus_ring_around_the_card(page: Any) -> None:
    # The card clips its content (overflow: hidden) and the thumbnail fills the link, so a
    # ring drawn on the link itself is cut off: the card must draw it.
    deadline = time.monotonic() + 20
    while not page.evaluate("!!document.activeElement.closest('article.card')"):
        assert time.monotonic() < deadline, "Tab never reached a gallery card"
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.matches('.card__media:focus-visible')")
    ring = page.evaluate(
        "getComputedStyle(document.activeElement.closest('article.card')).boxShadow"
    )
    assert ring != "none"
