"""Headless Chromium on a live studio: a team admin names an approver, only that approver
approves, the page shows the lock (delete disabled, why), the gallery card says Approved,
and the approver reopens it; at 1280 and 390 px.

The video is a real 4 s render of the local renderer, made through /v1/videos.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import launch_browser, shot, sign_in
from tests.live import ADMIN_USERNAME, LiveStudio, live_studio

pytestmark = [pytest.mark.browser, pytest.mark.live]
playwright_sync = pytest.importorskip("playwright.sync_api")
PASSWORD = "approvals-pw-1"


def seed() -> None:
    """The team Crew: the studio's admin (its admin), lin and maya (editors); run in the studio."""
    from django.contrib.auth import get_user_model

    from videos_app.models import Membership, Team

    users = get_user_model().objects
    team = Team.objects.create(name="Crew", slug="crew")
    Membership.objects.create(team=team, user=users.get(username=ADMIN_USERNAME), role="admin")
    for name in ("lin", "maya"):
        user = users.create_user(username=name, password=PASSWORD)
        Membership.objects.create(team=team, user=user, role="editor")


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStudio]:
    for running in live_studio(tmp_path_factory.mktemp("approvals-studio")):
        running.seed("tests.test_approvals_browser")
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_browser()


@pytest.fixture(scope="module")
def video_id(studio: LiveStudio) -> str:
    """A finished 4 s render in the team Crew."""
    return studio.render("A lighthouse on a cliff at dusk, waves below", team="crew")[0]


def page_as(browser: Any, studio: LiveStudio, username: str, width: int = 1280) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.errors = errors
    if username == ADMIN_USERNAME:
        sign_in(page, studio)
    else:
        sign_in(page, studio, username, PASSWORD)
    return page


def review_box(page: Any) -> str:
    return str(page.inner_text("#review"))


def test_an_approver_approves_the_lock_shows_and_the_approver_reopens(
    studio: LiveStudio, browser: Any, video_id: str
) -> None:
    url = f"{studio.url}/videos/{video_id}"
    admin = page_as(browser, studio, ADMIN_USERNAME)
    admin.goto(url)
    admin.click("#review summary:has-text('Name approvers')")
    admin.check("#review label.check:has-text('lin') input")
    shot(admin, "approvals-approvers-form")
    admin.click("#review button:has-text('Save approvers')")
    admin.wait_for_selector("#review .review__approver:has-text('lin')")
    admin.click("#review button:has-text('Send to review')")
    admin.wait_for_selector("#review .review-badge:has-text('Needs review')")

    maya = page_as(browser, studio, "maya")
    maya.goto(url)
    assert "Only its approvers can approve it." in review_box(maya)
    assert maya.locator("#review button:has-text('Approve')").count() == 0

    lin = page_as(browser, studio, "lin")
    lin.goto(url)
    lin.click("#review button:has-text('Approve')")
    lin.wait_for_selector("#review .review__lock")
    assert "Approved · locked by lin on" in review_box(lin)
    assert lin.locator("#review button:has-text('Reopen')").count() == 1

    for width in (1280, 390):
        page = page_as(browser, studio, ADMIN_USERNAME, width)
        page.goto(url)
        delete = page.locator("button:has-text('Delete…')")
        assert delete.is_disabled()
        why = page.inner_text("#delete-locked-why")
        assert "approver must reopen it" in why
        # The lock and the reason fit the column: nothing runs past the page's width.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot(page, f"approvals-locked-{width}")
        page.goto(studio.url + "/")
        badge = page.locator(f"#card-{video_id} .badge--review-approved")
        assert badge.inner_text().strip() == "Approved"
        shot(page, f"approvals-gallery-{width}")
        assert not page.errors, page.errors

    lin.click("#review button:has-text('Reopen')")
    lin.wait_for_selector("#review .review-badge:has-text('Needs review')")
    lin.click("#review summary:has-text('History')")
    assert "Reopened" in review_box(lin)
    lin.reload()
    assert lin.locator(f"a[href='/videos/{video_id}/delete']").count() == 0  # lin is an editor
    admin.reload()
    assert admin.locator(f"a[href='/videos/{video_id}/delete']").count() == 1
    for page in (admin, maya, lin):
        assert not page.errors, page.errors
