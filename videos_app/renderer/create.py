"""A create, or a remix (the same render, with the source's seed): a prompt to a video."""

from __future__ import annotations

from collections.abc import Callable

from videos_app.providers.base import Assets, JobSpec

from .backgrounds import frame_planes, read_reference
from .encode import Previews, add_streams, open_output
from .prompt import parse_prompt
from .segments import scene_segment
from .sound import Soundscape
from .spec import FPS, SAMPLES_PER_FRAME


def render_create(spec: JobSpec, files: Assets, progress: Callable[[int], None]) -> None:
    """Create (or remix: the same, with the source's seed) a video from the prompt."""
    style = parse_prompt(spec.prompt, spec.seed)
    progress(0)
    w, h, total = spec.width, spec.height, spec.seconds * FPS
    image = read_reference(spec.reference_image, w, h) if spec.reference_image else None
    segment = scene_segment(spec, style, seconds=spec.seconds, image=image)
    sound = Soundscape(style, spec.seed, spec.seconds)
    previews = Previews(w, h, spec.seconds, files=(files.thumbnail, files.spritesheet))
    progress(2)

    with open_output(files.video) as out:
        video, audio = add_streams(out, w, h)
        for index in range(total):
            frame = segment.frame(index)
            previews.offer(index, frame_planes(frame))
            frame.pts = index
            out.mux(video.encode(frame))
            for chunk in sound.frames_until((index + 1) * SAMPLES_PER_FRAME):
                out.mux(audio.encode(chunk))
            progress(2 + 95 * (index + 1) // total)
        out.mux(video.encode(None))
        out.mux(audio.encode(None))
    progress(98)
    previews.save(files.thumbnail, files.spritesheet)
    progress(100)
