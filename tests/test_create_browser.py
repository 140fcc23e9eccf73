"""The create form's reference image in headless Chromium: the preview in the chosen size's
shape, the warning before a refused submit, and the image kept across a form error."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from tests.browser import launch_browser, shot, sign_in, wait_for_js
from tests.live import LiveStudio, live_studio

pytestmark = [pytest.mark.browser, pytest.mark.live]

playwright_sync = pytest.importorskip("playwright.sync_api")

# Where the look-at-it screenshots go besides test-artifacts/ (set to e.g. /tmp).
SCREENSHOTS = os.environ.get("STUDIO_CREATE_SCREENSHOTS", "")


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStudio]:
    yield from live_studio(tmp_path_factory.mktemp("create-studio"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_browser()


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4:3 JPEG, 1600x1200, with a circle in its middle (what a centre crop keeps)."""
    image = Image.new("RGB", (1600, 1200), (40, 90, 160))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 200, 1200), fill=(230, 200, 40))  # a left edge a crop cuts off
    draw.ellipse((500, 300, 1100, 900), fill=(240, 240, 240))
    path = tmp_path_factory.mktemp("photo") / "photo.jpg"
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    path.write_bytes(buffer.getvalue())
    return path


def frame_ratio(page: Any) -> float:
    box = page.locator(".reference-preview__frame").bounding_box()
    assert box and box["height"] > 0
    return float(box["width"] / box["height"])


def note(page: Any) -> str:
    return str(page.inner_text("#reference-preview-note"))


def look(page: Any, name: str) -> None:
    shot(page, name)
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/{name}.png", full_page=True, caret="initial")


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)])
def test_the_preview_takes_the_sizes_shape_and_the_image_survives_an_error(
    studio: LiveStudio, browser: Any, photo: Path, width: int, height: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, studio)
    page.goto(studio.url + "/videos/new")
    assert page.is_checked("input[name=fit_image]")  # Fit on by default
    assert page.locator("#reference-preview").is_hidden()

    page.select_option("select[name=size]", "1280x720")
    page.set_input_files("input[name=reference_image]", str(photo))
    wait_for_js(page, "!document.getElementById('reference-preview').hidden")
    src = page.get_attribute("#reference-preview img", "src") or ""
    assert src.startswith("blob:")  # shown from the file itself, nothing uploaded
    assert frame_ratio(page) == pytest.approx(1280 / 720, rel=0.02)
    assert "Cropped from 1600\N{MULTIPLICATION SIGN}1200 (its top and bottom cut)" in note(page)
    assert (
        page.eval_on_selector("#reference-preview img", "i => getComputedStyle(i).objectFit")
        == "cover"
    )
    look(page, f"create-preview-{width}")

    # Another size: the frame follows.
    page.select_option("select[name=size]", "720x1280")
    assert frame_ratio(page) == pytest.approx(720 / 1280, rel=0.02)
    assert "its left and right edges cut" in note(page)

    # Without Fit it would be refused: said before the form is sent.
    page.uncheck("input[name=fit_image]")
    expected = (
        "This image is 1600\N{MULTIPLICATION SIGN}1200; without Fit it must be exactly "
        "720\N{MULTIPLICATION SIGN}1280."
    )
    assert note(page) == expected
    assert page.locator("#reference-preview.reference-preview--refused").count() == 1
    look(page, f"create-refused-{width}")
    page.check("input[name=fit_image]")

    # A form error (no prompt): the image is kept, previewed again, and used on the retry.
    page.fill("textarea[name=prompt]", "")
    page.get_by_role("button", name="Create video").click()
    page.wait_for_load_state()
    assert page.locator(".form-error").first.is_visible()
    assert page.locator("input[name=reference_kept]").count() == 1
    wait_for_js(page, "!document.getElementById('reference-preview').hidden")
    assert frame_ratio(page) == pytest.approx(720 / 1280, rel=0.02)
    assert "Cropped from 1600\N{MULTIPLICATION SIGN}1200" in note(page)
    look(page, f"create-kept-{width}")

    page.fill("textarea[name=prompt]", "A lighthouse in fog, waves below")
    page.get_by_role("button", name="Create video").click()
    page.wait_for_url(f"{studio.url}/videos/video_*")
    # The refused form's page answers 400, which Chromium reports; nothing else may fail.
    assert [e for e in errors if "status of 400" not in e] == []
    context.close()
