"""A pipeline's frames as the studio's three files, through the renderer's own encoder.

H.264 yuv420p (BT.709, limited range, faststart) with a silent AAC track, a WebP
thumbnail and a JPEG spritesheet: ``add_streams``, ``audio_frame`` and ``Previews`` of
``videos_app.renderer.encode``, exactly as every other engine's videos are made. Each
file is written under a temporary name beside its final one and renamed once all three
are complete, so a child killed mid-encode leaves no half file under a final name.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np

from videos_app.providers.base import Assets
from videos_app.renderer.backgrounds import frame_planes
from videos_app.renderer.encode import Previews, add_streams, audio_frame, open_output
from videos_app.renderer.scene import Planes, rgb_to_planes
from videos_app.renderer.spec import AUDIO_CHUNK, AUDIO_RATE


def partial(path: Path) -> Path:
    return path.with_name(f".{path.name}.part")


def to_frame(rgb: Any) -> tuple[av.VideoFrame, Planes]:
    """Float RGB (h, w, 3) in 0..1 as a yuv420p frame (and its planes, for the previews)."""
    h, w = rgb.shape[:2]
    frame = av.VideoFrame(w, h, "yuv420p")
    planes = frame_planes(frame)
    for view, values in zip(
        (planes.y, planes.u, planes.v), rgb_to_planes(rgb.astype(np.float32)), strict=True
    ):
        view[:] = values
    return frame, planes


def encode(frames: Any, fps: int, files: Assets, progress: Callable[[float], None]) -> None:
    """Write ``frames`` (n, h, w, 3 floats in 0..1) at ``fps`` as the three files."""
    count, height, width = frames.shape[:3]
    parts = Assets(**{name: partial(path) for name, path in files.by_variant().items()})
    try:
        previews = Previews(
            width, height, 0, frames=count, files=(parts.thumbnail, parts.spritesheet)
        )
        with open_output(parts.video) as out:
            video, audio = add_streams(out, width, height, fps=fps)
            for index in range(count):
                frame, planes = to_frame(frames[index])
                previews.offer(index, planes)
                frame.pts = index
                out.mux(video.encode(frame))
                progress((index + 1) / count)
            out.mux(video.encode(None))
            samples = count * AUDIO_RATE // fps
            for start in range(0, samples, AUDIO_CHUNK):
                silence = np.zeros((2, min(AUDIO_CHUNK, samples - start)), np.float32)
                out.mux(audio.encode(audio_frame(silence, start)))
            out.mux(audio.encode(None))
        previews.save(parts.thumbnail, parts.spritesheet)
        for name, path in parts.by_variant().items():
            os.replace(path, files.by_variant()[name])
    finally:
        for path in parts.by_variant().values():
            path.unlink(missing_ok=True)
