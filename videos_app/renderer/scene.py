"""The landscape: colour conversion, and the parallax layers drawn once per render.

Speed comes from building every layer once as YUV planes and, per frame, only slicing
them (parallax pan) and blending the thin silhouette bands.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from PIL import Image

from videos_app.providers.base import JobSpec

from .prompt import Style
from .spec import FPS, RGB, Arr

# ---------------------------------------------------------------------------- colour


def rgb_to_planes(rgb: Arr) -> tuple[Arr, Arr, Arr]:
    """Float RGB (h, w, 3) in 0..1 to BT.709 limited-range Y and 2x2-averaged U, V (uint8)."""
    rgb = np.clip(rgb, 0.0, 1.0)
    y = 16.0 + 219.0 * (rgb @ np.array([0.2126, 0.7152, 0.0722], np.float32))
    half = _half(rgb)
    u = 128.0 + 224.0 * (half @ np.array([-0.11457, -0.38543, 0.5], np.float32))
    v = 128.0 + 224.0 * (half @ np.array([0.5, -0.45415, -0.04585], np.float32))
    return to_u8(y), to_u8(u), to_u8(v)


def _half(a: Arr) -> Arr:
    """2x2 box average (sides even)."""
    return (a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]) * np.float32(0.25)


def to_u8(a: Arr) -> Arr:
    return np.clip(a + 0.5, 0, 255).astype(np.uint8)


def planes_to_rgb_image(y: Arr, u: Arr, v: Arr, size: tuple[int, int]) -> Image.Image:
    """Downscale the planes to ``size`` and convert to an RGB image (thumbnails, tiles)."""
    yy = np.asarray(Image.fromarray(y).resize(size, Image.Resampling.BOX), np.float32)
    uu = np.asarray(Image.fromarray(u).resize(size, Image.Resampling.BOX), np.float32)
    vv = np.asarray(Image.fromarray(v).resize(size, Image.Resampling.BOX), np.float32)
    yy = (yy - 16.0) / 219.0
    uu = (uu - 128.0) / 224.0
    vv = (vv - 128.0) / 224.0
    rgb = np.stack([yy + 1.5748 * vv, yy - 0.18733 * uu - 0.46813 * vv, yy + 1.8556 * uu], axis=-1)
    return Image.fromarray(to_u8(rgb * 255.0))


def mix(a: RGB | Arr, b: RGB | Arr, t: float | Arr) -> Arr:
    a_, b_ = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return a_ + (b_ - a_) * t


def smoothstep(e0: float, e1: float, x: Arr) -> Arr:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


# ---------------------------------------------------------------------------- layers


@dataclass
class Planes:
    y: Arr
    u: Arr
    v: Arr


@dataclass
class Layer:
    """One parallax layer as YUV planes covering frame rows ``top..end``.

    The layer is horizontally periodic with period ``period``; its arrays carry ``width``
    extra columns so that any offset gives a contiguous slice. Only the first ``band``
    rows are partly transparent (the silhouette edge); below that it is opaque.
    """

    planes: Planes
    band16: Planes  # the band rows as int16, ready to blend
    alpha: Arr  # (band, period + width) int16 0..128
    alpha_c: Arr  # chroma alpha
    top: int
    band: int
    end: int
    period: int
    speed: float  # px per second
    phase: float

    def offset(self, t: float) -> int:
        step = self.speed / FPS
        if abs(step) >= 1.0:
            # A whole number of pixels every frame: even motion, and x264 encodes a
            # uniform full-pel shift about 10% faster than an uneven 3-4-3-4 px one.
            return (math.floor(self.phase) + round(step) * round(t * FPS)) % self.period
        return math.floor(self.phase + self.speed * t) % self.period


@dataclass
class LayerArt:
    """A layer while it is drawn: float RGB and coverage, before conversion."""

    rgb: Arr  # (end - top, period, 3)
    coverage: Arr  # (band, period)
    top: int
    band: int
    speed: float
    phase: float


def _periodic_curve(rng: np.random.Generator, period: int, harmonics: Sequence[int]) -> Arr:
    """A smooth curve over x in 0..period-1, periodic, normalised to -1..1."""
    x = np.arange(period, dtype=np.float32) * (2.0 * math.pi / period)
    curve = np.zeros(period, np.float32)
    for k in harmonics:
        curve += np.sin(k * x + rng.random() * 2 * math.pi) / (k**0.9)
    return curve / float(np.abs(curve).max() or 1.0)


def _coverage(silhouette: Arr, top: int, band: int) -> Arr:
    """Anti-aliased coverage of ``row >= silhouette(x)`` for rows top..top+band.

    ``silhouette`` is sampled 4 times per pixel so steep edges (trees, towers) are smooth.
    """
    rows = np.arange(top, top + band, dtype=np.float32)[:, None] + np.float32(1.0)
    cover = np.zeros((band, len(silhouette) // 4), np.float32)
    for k in range(4):
        cover += np.clip(rows - silhouette[k::4][None, :], 0.0, 1.0)
    return cover * np.float32(0.25)


def _band_of(silhouette: Arr) -> tuple[int, int]:
    top = max(0, math.floor(float(silhouette.min())) - 2) & ~1
    bottom = math.ceil(float(silhouette.max())) + 2
    band = (bottom - top + 1) & ~1
    return top, band


def _soften(curve: Arr, radius: int) -> Arr:
    """Periodic gaussian blur of a 1-D curve."""
    kernel = np.exp(-((np.arange(-3 * radius, 3 * radius + 1) / radius) ** 2))
    padded = np.concatenate([curve[-3 * radius :], curve, curve[: 3 * radius]])
    return np.convolve(padded, kernel / kernel.sum(), mode="valid")


def _supersampled(period: int) -> Arr:
    return (np.arange(period * 4, dtype=np.float32) + 0.5) / 4.0 - 0.5


def _fill_column(
    rows: Arr,
    floor: Arr,
    colour: RGB | Arr,
    deep: RGB | Arr,
    rim: RGB,
    depth: float,
    outline: Arr | None = None,
) -> Arr:
    """Colour under a curve: ``colour`` at ``floor`` fading to ``deep`` over ``depth`` rows,
    plus a thin rim light under ``outline`` (the silhouette; ``floor`` when None)."""
    edge = floor.reshape(-1, 4).mean(axis=1)[None, :]
    below = np.maximum(rows[:, None] - edge, 0.0)
    rgb = mix(colour, deep, np.clip(below / depth, 0.0, 1.0)[..., None])
    if outline is not None:
        below = np.maximum(rows[:, None] - outline.reshape(-1, 4).mean(axis=1)[None, :], 0.0)
    rgb += np.asarray(rim, np.float32) * np.exp(-below / 2.5)[..., None]
    return rgb.astype(np.float32)


# Far and near colour of each ground in daylight; the sky's light tints them.
GROUND_COLOURS: Final[dict[str, tuple[RGB, RGB]]] = {
    "hills": ((0.38, 0.52, 0.46), (0.16, 0.33, 0.19)),
    "forest": ((0.26, 0.42, 0.40), (0.07, 0.21, 0.12)),
    "desert": ((0.86, 0.62, 0.44), (0.95, 0.72, 0.47)),
    "snow": ((0.70, 0.78, 0.92), (0.96, 0.97, 1.0)),
    "city": ((0.30, 0.32, 0.42), (0.10, 0.11, 0.16)),
    "lunar": ((0.42, 0.42, 0.46), (0.55, 0.55, 0.58)),
    "sea": ((0.06, 0.27, 0.46), (0.03, 0.16, 0.30)),
}


class Scene:
    """The landscape: parallax layers drawn once, then sliced per frame by ``compose``."""

    def __init__(self, spec: JobSpec, style: Style) -> None:
        self.spec = spec
        self.style = style
        self.w, self.h = spec.width, spec.height
        self.unit = min(self.w, self.h) / 720.0
        self.period = 2 * self.w
        self.horizon = int(self.h * (0.62 if self.h > self.w else 0.64))
        self.rng = np.random.default_rng([spec.seed, 1])
        self.sun_x = float(self.w * (0.22 + 0.56 * self.rng.random()))
        self.sun_y = self.horizon * (0.42 + 0.3 * self.rng.random())
        self.layers = [self._to_layer(art) for art in self._draw_layers()]

    # -- drawing ---------------------------------------------------------------

    def _speeds(self) -> tuple[float, float, float]:
        s = self.style.speed * self.style.direction * self.w
        return 0.008 * s, 0.024 * s, 0.065 * s

    def _draw_layers(self) -> Iterator[LayerArt]:
        """Back to front. Each layer's rows end where the next one turns opaque."""
        style, rng = self.style, np.random.default_rng([self.spec.seed, 2])
        p, h, ground = self.period, self.h, self.style.ground
        xs = _supersampled(p)
        mid_colour, near_colour = GROUND_COLOURS[ground]
        light = np.asarray(style.sky.light, np.float32)
        haze = np.asarray(style.sky.horizon, np.float32)
        _sky_speed, mid_speed, near_speed = self._speeds()
        sun_side = 1.0 if self.sun_x % p > self.w / 2 else -1.0

        # (silhouette, the ground under any trees, kind); the sea itself is drawn with the
        # sky (it must keep the sun's reflection under the sun), a wave rolls in front.
        layers: list[tuple[Arr, Arr, str]] = []
        if ground == "sea":
            wave = h * 0.83 + h * 0.022 * _periodic_curve(rng, p * 4, [3, 5, 9])
            layers.append((wave, wave, "wave"))
        else:
            mid_floor = None
            if ground == "city":
                mid = self._skyline(rng, xs, h * 0.63, h * 0.2, 0.75)
            elif ground == "desert":
                mid = h * 0.6 - h * 0.04 * _periodic_curve(rng, p * 4, [2, 3, 5, 7])
            else:
                peaks, shape = self._mountains(rng, p * 4)
                mid, mid_floor = h * 0.6 - h * 0.2 * peaks, h * 0.6 - h * 0.2 * shape
            layers.append((mid, mid if mid_floor is None else mid_floor, "mid"))
            hills = h * 0.8 - h * 0.045 * _periodic_curve(rng, p * 4, [2, 3, 4, 7])
            near = hills
            if ground in ("forest", "snow", "hills") and style.sky_name not in ("fire", "space"):
                count = {"forest": 46, "snow": 20, "hills": 9}[ground]
                near = self._trees(rng, xs, hills, count, h * 0.13)
            if ground == "city":
                near = hills = self._skyline(rng, xs, h * 0.87, h * 0.36, 1.0)
            layers.append((near, hills, "near"))

        bands = [_band_of(silhouette) for silhouette, _, _ in layers]
        yield self._draw_sky(sum(bands[0]))
        for index, ((silhouette, floor, kind), (top, band)) in enumerate(
            zip(layers, bands, strict=True)
        ):
            end = sum(bands[index + 1]) if index + 1 < len(layers) else h
            rows = np.arange(top, max(end, top + band), dtype=np.float32)
            floor_px = floor.reshape(-1, 4).mean(axis=1)
            if kind == "mid":
                base = np.asarray(mid_colour) * light
                air = mix(style.sky.middle, style.sky.top, 0.3)  # distance turns things blue
                colour, deep = mix(base, air, 0.6), mix(base, air, 0.35)
                rgb = _fill_column(rows, silhouette, colour, deep, tuple(0.15 * haze), h * 0.25)
                if ground not in ("city", "desert"):  # light the sun-facing slopes, softly
                    slope = np.tanh(np.gradient(floor_px) * 2.0 * sun_side)
                    shade = 0.16 * _soften(slope, int(0.02 * self.w) + 1)[None, :]
                    below = np.maximum(rows[:, None] - floor_px[None, :], 0.0)
                    rgb *= (1.0 + shade * np.exp(-below / (0.12 * h)))[..., None]
                if ground == "city":
                    self._windows(rng, rgb, rows, silhouette, 0.55)
                if style.mist:  # valley fog: the ridge's foot dissolves into the air
                    fog = smoothstep(0.0, 1.0, (rows - top) / max(1.0, end - top)) * 0.8
                    rgb += (mix(air, haze, 0.5) - rgb) * fog[:, None, None]
                speed = mid_speed
            elif kind == "wave":
                sky = style.sky
                colour = mix(sky.top, (0.05, 0.25, 0.45), 0.5) * (0.5 + 0.5 * light)
                deep = np.asarray((0.02, 0.10, 0.22)) * (0.4 + 0.6 * light)
                rim = tuple(0.7 * mix(haze, (1.0, 1.0, 1.0), 0.5))
                rgb = _fill_column(rows, silhouette, colour, deep, rim, h * 0.15)
                speed = near_speed
            else:
                colour = np.asarray(near_colour) * light
                deep = colour * (0.55 if ground not in ("desert", "snow") else 0.8)
                rim = tuple(0.4 * haze)
                rgb = _fill_column(rows, floor, colour, deep, rim, h * 0.2, silhouette)
                if ground in ("desert", "snow", "lunar"):
                    slope = np.gradient(floor_px)
                    strength = 0.3 if ground == "desert" else 0.12
                    shade = 1.0 + strength * np.tanh(slope * 4.0 * sun_side)
                    rgb *= shade[None, :, None]
                if floor is not silhouette and ground != "city":
                    tree = np.asarray({"snow": (0.10, 0.24, 0.22)}.get(ground, (0.05, 0.17, 0.10)))
                    tree = tree * light
                    crowns = rows[:, None][:band]  # trees only rise into the band
                    above = np.clip(floor_px[None, :] - crowns + 0.5, 0.0, 1.0)
                    depth = np.clip((crowns - silhouette[::4][None, :]) / (0.1 * h), 0, 1)
                    trees = mix(tree * 1.3, tree * 0.7, depth[..., None])
                    rgb[:band] += (trees - rgb[:band]) * above[..., None]
                if ground == "city":
                    self._windows(rng, rgb, rows, silhouette, 1.0)
                if ground == "lunar":
                    self._craters(rng, rgb, rows, silhouette)
                speed = near_speed
            cover = _coverage(silhouette, top, band)
            yield LayerArt(rgb, cover, top, band, speed, float(rng.random() * p))

    def _mountains(self, rng: np.random.Generator, n: int) -> tuple[Arr, Arr]:
        """Peaks (0..1, up) from summed triangle waves, periodic over ``n`` samples.

        Returns the silhouette and its large-scale part; shading follows the latter so
        small bumps do not streak the slopes.
        """
        x = np.arange(n, dtype=np.float64) / n

        def triangles(harmonics: Sequence[tuple[int, float]]) -> Arr:
            out = np.zeros(n)
            for k, a in harmonics:
                out += a * (1.0 - 2.0 * np.abs((k * x + rng.random()) % 1.0 - 0.5))
            return out

        big = triangles(((3, 1.0), (5, 0.7)))
        detail = triangles(((8, 0.4), (21, 0.1), (34, 0.06), (55, 0.04)))
        low, span = big.min(), (big + detail).max() - (big + detail).min()
        return ((big + detail - low) / span).astype(np.float32), ((big - low) / span).astype(
            np.float32
        )

    def _draw_sky(self, end: int) -> LayerArt:
        style, rng = self.style, np.random.default_rng([self.spec.seed, 3])
        sky, p, h, u = style.sky, self.period, self.h, self.unit
        rows = np.arange(end, dtype=np.float32)
        column = self._sky_column(np.clip(rows / self.horizon, 0.0, 1.0))
        rgb = np.broadcast_to(column[:, None, :], (end, p, 3)).astype(np.float32)
        xs = np.arange(p, dtype=np.float32)

        def dx(cx: float) -> Arr:
            return (xs - cx + p / 2) % p - p / 2

        # Soft glow of the light source, then the body itself; both only near the source.
        sx, sy = self.sun_x, self.sun_y
        radius = 46.0 * u if sky.body != "planet" else 120.0 * u
        glow_size = h * (0.45 if sky.body in ("sun", "retro", "glow") else 0.25)
        cols = np.nonzero(np.abs(dx(sx)) < 2.2 * glow_size)[0]
        ddx, ddy = dx(sx)[None, cols], (rows - sy)[:, None]
        dist = np.sqrt(ddx * ddx + ddy * ddy)
        glow = np.exp(-((dist / glow_size) ** 2)) * (0.55 if sky.body != "planet" else 0.25)
        rgb[:, cols] += glow[..., None] * np.asarray(sky.sun, np.float32) * 0.6
        if sky.stars:
            self._stars(rng, rgb, min(end, self.horizon))
        if sky.body in ("sun", "moon", "retro", "planet"):
            near = np.abs(ddx[0]) < radius + 2
            cols, ddx, dist = cols[near], ddx[:, near], dist[:, near]
            sub = rgb[:, cols]
            disc = np.clip(radius - dist + 0.5, 0.0, 1.0)
            body: Arr = np.broadcast_to(np.asarray(sky.sun, np.float32), sub.shape).copy()
            if sky.body == "retro":
                # synthwave sun: vertical gradient and gaps in its lower half
                body = mix(
                    (1.0, 0.85, 0.3), (1.0, 0.2, 0.55), smoothstep(-1, 1, ddy / radius)[..., None]
                )
                body = np.broadcast_to(body, sub.shape)
                gap = (ddy > 0) & ((ddy / radius * 7.0) % 1.4 > 1.0 - 0.15 * ddy / radius)
                disc = np.where(gap, 0.0, disc)
            if sky.body in ("moon", "planet"):
                lit = smoothstep(-1.2, 1.0, (ddx * 0.7 - ddy * 0.7) / radius)
                body = body * (0.45 + 0.55 * lit[..., None])
            if sky.body == "planet":
                body = body * (1.0 + 0.12 * np.sin(ddy / radius * 9.0))[..., None]
            rgb[:, cols] = sub + (body - sub) * disc[..., None]
        # Clouds: soft flattened blobs, lit from the horizon side.
        clouds = {"day": 7, "sunset": 6, "sunrise": 6, "snow": 8, "seed": 5}.get(
            self.style.sky_name, 0
        )
        tint = mix(sky.horizon, (1.0, 1.0, 1.0), 0.5)
        for _ in range(clouds):
            cx, cy = rng.random() * p, self.horizon * (0.12 + 0.6 * rng.random())
            rx, ry = (90 + 160 * rng.random()) * u, (12 + 16 * rng.random()) * u
            for _ in range(4):
                ox, oy = (rng.random() - 0.5) * rx * 1.2, (rng.random() - 0.5) * ry * 1.5
                self._blob(rgb, cx + ox, cy + oy, rx * 0.6, ry, tint, 0.32)
        if style.ground == "sea":
            # A stream of its own: the sea looks the same under any sky (a remix keeps it).
            self._sea(np.random.default_rng([self.spec.seed, 7]), rgb, rows)
        return LayerArt(rgb, np.zeros((0, p), np.float32), 0, 0, self._speeds()[0], 0.0)

    def _sky_column(self, t: Arr) -> Arr:
        """Sky colour from the zenith (t=0) to the horizon (t=1), shape (len(t), 3)."""
        sky = self.style.sky
        t = t[:, None]
        return np.where(
            t < 0.6,
            mix(sky.top, sky.middle, smoothstep(0.0, 0.6, t)),
            mix(sky.middle, sky.horizon, smoothstep(0.6, 1.0, t)),
        ).astype(np.float32)

    def _blob(self, rgb: Arr, cx: float, cy: float, rx: float, ry: float, c: Arr, a: float) -> None:
        p = self.period
        y0, y1 = max(0, int(cy - 3 * ry)), min(rgb.shape[0], int(cy + 3 * ry) + 1)
        if y0 >= y1:
            return
        for shift in (-p, 0, p):
            x0, x1 = max(0, int(cx + shift - 3 * rx)), min(p, int(cx + shift + 3 * rx) + 1)
            if x0 >= x1:
                continue
            gx = ((np.arange(x0, x1) - cx - shift) / rx) ** 2
            gy = ((np.arange(y0, y1) - cy) / ry) ** 2
            alpha = (a * np.exp(-(gy[:, None] + gx[None, :]) * 1.5))[..., None]
            region = rgb[y0:y1, x0:x1]
            region += (c - region) * alpha

    def _stars(self, rng: np.random.Generator, rgb: Arr, rows: int) -> None:
        count = int(self.period * rows / 2600)
        ys = (rng.random(count) ** 1.6 * rows * 0.92).astype(np.intp)
        xs = rng.integers(0, self.period, count)
        bright = (0.25 + 0.75 * rng.random(count) ** 3)[:, None]
        fade = (1.0 - ys / max(rows, 1))[:, None]
        rgb[ys, xs] += bright * fade * np.asarray((0.95, 0.95, 1.0), np.float32)
        big = rng.random(count) < 0.06
        for y, x, b in zip(ys[big], xs[big], bright[big, 0], strict=True):
            for oy, ox in ((0, 1), (1, 0), (0, -1), (-1, 0)):
                if 0 <= y + oy < rgb.shape[0]:
                    rgb[y + oy, (x + ox) % self.period] += 0.35 * b

    def _sea(self, rng: np.random.Generator, rgb: Arr, rows: Arr) -> None:
        """Water from the horizon down, with the sun's broken reflection and wave streaks."""
        sky, hz, p = self.style.sky, self.horizon, self.period
        light = np.asarray(sky.light, np.float32)
        sea_rows = rows[hz:]
        depth = ((sea_rows - hz) / max(1.0, rows[-1] - hz))[:, None]
        # The water mirrors the sky (the horizon colour far away, the zenith close by),
        # darkened and tinted by the sea's own blue.
        mirrored = self._sky_column(1.0 - depth[:, 0] ** 0.8)
        blue = np.asarray((0.04, 0.22, 0.40), np.float32) * (0.35 + 0.65 * light)
        water = mix(mirrored * 0.9, blue, 0.1 + 0.5 * depth)
        water = np.broadcast_to(water[:, None, :], (len(sea_rows), p, 3)).copy()
        xs = np.arange(p, dtype=np.float32)
        dxs = (xs - self.sun_x + p / 2) % p - p / 2
        width = (30.0 + 220.0 * depth) * self.unit
        column = np.exp(-((dxs[None, :] / width) ** 2))
        streaks = np.zeros(water.shape[:2], np.float32)
        y = 2.0
        while y < len(sea_rows):
            frac = y / len(sea_rows)
            n = int(p / (60 * self.unit))
            starts = rng.integers(0, p, n)
            lengths = (rng.random(n) * (20 + 90 * frac) * self.unit).astype(np.intp) + 3
            thick = 1 + int(frac * 2.5 * self.unit)
            for s, ln in zip(starts, lengths, strict=True):
                idx = np.arange(s, s + ln) % p
                streaks[int(y) : int(y) + thick, idx] = 0.6 + 0.4 * rng.random()
            y += (2.0 + 9.0 * frac) * self.unit
        sun = np.asarray(sky.sun, np.float32)
        glint = mix(mix(sky.horizon, (1.0, 1.0, 1.0), 0.3), sun, column[..., None])
        water += (streaks * (0.05 + 0.8 * column))[..., None] * 0.6 * glint
        water += (column * 0.18 * (1 - depth))[..., None] * sun
        rgb[hz:] = water
        # A thin haze line at the horizon.
        rgb[hz - 1 : hz + 2] = mix(rgb[hz - 1 : hz + 2], sky.horizon, 0.5)

    def _trees(self, rng: np.random.Generator, xs: Arr, ground: Arr, n: int, size: float) -> Arr:
        """Pines standing on the ground curve: the silhouette takes the higher of both."""
        out = ground.copy()
        p = self.period
        for _ in range(n):
            x = rng.random() * p
            tall = size * (0.4 + 0.6 * rng.random())
            half = tall * (0.22 + 0.08 * rng.random())
            base = float(np.interp(x, xs, ground)) + tall * 0.04
            d = np.abs((xs - x + p / 2) % p - p / 2)
            near = d < half
            crown = np.full(int(near.sum()), np.inf, np.float32)
            for tier in range(4):  # four stacked cones make the jagged pine outline
                tip = base - tall + tier * tall * 0.22
                reach = half * (0.45 + 0.55 * (tier + 1) / 4)
                cone = tip + d[near] / reach * tall * 0.38
                crown = np.minimum(crown, np.where(d[near] < reach, cone, np.inf))
            out[near] = np.minimum(out[near], crown)
        return out

    def _skyline(
        self, rng: np.random.Generator, xs: Arr, base: float, tallest: float, fill: float
    ) -> Arr:
        p, u = self.period, self.unit
        out = np.full_like(xs, base + 4 * u)
        x = 0.0
        while x < p:
            w = (28 + 70 * rng.random()) * u
            if rng.random() < fill:
                top = base - tallest * (0.2 + 0.8 * rng.random() ** 1.5)
                inside = (xs >= x) & (xs < min(x + w, p))
                out[inside] = top
                if rng.random() < 0.3:  # spire or stepped roof
                    mid = (xs >= x + w * 0.35) & (xs < x + w * 0.65)
                    out[mid] = top - tallest * 0.08
            x += w + rng.random() * 8 * u
        return out

    def _windows(
        self, rng: np.random.Generator, rgb: Arr, rows: Arr, silhouette: Arr, bright: float
    ) -> None:
        u, top = self.unit, int(rows[0])
        edge = silhouette[::4]
        colours = [(1.0, 0.85, 0.5), (0.5, 0.95, 1.0), (1.0, 0.45, 0.8)]
        step_x, step_y = max(4, int(9 * u)), max(5, int(12 * u))
        wx, wy = max(2, int(4 * u)), max(2, int(5 * u))
        for x in range(0, self.period - wx, step_x):
            roof = math.ceil(float(edge[x : x + wx].max())) + step_y // 2
            for y in range(roof, int(rows[-1]) - wy, step_y):
                if rng.random() < 0.3:
                    c = colours[int(rng.integers(0, 3))] if self.style.sky.minor else colours[0]
                    rgb[y - top : y - top + wy, x : x + wx] = (
                        np.asarray(c) * bright * (0.6 + 0.4 * rng.random())
                    )

    def _craters(self, rng: np.random.Generator, rgb: Arr, rows: Arr, silhouette: Arr) -> None:
        top = int(rows[0])
        for _ in range(40):
            cx = rng.random() * self.period
            cy = top + rng.random() * (len(rows) - 1)
            if cy < float(np.interp(cx, np.arange(self.period), silhouette[::4])) + 12:
                continue
            r = (6 + 26 * rng.random()) * self.unit
            self._blob_rows(rgb, top, cx, cy, r, r * 0.35, (0.12, 0.12, 0.14), 0.45)

    def _blob_rows(
        self, rgb: Arr, top: int, cx: float, cy: float, rx: float, ry: float, c: RGB, a: float
    ) -> None:
        self._blob(rgb, cx, cy - top, rx, ry, np.asarray(c, np.float32), a)

    # -- conversion --------------------------------------------------------------

    def _to_layer(self, art: LayerArt) -> Layer:
        w, p, b = self.w, self.period, art.band
        y, u, v = rgb_to_planes(art.rgb)
        # Repeat the first frame-width of columns so every offset is one contiguous slice.
        y = np.concatenate([y, y[:, :w]], 1)
        u = np.concatenate([u, u[:, : w // 2]], 1)
        v = np.concatenate([v, v[:, : w // 2]], 1)
        a7 = np.rint(art.coverage * 128).astype(np.int16)
        a7c = np.rint(art.coverage.reshape(b // 2, 2, p // 2, 2).mean(axis=(1, 3)) * 128)
        a7c = a7c.astype(np.int16)
        return Layer(
            planes=Planes(y, u, v),
            band16=Planes(
                y[:b].astype(np.int16), u[: b // 2].astype(np.int16), v[: b // 2].astype(np.int16)
            ),
            alpha=np.concatenate([a7, a7[:, :w]], 1),
            alpha_c=np.concatenate([a7c, a7c[:, : w // 2]], 1),
            top=art.top,
            band=b,
            end=art.top + art.rgb.shape[0],
            period=p,
            speed=art.speed,
            phase=art.phase,
        )

    # -- per frame -----------------------------------------------------------------

    def compose(self, dst: Planes, t: float, row0: int = 0, col0: int = 0) -> None:
        """Write the background for time ``t`` into ``dst`` (frame rows row0.., cols col0..)."""
        rows, cols = dst.y.shape
        for layer in self.layers:
            x = (layer.offset(t) + col0) % layer.period
            xc = x // 2
            # Opaque part.
            a, b = max(layer.top + layer.band, row0), min(layer.end, row0 + rows)
            if a < b:
                src = layer.planes
                dst.y[a - row0 : b - row0] = src.y[a - layer.top : b - layer.top, x : x + cols]
                ca, cb, ct, cr = a // 2, b // 2, layer.top // 2, row0 // 2
                dst.u[ca - cr : cb - cr] = src.u[ca - ct : cb - ct, xc : xc + cols // 2]
                dst.v[ca - cr : cb - cr] = src.v[ca - ct : cb - ct, xc : xc + cols // 2]
            # Silhouette band, blended over what the layers behind wrote.
            a, b = max(layer.top, row0), min(layer.top + layer.band, row0 + rows)
            if a < b:
                blend_region(
                    dst.y[a - row0 : b - row0],
                    layer.band16.y[a - layer.top : b - layer.top, x : x + cols],
                    layer.alpha[a - layer.top : b - layer.top, x : x + cols],
                )
                ca, cb, ct, cr = a // 2, b // 2, layer.top // 2, row0 // 2
                alpha_c = layer.alpha_c[ca - ct : cb - ct, xc : xc + cols // 2]
                for plane, band in ((dst.u, layer.band16.u), (dst.v, layer.band16.v)):
                    blend_region(
                        plane[ca - cr : cb - cr],
                        band[ca - ct : cb - ct, xc : xc + cols // 2],
                        alpha_c,
                    )


def blend_region(dst: Arr, fg16: Arr, alpha: Arr) -> None:
    """dst (uint8) += (fg - dst) * alpha / 128, in place, integer arithmetic."""
    d = fg16 - dst
    d *= alpha
    d >>= 7
    np.add(dst, d, out=dst, casting="unsafe")
