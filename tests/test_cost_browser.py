"""The create form's cost estimate and per-model limits, in headless Chromium."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import launch_browser, shot, sign_in
from tests.live import ADMIN_USERNAME, LiveStudio, live_studio

pytestmark = [pytest.mark.browser, pytest.mark.live]

playwright_sync = pytest.importorskip("playwright.sync_api")

ROUTES = """
from decimal import Decimal
from videos_app.models import ModelRoute, Provider
gateway = Provider.objects.create(
    name="gateway", kind="openai_compatible", label="Acme gateway", base_url="http://127.0.0.1:9/v1"
)
ModelRoute.objects.create(
    name="acme-video", provider=gateway, price_per_second=Decimal("0.05"),
    sizes=["1280x720"], seconds=[4, 8], position=2,
)
ModelRoute.objects.create(name="mystery", provider=gateway, position=3)
ModelRoute.objects.create(
    name="tiered", provider=gateway, sizes=["1280x720", "1920x1080"], seconds=[4, 8],
    capabilities={"audio": True, "sizes": ["1280x720", "1920x1080"]}, position=4,
    prices={"720p": "0.10", "1080p": "0.15", "*+audio": "0.25"},
)
"""


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStudio]:
    for studio in live_studio(tmp_path_factory.mktemp("cost-studio")):
        studio.manage("shell", "-c", ROUTES)
        yield studio


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_browser()


def text_becomes(page: object, selector: str, expected: str, timeout: float = 5) -> str:
    """Poll an element's text (wait_for_function evaluates strings, which the CSP forbids)."""
    deadline = time.monotonic() + timeout
    while True:
        text = page.inner_text(selector)  # type: ignore[attr-defined]
        if text == expected or time.monotonic() > deadline:
            return str(text)
        time.sleep(0.05)


@pytest.mark.parametrize("width", [1280, 390])
def test_the_estimate_follows_the_model_and_the_duration(
    studio: LiveStudio, browser: object, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, studio)

    page.goto(studio.url + "/videos/new")
    estimate = "#cost-estimate"
    assert page.inner_text(estimate) == "Estimated cost: free \N{EM DASH} runs locally"
    assert page.inner_text("#route-provider") == "Local renderer (not an AI model)"

    # A priced model: its provider shows, and sizes and durations it lacks are disabled.
    page.select_option("select[name=model]", "acme-video")
    assert (
        text_becomes(page, estimate, "Estimated cost: $0.20 (4 s \N{MULTIPLICATION SIGN} $0.05/s)")
        == "Estimated cost: $0.20 (4 s \N{MULTIPLICATION SIGN} $0.05/s)"
    )
    assert page.inner_text("#route-provider") == "Acme gateway"
    disabled_sizes = page.eval_on_selector_all(
        "select[name=size] option:disabled", "options => options.map(o => o.value)"
    )
    assert disabled_sizes == ["720x1280", "1024x1792", "1792x1024", "1920x1080"]
    assert page.input_value("select[name=size]") == "1280x720"  # moved off a disabled size
    disabled_seconds = page.eval_on_selector_all(
        "select[name=seconds] option:disabled", "options => options.map(o => o.value)"
    )
    assert disabled_seconds == ["12", "16", "20"]

    page.select_option("select[name=seconds]", "8")
    expected = "Estimated cost: $0.40 (8 s \N{MULTIPLICATION SIGN} $0.05/s)"
    assert text_becomes(page, estimate, expected) == expected
    shot(page, f"cost-form-{width}")

    page.select_option("select[name=model]", "mystery")
    assert text_becomes(page, estimate, "Estimated cost: unknown") == "Estimated cost: unknown"

    page.select_option("select[name=model]", "sora-2-pro")
    expected = "Estimated cost: free \N{EM DASH} runs locally"
    assert text_becomes(page, estimate, expected) == expected
    assert (
        page.eval_on_selector_all(
            "select[name=size] option:disabled, select[name=seconds] option:disabled",
            "o => o.map(x => x.parentElement.name + '=' + x.value)",
        )
        == ["size=1920x1080"]  # another model here makes 1080p; the local renderer does not
    )
    assert errors == []
    context.close()


def test_the_estimate_follows_the_size_and_the_sound(studio: LiveStudio, browser: object) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    sign_in(page, studio)
    page.goto(studio.url + "/videos/new")
    times = "\N{MULTIPLICATION SIGN}"
    page.select_option("select[name=model]", "tiered")
    # The model makes sound unless told not to: the price with sound, whatever the size.
    expected = f"Estimated cost: $1.00 (4 s {times} $0.25/s)"
    assert text_becomes(page, "#cost-estimate", expected) == expected
    page.select_option("select[name=audio]", "off")
    expected = f"Estimated cost: $0.40 (4 s {times} $0.10/s)"
    assert text_becomes(page, "#cost-estimate", expected) == expected
    page.select_option("select[name=size]", "1920x1080")
    expected = f"Estimated cost: $0.60 (4 s {times} $0.15/s)"
    assert text_becomes(page, "#cost-estimate", expected) == expected
    shot(page, "cost-form-tiered-1280")
    context.close()


def test_the_usage_table_fits_a_phone(studio: LiveStudio, browser: object) -> None:
    studio.manage(
        "shell", "-c",
        "from decimal import Decimal; from django.contrib.auth.models import User;"
        "from videos_app.models import Video;"
        f"Video.objects.create(owner=User.objects.get(username={ADMIN_USERNAME!r}),"
        "prompt='p', model='acme-video', provider='gateway', seconds=8,"
        "status='completed', cost_estimate=Decimal('1234.5600'))",
    )  # fmt: skip
    context = browser.new_context(viewport={"width": 390, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    sign_in(page, studio)
    page.goto(studio.url + "/usage/")
    assert "$1,234.56" in page.inner_text(".usage-table tfoot")
    # Every column, the cost included, is on screen: the table does not scroll sideways.
    widths = page.eval_on_selector(".usage-table-wrap", "w => [w.scrollWidth, w.clientWidth]")
    assert widths[0] <= widths[1], widths
    shot(page, "usage-390")
    context.close()
