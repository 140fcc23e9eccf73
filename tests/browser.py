"""Headless Chromium for the browser tests: launch, sign in, wait, screenshot.

Debian's ``chromium`` driven by Playwright for Python; the page's CSP forbids evaluating
strings, so waits poll with ``page.evaluate`` instead of ``wait_for_function``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live import ADMIN_PASSWORD, ADMIN_USERNAME, LiveStudio

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def launch_browser() -> Iterator[Any]:
    """A Chromium browser for the length of a fixture (``yield from launch_browser()``)."""
    playwright_sync = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed (make test installs Debian's chromium)")
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


def sign_in(
    page: Any, studio: LiveStudio, username: str = ADMIN_USERNAME, password: str = ADMIN_PASSWORD
) -> None:
    page.goto(studio.url + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(studio.url + "/")


def wait_for_js(page: Any, expression: str, timeout: float = 20) -> None:
    """Poll an expression until it is truthy."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.1)


def shot(page: Any, name: str) -> None:
    # caret="initial": hiding the caret injects a <style>, which the CSP (rightly) refuses.
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True, caret="initial")
