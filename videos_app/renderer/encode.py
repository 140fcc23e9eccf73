"""Output files: the spritesheet and thumbnail collected in passing, and the MP4's streams.

Every encoder of the renderer is set up by ``add_streams``: an extension appends new
packets to a source's own, which is valid only if both were encoded alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

import av
import numpy as np

# The two plugins by name, so that the first save finds its format registered (else PIL
# imports every plugin it has then: ~0.1 s of the child's tail).
from PIL import Image, JpegImagePlugin, WebPImagePlugin  # noqa: F401

from .scene import Planes, planes_to_rgb_image
from .spec import AUDIO_RATE, FPS, Arr

if TYPE_CHECKING:
    from av.audio.stream import AudioStream
    from av.container import OutputContainer
    from av.video.stream import VideoStream

SHEET_COLUMNS: Final = 5
SHEET_ROWS: Final = 5
TILE_LONG_SIDE: Final = 160
THUMB_LONG_SIDE: Final = 640
X264_PRESET: Final = "veryfast"


# ---------------------------------------------------------------------------- previews


def fit_long_side(width: int, height: int, long_side: int) -> tuple[int, int]:
    scale = long_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def sheet_frame_index(tile: int, seconds: int) -> int:
    """The frame shown at time (tile + 0.5) * seconds / 25."""
    return tile_frame_index(tile, seconds * FPS)


def tile_frame_index(tile: int, frames: int) -> int:
    """The frame shown at time (tile + 0.5) * duration / 25, for a video of ``frames``."""
    t = (tile + 0.5) * frames / FPS / (SHEET_COLUMNS * SHEET_ROWS)
    return min(frames - 1, int(t * FPS + 1e-9))


class Previews:
    """Collects the spritesheet tiles and the thumbnail while frames stream past.

    ``frames``: the video's length in frames (default ``seconds * FPS``). With ``files``
    (the thumbnail's and the spritesheet's paths), each is written as soon as its frames
    have passed, during the encode rather than after it; ``save`` writes what is left.
    """

    def __init__(
        self,
        width: int,
        height: int,
        seconds: int,
        *,
        frames: int = 0,
        files: tuple[Path, Path] | None = None,
    ) -> None:
        frames = frames or seconds * FPS
        self.files = files
        self.written: set[str] = set()
        self.size = (width, height)
        self.tile = fit_long_side(width, height, TILE_LONG_SIDE)
        self.sheet = Image.new("RGB", (self.tile[0] * SHEET_COLUMNS, self.tile[1] * SHEET_ROWS))
        self.tiles: dict[int, list[int]] = {}
        for tile in range(SHEET_COLUMNS * SHEET_ROWS):
            self.tiles.setdefault(tile_frame_index(tile, frames), []).append(tile)
        self.thumb_index = frames // 2
        self.thumb: Image.Image | None = None
        self.last_tile_index = max(self.tiles)

    def wanted(self) -> list[int]:
        """The frame indices this collects, in order."""
        return sorted({*self.tiles, self.thumb_index})

    def offer(self, index: int, planes: Planes) -> None:
        if index in self.tiles:
            image = planes_to_rgb_image(planes.y, planes.u, planes.v, self.tile)
            for tile in self.tiles[index]:
                row, col = divmod(tile, SHEET_COLUMNS)
                self.sheet.paste(image, (col * self.tile[0], row * self.tile[1]))
            if index == self.last_tile_index and self.files:
                self._save_sheet(self.files[1])
        if index == self.thumb_index:
            size = fit_long_side(*self.size, THUMB_LONG_SIDE)
            self.thumb = planes_to_rgb_image(planes.y, planes.u, planes.v, size)
            if self.files:
                self._save_thumb(self.files[0])

    def save(self, thumbnail: Path, spritesheet: Path) -> None:
        if "thumb" not in self.written:
            self._save_thumb(thumbnail)
        if "sheet" not in self.written:
            self._save_sheet(spritesheet)

    def _save_thumb(self, path: Path) -> None:
        assert self.thumb is not None
        self.thumb.save(path, "WEBP", quality=82, method=4)
        self.written.add("thumb")

    def _save_sheet(self, path: Path) -> None:
        self.sheet.save(path, "JPEG", quality=82, optimize=True)
        self.written.add("sheet")


# ---------------------------------------------------------------------------- encoding


def open_output(path: Path) -> OutputContainer:
    return av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"})


# The "fast" coder costs half of the default "twoloop" on this kind of signal.
AAC_OPTIONS: Final = {"aac_coder": "fast"}


def add_streams(
    out: OutputContainer, width: int, height: int, *, fps: int = FPS
) -> tuple[VideoStream, AudioStream]:
    """The video and audio streams of an output, set up as every video of this renderer.

    An extension appends newly encoded packets to a source's own: that is valid only if
    both were encoded alike (same SPS/PPS), so every encoder is set up here. ``fps``: a
    model's own rate (the diffusers engine's Wan 2.1 makes 16 fps); the renderer's is 24.
    """
    video = out.add_stream("libx264", rate=fps, options={"preset": X264_PRESET})
    cc = video.codec_context
    cc.width, cc.height, cc.pix_fmt = width, height, "yuv420p"
    cc.thread_type = "AUTO"
    # Tag what rgb_to_planes produced, so players convert back the same way.
    cc.colorspace = 1  # BT.709
    cc.color_primaries = 1
    cc.color_trc = 1
    cc.color_range = 1  # limited ("tv")
    audio = out.add_stream("aac", rate=AUDIO_RATE, layout="stereo", options=dict(AAC_OPTIONS))
    return video, audio


def audio_frame(samples: Arr, pts: int) -> av.AudioFrame:
    """(2, n) float32 samples as a frame starting at sample ``pts``."""
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(samples), format="fltp", layout="stereo"
    )
    frame.sample_rate, frame.pts = AUDIO_RATE, pts
    return frame
