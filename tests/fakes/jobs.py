"""What every vendor engine's tests check of a job run through the real runner."""

from __future__ import annotations

from pathlib import Path

import av
from PIL import Image

from tests.conftest import stored_files
from tests.fake_upstream import sample_assets
from videos_app.models import Video
from videos_app.tasks import render_video


def rendered(video: Video) -> Video:
    """Run the video's task to its end and read the row back."""
    render_video(video.pk)
    video.refresh_from_db()
    return video


def assert_one_set_of_assets(video: Video, media_root: Path) -> None:
    """The vendor's MP4 stored once, with the thumbnail and spritesheet made at home."""
    made = [f for f in stored_files(media_root) if f.startswith(f"videos/{video.pk}/")]
    assert made == [
        f"videos/{video.pk}/spritesheet.jpg",
        f"videos/{video.pk}/thumbnail.webp",
        f"videos/{video.pk}/video.mp4",
    ]
    assert Path(video.video_file.path).read_bytes() == sample_assets()["video"]
    with av.open(video.video_file.path) as container:
        assert container.streams.video[0].codec_context.name == "h264"
    assert Image.open(video.thumbnail_file.path).format == "WEBP"
    assert Image.open(video.spritesheet_file.path).format == "JPEG"
