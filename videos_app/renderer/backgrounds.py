"""What a frame starts from: the procedural scene (panned, maybe zoomed) or a still picture."""

from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageOps

from .prompt import Style
from .scene import Planes, Scene, rgb_to_planes


def frame_planes(frame: av.VideoFrame) -> Planes:
    """Writable numpy views of a yuv420p frame's planes."""
    views = []
    for plane in frame.planes:
        arr = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        views.append(arr[:, : plane.width])
    return Planes(*views)


def ease(x: float) -> float:
    x = min(1.0, max(0.0, x))
    return x * x * (3.0 - 2.0 * x)


class SceneBackground:
    """The procedural scene, panned; zoomed through libswscale when the prompt asks.

    ``t0``: the scene time of the segment's first frame (an extension continues the
    source's scene); the zoom runs over ``seconds`` from there.
    """

    def __init__(self, scene: Scene, seconds: float, t0: float = 0.0) -> None:
        self.scene, self.seconds, self.t0 = scene, seconds, t0
        amount = {0.5: 0.14, 1.0: 0.22, 2.0: 0.36}[scene.style.speed]
        self.zoom = {"zoom_in": amount, "zoom_out": -amount}.get(scene.style.camera, 0.0)

    def frame(self, t: float) -> av.VideoFrame:
        w, h = self.scene.w, self.scene.h
        if not self.zoom:
            frame = av.VideoFrame(w, h, "yuv420p")
            self.scene.compose(frame_planes(frame), t)
            return frame
        progress = ease((t - self.t0) / self.seconds)
        scale = 1.0 + (self.zoom * progress if self.zoom > 0 else -self.zoom * (1 - progress))
        cw, ch = int(w / scale) // 2 * 2, int(h / scale) // 2 * 2
        col0, row0 = (w - cw) // 4 * 2, (h - ch) // 4 * 2
        small = av.VideoFrame(cw, ch, "yuv420p")
        self.scene.compose(frame_planes(small), t, row0, col0)
        # One thread: a pool per call (the size changes every frame) costs more than it saves.
        return small.reformat(width=w, height=h, interpolation="BILINEAR", threads=1)


def read_reference(path: Path, width: int, height: int) -> Planes:
    """A reference image as planes of exactly width x height (scaled and cropped to fit)."""
    try:
        with Image.open(path) as opened:
            image = opened.convert("RGB")
    except (OSError, ValueError) as exc:
        raise RuntimeError(f"reference image could not be read ({exc})") from exc
    if image.size != (width, height):
        image = ImageOps.fit(image, (width, height), Image.Resampling.LANCZOS)
    return Planes(*rgb_to_planes(np.asarray(image, np.float32) / 255.0))


class ReferenceBackground:
    """An image is frame 0; the camera eases into a zoom, then drifts across it.

    Used for a reference image, and for an extension that continues a picture which is
    not one of our scenes (the source's last frame). ``t0`` is the time of frame 0.
    """

    def __init__(
        self, image: Planes, seed: int, seconds: float, style: Style, t0: float = 0.0
    ) -> None:
        h, w = image.y.shape
        self.w, self.h, self.seconds, self.t0 = w, h, seconds, t0
        self.images = [Image.fromarray(p) for p in (image.y, image.u, image.v)]
        zoom = {0.5: 0.08, 1.0: 0.12, 2.0: 0.2}[style.speed]
        self.mx, self.my = round(w * zoom / 4) * 2, round(h * zoom / 4) * 2
        zw, zh = w + 2 * self.mx, h + 2 * self.my
        self.zoomed = [
            np.asarray(im.resize(size, Image.Resampling.BICUBIC))
            for im, size in zip(
                self.images, [(zw, zh), (zw // 2, zh // 2), (zw // 2, zh // 2)], strict=True
            )
        ]
        self.zoom_time = min(1.5, 0.5 * seconds)
        angle = np.random.default_rng([seed, 6]).random() * 2 * math.pi
        self.dx, self.dy = math.cos(angle), math.sin(angle)
        reach = min(self.mx / max(abs(self.dx), 1e-6), self.my / max(abs(self.dy), 1e-6))
        self.reach = 0.95 * reach

    def frame(self, t: float) -> av.VideoFrame:
        w, h = self.w, self.h
        t -= self.t0
        frame = av.VideoFrame(w, h, "yuv420p")
        dst = frame_planes(frame)
        if t < self.zoom_time:
            e = ease(t / self.zoom_time)
            # The crop that, scaled to w x h, matches the zoomed image's centre crop.
            bx, by = e * self.mx * w / (w + 2 * self.mx), e * self.my * h / (h + 2 * self.my)
            for im, out, k in zip(self.images, (dst.y, dst.u, dst.v), (1, 2, 2), strict=True):
                box = (bx / k, by / k, (w - bx) / k, (h - by) / k)
                out[:] = np.asarray(im.resize((w // k, h // k), Image.Resampling.BILINEAR, box=box))
            return frame
        e = ease((t - self.zoom_time) / max(1e-6, self.seconds - self.zoom_time))
        x = round(self.mx + self.dx * self.reach * e)
        y = round(self.my + self.dy * self.reach * e) // 2 * 2
        zy, zu, zv = self.zoomed
        dst.y[:] = zy[y : y + h, x : x + w]
        dst.u[:] = zu[y // 2 : (y + h) // 2, x // 2 : x // 2 + w // 2]
        dst.v[:] = zv[y // 2 : (y + h) // 2, x // 2 : x // 2 + w // 2]
        return frame
