"""Extend on an engine that cannot extend a video itself: the engine is asked for a
create of the new segment's length that starts on the source's last frame, and the
studio stitches the source and the segment into one MP4 (24 fps H.264, AAC), with
previews of the whole."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

import av
import pytest
from django.core.files.base import ContentFile
from PIL import Image

from tests.conftest import stored_files
from tests.factories import make_video, mp4_bytes
from videos_app.jobs import remote
from videos_app.models import ModelRoute, Provider, Video
from videos_app.providers.base import RemoteRequest, RemoteStatus
from videos_app.tasks import render_video

pytestmark = pytest.mark.django_db

ONE_SHOT = {"oneshot": ("Create-only engine", "tests.test_remote_extend.CreateOnlyEngine")}
SIZE = (640, 360)


class CreateOnlyEngine:
    """Makes only new videos; gives only the MP4 (a 30 fps, silent 2 s clip)."""

    remote_variants = ("video",)
    native_extend = False
    calls: ClassVar[Counter[str]] = Counter()
    submitted: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    def from_row(cls, row: Provider) -> CreateOnlyEngine:
        return cls(row.name)

    def check(self, request: RemoteRequest) -> None:
        assert request.operation == "create"

    def submit(self, request: RemoteRequest) -> str:
        self.calls["submit"] += 1
        image = request.reference_image
        assert image is not None
        with Image.open(image) as first:
            self.submitted.append(
                {"operation": request.operation, "seconds": request.seconds,
                 "first_frame": (first.format, first.size), "source_id": request.source_id}
            )  # fmt: skip
        return "segment-1"

    def status(self, job_id: str) -> RemoteStatus:
        return RemoteStatus(id=job_id, status="completed", progress=100)

    def find_lost(self, request: RemoteRequest, *, since: float) -> list[str]:
        return []

    def fetch(self, job_id: str, variant: str, dest: Path) -> int:
        self.calls[f"fetch:{variant}"] += 1
        return dest.write_bytes(mp4_bytes(seconds=2.0, size=SIZE, fps=30))

    def delete(self, job_id: str) -> bool:
        return True

    def close(self) -> None:
        pass


@pytest.fixture
def oneshot(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Provider:
    settings.STUDIO_ENGINES = ONE_SHOT
    monkeypatch.setattr(remote, "FIRST_POLL_DELAY", 0.01)
    CreateOnlyEngine.calls.clear()
    CreateOnlyEngine.submitted.clear()
    provider = Provider.objects.create(name="maker", kind="oneshot")
    ModelRoute.objects.create(name="maker-1", provider=provider)
    return provider


def test_an_extension_is_a_create_from_the_last_frame_then_stitched(
    oneshot: Provider, media_root: Path
) -> None:
    source = make_video(provider="maker", model="maker-1", size="640x360", seconds=2,
                        status=Video.Status.COMPLETED)  # fmt: skip
    source.video_file.save(f"videos/{source.pk}/video.mp4", ContentFile(mp4_bytes(2.0, SIZE)))
    video = make_video(
        owner=source.owner, provider="maker", model="maker-1", size="640x360", seconds=4,
        operation=Video.Operation.EXTEND, source=source, segment_seconds=2,
        prompt="and the camera rises",
    )  # fmt: skip
    render_video(video.pk)
    video.refresh_from_db()
    assert video.status == Video.Status.COMPLETED, video.error_message
    # One create, of the segment's length, from a PNG of the source's last frame.
    assert CreateOnlyEngine.calls["submit"] == 1
    assert CreateOnlyEngine.submitted == [
        {"operation": "create", "seconds": 2, "first_frame": ("PNG", SIZE), "source_id": ""}
    ]
    assert CreateOnlyEngine.calls["fetch:video"] == 1
    with av.open(video.video_file.path) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", *SIZE)
        assert [a.codec_context.name for a in container.streams.audio] == ["aac"]
        assert stream.average_rate == 24
        # Both parts at 24 fps: 2 s of source, 2 s of segment (re-timed from 30 fps).
        assert frames == 96
    with Image.open(video.thumbnail_file.path) as thumb:
        assert thumb.format == "WEBP"
    with Image.open(video.spritesheet_file.path) as sheet:
        assert sheet.format == "JPEG"
    assert f"videos/{video.pk}/video.mp4" in stored_files(media_root)
    assert not any("segment" in name or "last-frame" in name for name in stored_files(media_root))


def test_a_missing_source_fails_before_anything_is_sent(oneshot: Provider) -> None:
    source = make_video(provider="maker", model="maker-1", size="640x360", seconds=2,
                        status=Video.Status.COMPLETED)  # fmt: skip
    video = make_video(
        owner=source.owner, provider="maker", model="maker-1", size="640x360", seconds=4,
        operation=Video.Operation.EXTEND, source=source, segment_seconds=2,
    )  # fmt: skip
    render_video(video.pk)
    video.refresh_from_db()
    assert (video.status, video.error_code) == (Video.Status.FAILED, "source_missing")
    assert CreateOnlyEngine.calls["submit"] == 0
