"""A drawn stretch of video: a background with the objects, characters and overlays on it.

A create or remix is one segment; an extension's new part is another, continuing from its
source's last frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np

from videos_app.providers.base import JobSpec

from .backgrounds import ReferenceBackground, SceneBackground, ease, frame_planes
from .characters import Cast
from .prompt import Style
from .scene import Planes, Scene, blend_region
from .spec import FPS, Arr
from .sprites import Particles, Sprite
from .text import caption_sprite, label_sprite


@dataclass
class Segment:
    """The frames of one drawn stretch of video: background, objects, characters, overlays.

    Frame ``k`` shows scene time ``t0 + k / FPS``. Over the first ``fade_frames`` the
    objects, characters and overlays fade in (frame 0 is the background alone); over the
    first ``intro_frames`` the picture ``intro`` (an extended source's last frame)
    dissolves into it.
    """

    background: SceneBackground | ReferenceBackground
    particles: Particles
    overlays: list[tuple[Sprite, int, int]]
    cast: Cast | None = None
    t0: float = 0.0
    fade_frames: int = 0
    intro: Planes | None = None  # int16 planes
    intro_frames: int = 0

    def frame(self, k: int) -> av.VideoFrame:
        t = self.t0 + k / FPS
        frame = self.background.frame(t)
        planes = frame_planes(frame)
        gain = 128 if k >= self.fade_frames else 128 * k // self.fade_frames
        if gain:
            self.particles.draw(planes, t, gain)
            if self.cast is not None:
                self.cast.draw(planes, t, gain)
            for sprite, x, y in self.overlays:
                sprite.blend(planes, x, y, gain)
        if self.intro is not None and k < self.intro_frames:
            # The first frame is already a step away from the intro: no frame repeats.
            keep = round(128 * (1.0 - ease((k + 1) / (self.intro_frames + 1))))
            for dst, fg in zip((planes.y, planes.u, planes.v), _planes(self.intro), strict=True):
                blend_region(dst, fg, np.full(1, keep, np.int16))
        return frame


def _planes(p: Planes) -> tuple[Arr, Arr, Arr]:
    return p.y, p.u, p.v


def scene_segment(
    spec: JobSpec,
    style: Style,
    *,
    seconds: float,
    t0: float = 0.0,
    image: Planes | None = None,
    scene: Scene | None = None,
) -> Segment:
    """A segment of the procedural scene, or of ``image`` (a reference image) when given.

    With an image, frame 0 is the image itself and everything else fades in.
    """
    w, h = spec.width, spec.height
    background: SceneBackground | ReferenceBackground
    if image is not None:
        background = ReferenceBackground(image, spec.seed, seconds, style, t0)
    else:
        background = SceneBackground(scene or Scene(spec, style), seconds, t0)
    overlays = [label_sprite(w, h)]
    caption = caption_sprite(spec.prompt, w, h)
    if caption:
        overlays.append(caption)
    cast = Cast(spec.characters, style, w, h) if spec.characters else None
    frames = round(seconds * FPS)
    return Segment(
        background=background,
        particles=Particles(style, spec.seed, w, h),
        overlays=overlays,
        cast=cast,
        t0=t0,
        fade_frames=max(1, min(FPS, frames // 3)) if image is not None else 0,
    )
