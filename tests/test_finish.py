"""The previews the studio makes of a vendor's MP4 (jobs/finish.py): the thumbnail is the
middle frame and the spritesheet's 25 tiles step through the video in order, at their
sizes, though frames no other frame refers to are not decoded; a video that does not
decode is refused in the vendor's terms."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from videos_app.jobs.finish import TILES, previews_from_video
from videos_app.providers.base import ProviderError
from videos_app.renderer.encode import SHEET_COLUMNS

FPS = 24
STEP = 5  # frame i is a flat grey of i * STEP: a tile's brightness says which frame it shows


def graded_video(path: Path, *, frames: int, size: tuple[int, int] = (320, 180)) -> Path:
    """An x264 MP4 with B-frames (its defaults) whose frame i is grey i * STEP."""
    width, height = size
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"bf": "3", "g": "48"}
        for i in range(frames):
            grey = np.full((height, width, 3), i * STEP, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(grey, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def frame_shown(image: Image.Image) -> float:
    return float(np.asarray(image.convert("L"), dtype=np.float64).mean()) / STEP


def test_previews_show_the_middle_and_step_through_in_order(tmp_path: Path) -> None:
    frames = 48  # 2 s
    video = graded_video(tmp_path / "v.mp4", frames=frames)
    with av.open(str(video)) as container:  # the clip really has B-frames to skip
        assert container.streams.video[0].codec_context.has_b_frames
    thumb, sheet = tmp_path / "t.webp", tmp_path / "s.jpg"
    previews_from_video(video, thumbnail=thumb, spritesheet=sheet)
    with Image.open(thumb) as image:
        assert (image.format, image.size) == ("WEBP", (640, 360))
        # The middle frame, or one of the few after it (B-frames are not decoded).
        assert frames / 2 - 0.5 <= frame_shown(image) <= frames / 2 + 4
    with Image.open(sheet) as image:
        assert (image.format, image.size) == ("JPEG", (160 * SHEET_COLUMNS, 90 * 5))
        shown = []
        for tile in range(TILES):
            row, col = divmod(tile, SHEET_COLUMNS)
            shown.append(
                frame_shown(image.crop((col * 160, row * 90, col * 160 + 160, row * 90 + 90)))
            )
    wanted = [(tile + 0.5) * frames / TILES for tile in range(TILES)]
    for got, want in zip(shown, wanted, strict=True):
        assert want - 1 <= got <= want + 4, (shown, wanted)
    steps = [round(s) for s in shown]  # JPEG blurs a grey by a fraction
    assert steps == sorted(steps)


def test_a_video_shorter_than_its_tiles_fills_them_with_its_last_frame(tmp_path: Path) -> None:
    video = graded_video(tmp_path / "v.mp4", frames=6, size=(64, 36))
    sheet = tmp_path / "s.jpg"
    previews_from_video(video, thumbnail=None, spritesheet=sheet)
    with Image.open(sheet) as image:
        tile = (160, 90)
        assert image.size == (tile[0] * SHEET_COLUMNS, tile[1] * 5)
        last = image.crop((4 * 160, 4 * 90, 5 * 160, 5 * 90))
        assert frame_shown(last) > 3  # a late frame, not black
    assert not (tmp_path / "t.webp").exists()


def test_a_file_that_is_no_video_is_refused_as_the_providers(tmp_path: Path) -> None:
    junk = tmp_path / "v.mp4"
    junk.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    with pytest.raises(ProviderError) as caught:
        previews_from_video(junk, thumbnail=tmp_path / "t.webp", spritesheet=tmp_path / "s.jpg")
    assert caught.value.code == "upstream_invalid_asset"
    assert not (tmp_path / "t.webp").exists()
