"""Each vendor engine through a live studio (gunicorn + the django-q2 worker on loopback),
driven by the official ``openai`` SDK as existing code would drive it, against the
vendor's fake server: create and download, image-to-video, extend, edit and remix (or
their refusal), cancel, a refusal; and never
paying twice when the worker is SIGKILLed while a create is on its way or while it polls.

The SDK tests mean the same on either database: they run on the embedded leg. Killing the
worker while it polls is recovered through the broker (Redis on the services leg); while
a create is on its way, through the row alone (the embedded leg).
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import openai
import pytest
from openai import OpenAI
from PIL import Image

from tests.fakes.vendors import KINDS, Vendor, running
from tests.live import LiveStudio, live_studio
from tests.test_upstream_live import query, video_row

pytestmark = pytest.mark.live

RENDER_SECONDS = 1.0


@pytest.fixture(scope="module")
def vendors(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Vendor]]:
    keys = tmp_path_factory.mktemp("vendor-keys")
    with contextlib.ExitStack() as stack:
        yield {kind: stack.enter_context(running(kind, keys, render_seconds=RENDER_SECONDS))
               for kind in KINDS}  # fmt: skip


@pytest.fixture(scope="module")
def studio(
    tmp_path_factory: pytest.TempPathFactory, vendors: dict[str, Vendor]
) -> Iterator[LiveStudio]:
    env = {k: v for vendor in vendors.values() for k, v in vendor.env.items()}
    for live in live_studio(tmp_path_factory.mktemp("vendors"), STUDIO_HEARTBEAT_STALE="3", **env):
        lines = ["from videos_app.models import ModelRoute, Provider"]
        for vendor in vendors.values():
            row = dict(vendor.provider_row)
            name = row.pop("name")
            lines.append(
                f"p, _ = Provider.objects.update_or_create(name={name!r}, defaults={row!r})"
            )
            lines.append(
                f"ModelRoute.objects.update_or_create(name={name + '-model'!r}, defaults=dict("
                f"provider=p, upstream_model={vendor.model!r}))"
            )
        live.manage("shell", "--no-imports", "-c", "\n".join(lines))
        yield live


@pytest.fixture(scope="module")
def client(studio: LiveStudio) -> Iterator[OpenAI]:
    key = studio.manage("createapikey", "admin", "--name", "vendor tests").strip()
    with OpenAI(base_url=f"{studio.url}/v1", api_key=key, max_retries=0, timeout=60) as sdk:
        yield sdk


def model_of(vendor: Vendor) -> str:
    return f"{vendor.name}-model"


def wait_row(studio: LiveStudio, video_id: str, done: Any, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    row: dict[str, Any] = {}
    while time.monotonic() < deadline:
        row = video_row(studio, video_id)
        if done(row):
            return row
        time.sleep(0.1)
    raise AssertionError(f"{video_id}: {row}\n{studio.tail()}")


def finished(row: dict[str, Any]) -> bool:
    return row["status"] in ("completed", "failed")


def asset_names(studio: LiveStudio, video_id: str) -> list[str]:
    folder = studio.data_dir / "media" / "videos" / video_id
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def decodes_as_h264(data: bytes) -> bool:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        return stream.codec_context.name == "h264" and next(container.decode(stream)) is not None


@pytest.fixture(params=KINDS)
def vendor(request: pytest.FixtureRequest, vendors: dict[str, Vendor]) -> Iterator[Vendor]:
    chosen = vendors[request.param]
    yield chosen
    chosen.set_render_seconds(RENDER_SECONDS)
    chosen.set_create_delay(0.0)


@pytest.mark.embedded_only
class TestThroughTheSDK:
    def test_create_poll_and_download(
        self, client: OpenAI, studio: LiveStudio, vendor: Vendor
    ) -> None:
        before = vendor.creates()
        video = client.videos.create_and_poll(
            model=model_of(vendor), prompt="a red kite over green hills",
            size=vendor.size, seconds=str(vendor.seconds),  # type: ignore[arg-type]
            poll_interval_ms=200,
        )  # fmt: skip
        assert video.status == "completed", (video.error, studio.tail())
        assert (video.model, video.size, video.seconds) == (
            model_of(vendor), vendor.size, str(vendor.seconds),
        )  # fmt: skip
        assert vendor.creates() == before + 1
        assert decodes_as_h264(client.videos.download_content(video.id).read())
        # The vendor sent the video only: the previews were made at home.
        for variant in ("thumbnail", "spritesheet"):
            data = client.videos.download_content(video.id, variant=variant).read()
            with Image.open(io.BytesIO(data)) as image:
                assert image.format == ("WEBP" if variant == "thumbnail" else "JPEG")
        assert asset_names(studio, video.id) == ["spritesheet.jpg", "thumbnail.webp", "video.mp4"]

    def test_image_to_video(self, client: OpenAI, vendor: Vendor) -> None:
        from videos_app.providers import registry

        width, height = (int(n) for n in vendor.size.split("x"))
        buffer = io.BytesIO()
        Image.new("RGB", (width, height), (30, 90, 160)).save(buffer, "PNG")
        before = vendor.creates()
        arguments: dict[str, Any] = dict(
            model=model_of(vendor), prompt="the sea begins to move", size=vendor.size,
            seconds=str(vendor.seconds),
            input_reference=("first.png", buffer.getvalue(), "image/png"),
        )  # fmt: skip
        if not registry.capabilities(vendor.kind, vendor.model).first_frame:
            # A text-only model refuses the image before anything is sent, naming itself.
            with pytest.raises(openai.BadRequestError) as refused:
                client.videos.create(**arguments)
            assert "does not start from an image" in str(refused.value)
            assert vendor.creates() == before
            return
        video = client.videos.create_and_poll(**arguments, poll_interval_ms=200)
        assert video.status == "completed", video.error
        assert vendor.creates() == before + 1

    def test_cancel_stops_the_job_at_the_vendor(
        self, client: OpenAI, studio: LiveStudio, vendor: Vendor
    ) -> None:
        vendor.set_render_seconds(30)
        cancels = vendor.cancels()
        video = client.videos.create(
            model=model_of(vendor), prompt="a very long take", size=vendor.size,  # type: ignore[arg-type]
            seconds=str(vendor.seconds),  # type: ignore[arg-type]
        )  # fmt: skip
        wait_row(studio, video.id, lambda row: bool(row["provider_job_id"]), timeout=60)
        cancelled = client.post(f"/videos/{video.id}/cancel", cast_to=openai.types.Video, body={})
        assert cancelled.status == "failed" and cancelled.error is not None
        assert cancelled.error.code == "cancelled"
        if vendor.can_cancel:
            deadline = time.monotonic() + 30
            while vendor.cancels() == cancels and time.monotonic() < deadline:
                time.sleep(0.1)
            assert vendor.cancels() == cancels + 1, studio.tail()
        assert client.videos.retrieve(video.id).status == "failed"
        time.sleep(0.5)
        assert asset_names(studio, video.id) == []

    def test_extend_edit_and_remix_where_the_model_can(
        self, client: OpenAI, studio: LiveStudio, vendor: Vendor
    ) -> None:
        from videos_app.providers import registry

        caps = registry.capabilities(vendor.kind, vendor.model)
        source = client.videos.create_and_poll(
            model=model_of(vendor), prompt="a red kite over green hills", size=vendor.size,  # type: ignore[arg-type]
            seconds=str(vendor.seconds), poll_interval_ms=200,  # type: ignore[arg-type]
        )  # fmt: skip
        assert source.status == "completed", source.error
        # Extend (see assert_extends), or its refusal by a model that cannot.
        segment = caps.extend_seconds[0] if caps.extend_seconds else vendor.seconds
        # The SDK takes `video` as a file; a studio video's id goes in the body, as a
        # client of the retired API sent it.
        by_id: dict[str, Any] = {"video": openai.omit, "extra_body": {"video": {"id": source.id}}}
        if caps.extend or caps.first_frame:
            self.assert_extends(client, studio, vendor, segment, by_id)
        else:  # a text-only model that cannot continue a video: refused up front
            before = vendor.creates()
            with pytest.raises(openai.BadRequestError) as refused:
                client.videos.extend(prompt="and on", seconds=str(segment), **by_id)
            assert "cannot extend a video" in str(refused.value)
            assert vendor.creates() == before
        # Edit and remix run where the model can, and are refused naming who can otherwise.
        for operation, can, send in (
            ("edit", caps.edit,
             lambda: client.videos.edit(prompt="make it dusk", **by_id)),
            ("remix", caps.remix,
             lambda: client.videos.remix(source.id, prompt="a blue kite instead")),
        ):  # fmt: skip
            before = vendor.creates()
            if not can:
                with pytest.raises(openai.BadRequestError) as refused:
                    send()
                assert "can" in str(refused.value), (operation, refused.value)
                assert vendor.creates() == before
                continue
            made = client.videos.poll(send().id, poll_interval_ms=200)
            assert made.status == "completed", (operation, made.error, studio.tail())
            assert vendor.creates() == before + 1

    def assert_extends(
        self,
        client: OpenAI,
        studio: LiveStudio,
        vendor: Vendor,
        segment: int,
        by_id: dict[str, Any],
    ) -> None:
        """Natively where the vendor continues its own video, else a create from the last
        frame, stitched here; one create at the vendor either way."""
        before = vendor.creates()
        extended = client.videos.extend(
            prompt="and the kite climbs", seconds=str(segment), **by_id,  # type: ignore[arg-type]
        )  # fmt: skip
        extended = client.videos.poll(extended.id, poll_interval_ms=200)
        assert extended.status == "completed", (extended.error, studio.tail())
        assert extended.seconds == str(vendor.seconds + segment)
        assert vendor.creates() == before + 1
        assert decodes_as_h264(client.videos.download_content(extended.id).read())

    def test_a_size_the_model_does_not_make_is_refused_naming_it(
        self, client: OpenAI, vendor: Vendor
    ) -> None:
        before = vendor.creates()
        with pytest.raises(openai.BadRequestError) as refused:
            client.videos.create(
                model=model_of(vendor), prompt="p", size="1024x1792", seconds=str(vendor.seconds),  # type: ignore[arg-type]
            )  # fmt: skip
        error = refused.value.body
        assert isinstance(error, dict) and error.get("param") == "size", error
        assert f"The model '{model_of(vendor)}' does not render it" in str(error.get("message"))
        assert vendor.creates() == before


@pytest.mark.embedded_only
def test_a_worker_killed_while_a_create_is_on_its_way_never_sends_it_again(
    client: OpenAI, studio: LiveStudio, vendor: Vendor
) -> None:
    """None of these vendors can be asked for a job by our request: the job fails
    upstream_outcome_unknown for an operator to check, and no second create is sent."""
    before = vendor.creates()
    vendor.set_create_delay(4.0)
    video = client.videos.create(
        model=model_of(vendor), prompt="a lighthouse at night", size=vendor.size,  # type: ignore[arg-type]
        seconds=str(vendor.seconds),  # type: ignore[arg-type]
    )  # fmt: skip
    wait_row(studio, video.id, lambda row: row["create_sent_at"] is not None, timeout=60)
    deadline = time.monotonic() + 30
    while vendor.creates() == before and time.monotonic() < deadline:
        time.sleep(0.05)  # until the create has reached the vendor, which holds its answer
    assert vendor.creates() == before + 1, studio.tail()
    studio.kill_worker()
    time.sleep(4.5)  # the vendor's answer went nowhere; the heartbeat is stale
    vendor.set_create_delay(0.0)
    assert video.id in studio.manage("recoverjobs")
    studio.start_worker()
    row = wait_row(studio, video.id, finished, timeout=120)
    assert (row["status"], row["error_code"]) == ("failed", "upstream_outcome_unknown"), row
    assert vendor.creates() == before + 1  # the one create, never resent
    assert asset_names(studio, video.id) == []
    assert studio.leftover_work_folders() == []


@pytest.mark.services_only
def test_a_worker_killed_while_it_polls_finishes_the_job_with_one_create(
    client: OpenAI, studio: LiveStudio, vendor: Vendor
) -> None:
    before = vendor.creates()
    vendor.set_render_seconds(8)
    video = client.videos.create(
        model=model_of(vendor), prompt="slow dolly over a harbour", size=vendor.size,  # type: ignore[arg-type]
        seconds=str(vendor.seconds),  # type: ignore[arg-type]
    )  # fmt: skip
    polling = wait_row(
        studio, video.id, lambda r: r["provider_job_id"] and r["status"] == "in_progress"
    )
    studio.kill_worker()
    time.sleep(3.5)  # the heartbeat goes stale (STUDIO_HEARTBEAT_STALE=3)
    assert video.id in studio.manage("recoverjobs")
    studio.start_worker()
    row = wait_row(studio, video.id, finished, timeout=180)
    assert row["status"] == "completed", (row, studio.tail())
    assert row["provider_job_id"] == polling["provider_job_id"] and row["attempts"] == 2
    assert vendor.creates() == before + 1
    assert asset_names(studio, video.id) == ["spritesheet.jpg", "thumbnail.webp", "video.mp4"]
    assert studio.leftover_work_folders() == []
    assert query(studio, "select count(*) from videos_app_video where id = ?", video.id)[0][0] == 1


def test_the_fakes_are_what_the_engines_speak(tmp_path: Path) -> None:
    """Each kind's fake starts and names a model its engine documents capabilities for."""
    from videos_app.providers import registry

    for kind in KINDS:
        with running(kind, tmp_path) as vendor:
            caps = registry.capabilities(kind, vendor.model)
            assert not caps.sizes or vendor.size in caps.sizes, (kind, caps.sizes)
            assert not caps.seconds or vendor.seconds in caps.seconds, (kind, caps.seconds)
