"""Each vendor engine through the pages, as a team member uses them: the create form
shows the model's engine and only the controls it takes, a create sends one job to the
vendor's fake, and the video's page then plays what came back; a cancel from the page
stops a job that is still running."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client

from tests.factories import make_user
from tests.fakes.jobs import rendered
from tests.fakes.vendors import KINDS, Vendor, running
from videos_app.forms import CAPABILITY_FIELDS, takes
from videos_app.jobs import remote
from videos_app.models import ModelRoute, Provider, Video
from videos_app.providers import catalog

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote, "FIRST_POLL_DELAY", 0.02)
    monkeypatch.setattr(remote, "POLL_FIRST", 0.05)


@pytest.fixture(params=KINDS)
def vendor(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Vendor]:
    with running(request.param, tmp_path, render_seconds=0.3) as chosen:
        for key, value in chosen.env.items():
            monkeypatch.setenv(key, value)
        row = dict(chosen.provider_row)
        provider = Provider.objects.create(**row)
        ModelRoute.objects.create(name="vendor-model", provider=provider,
                                  upstream_model=chosen.model, position=1)  # fmt: skip
        yield chosen


@pytest.fixture
def member() -> Client:
    client = Client()
    client.force_login(make_user("ines"))
    return client


def test_create_on_the_page_and_watch_it(vendor: Vendor, member: Client, media_root: Path) -> None:
    page = member.get("/videos/new", {"model": "vendor-model"}).content.decode()
    route = catalog.route("vendor-model")
    assert route.provider_label in page
    offered = takes(route)
    for field in CAPABILITY_FIELDS:  # the controls the model does not take are hidden
        box = re.search(rf'<div class="field[^"]*" data-capability="{field}"( hidden)?>', page)
        if box is not None:
            assert (box.group(1) is None) == offered[field], field
    response = member.post("/videos/new", {
        "prompt": "a red kite over green hills", "model": "vendor-model",
        "size": vendor.size, "seconds": str(vendor.seconds), "visibility": "private",
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()[-2000:]
    video = rendered(Video.objects.get())
    assert video.status == Video.Status.COMPLETED, video.error_message
    assert vendor.creates() == 1
    page = member.get(video.get_absolute_url()).content.decode()
    assert "<video" in page and "badge--completed" in page
    assert route.provider_label in page
    assert member.get(f"/videos/{video.pk}/media/video").status_code in (200, 302)


def test_cancel_from_the_page(vendor: Vendor, member: Client) -> None:
    vendor.set_render_seconds(30)
    member.post("/videos/new", {
        "prompt": "a long take", "model": "vendor-model", "size": vendor.size,
        "seconds": str(vendor.seconds), "visibility": "private",
    })  # fmt: skip
    video = Video.objects.get()
    assert member.post(f"/videos/{video.pk}/cancel").status_code == 302
    video = rendered(video)  # the task finds it cancelled and sends nothing
    assert (video.status, video.error_code) == (Video.Status.FAILED, "cancelled")
    assert vendor.creates() == 0
    assert "This video was cancelled" in member.get(video.get_absolute_url()).content.decode()
