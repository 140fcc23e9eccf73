"""The local renderer's child process: draws a procedural scene and encodes it.

Run as ``python -m videos_app.providers.render_worker SPEC_JSON`` (or ``@FILE``, a file
holding it). ``SPEC_JSON`` is one JSON object (see ``RenderSpec``). On stdout the
process writes ``progress N`` lines (integer percent, only when it changes) and a final
``done`` line; on failure it writes ``error: <message>`` to stderr and exits with 2 for
an invalid spec, 3 for a source video that cannot be decoded, 1 otherwise.

It is a procedural renderer, not an AI model: words of the prompt pick a sky palette,
the ground, the floating objects and the motion (see docs/renderer.md). Same spec, same
frames. Speed comes from building every layer once as YUV planes and, per frame, only
slicing them (parallax pan), blending the thin silhouette bands and a few small sprites.

``operation`` picks the job: ``create`` and ``remix`` draw a scene (a remix is a render
of the new prompt with the source's seed, so the layout stays); ``extend`` and ``edit``
work on a source video (``render_extend``, ``render_edit``); characters are drawn by
``render_characters``. Those modules are imported only when a job needs them.

This module must never import Django: it runs in a fresh interpreter.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import re
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

import av
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

if TYPE_CHECKING:
    from av.audio.stream import AudioStream
    from av.container import OutputContainer
    from av.video.stream import VideoStream

Arr = NDArray[Any]
RGB = tuple[float, float, float]

FPS: Final = 24
AUDIO_RATE: Final = 48_000
AUDIO_CHUNK: Final = 1024  # one AAC frame
SAMPLES_PER_FRAME: Final = AUDIO_RATE // FPS
MIN_SECONDS: Final = 1
MAX_SECONDS: Final = 20
MIN_SEGMENT_SECONDS: Final = 4
MAX_SEGMENT_SECONDS: Final = 20
# Sources of edits and extensions: the renderer's own bound (the studio allows less).
MAX_SOURCE_SECONDS: Final = 300
MAX_CHARACTERS: Final = 2
MIN_SIDE: Final = 64
MAX_SIDE: Final = 2048
SHEET_COLUMNS: Final = 5
SHEET_ROWS: Final = 5
TILE_LONG_SIDE: Final = 160
THUMB_LONG_SIDE: Final = 640
X264_PRESET: Final = "veryfast"
LABEL: Final = "local renderer"
OPERATIONS: Final = ("create", "remix", "extend", "edit")
SPEC_ERROR_STATUS: Final = 2
SOURCE_ERROR_STATUS: Final = 3


class SpecError(ValueError):
    """The spec cannot be rendered (exit status 2)."""


class SourceError(RuntimeError):
    """The source video of an edit or extension cannot be read or decoded (exit status 3)."""


@dataclass(frozen=True, kw_only=True)
class CharacterRef:
    """A character to draw: its name and a poster image (any size)."""

    name: str
    poster: Path


@dataclass(frozen=True, kw_only=True)
class RenderSpec:
    prompt: str
    seed: int
    width: int
    height: int
    # create / remix / edit: the length; extend: the stitched total.
    seconds: int
    video: Path
    thumbnail: Path
    spritesheet: Path
    reference_image: Path | None = None
    operation: str = "create"
    source_video: Path | None = None
    source_prompt: str = ""
    segment_seconds: int = 0
    characters: tuple[CharacterRef, ...] = ()

    @classmethod
    def from_json(cls, text: str) -> RenderSpec:
        try:
            raw = json.loads(text)
            spec = cls(
                prompt=str(raw["prompt"]),
                seed=int(raw["seed"]),
                width=int(raw["width"]),
                height=int(raw["height"]),
                seconds=int(raw["seconds"]),
                video=Path(raw["video"]),
                thumbnail=Path(raw["thumbnail"]),
                spritesheet=Path(raw["spritesheet"]),
                reference_image=Path(raw["reference_image"])
                if raw.get("reference_image")
                else None,
                operation=str(raw.get("operation") or "create"),
                source_video=Path(raw["source_video"]) if raw.get("source_video") else None,
                source_prompt=str(raw.get("source_prompt") or ""),
                segment_seconds=int(raw.get("segment_seconds") or 0),
                characters=tuple(
                    CharacterRef(name=str(c["name"]), poster=Path(c["poster"]))
                    for c in raw.get("characters") or ()
                ),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise SpecError(f"malformed spec: {exc}") from exc
        spec.check()
        return spec

    def check(self) -> None:
        """Raise ``SpecError`` unless this spec is one the renderer can do."""
        for side in (self.width, self.height):
            if not MIN_SIDE <= side <= MAX_SIDE or side % 2:
                raise SpecError(f"width and height must be even, {MIN_SIDE}..{MAX_SIDE} px")
        if self.operation not in OPERATIONS:
            raise SpecError(f"operation must be one of {', '.join(OPERATIONS)}")
        if self.operation in ("create", "remix"):
            if not MIN_SECONDS <= self.seconds <= MAX_SECONDS:
                raise SpecError(f"seconds must be {MIN_SECONDS}..{MAX_SECONDS}")
        else:
            if self.source_video is None:
                raise SpecError(f"an {self.operation} needs a source_video")
            if not MIN_SECONDS <= self.seconds <= MAX_SOURCE_SECONDS:
                raise SpecError(f"seconds must be {MIN_SECONDS}..{MAX_SOURCE_SECONDS}")
        if self.operation == "extend":
            if not MIN_SEGMENT_SECONDS <= self.segment_seconds <= MAX_SEGMENT_SECONDS:
                raise SpecError(
                    f"segment_seconds must be {MIN_SEGMENT_SECONDS}..{MAX_SEGMENT_SECONDS}"
                )
            if self.seconds <= self.segment_seconds:
                raise SpecError("seconds (the stitched total) must exceed segment_seconds")
        if len(self.characters) > MAX_CHARACTERS:
            raise SpecError(f"at most {MAX_CHARACTERS} characters")
        if any(not c.name.strip() for c in self.characters):
            raise SpecError("a character needs a name")


# ---------------------------------------------------------------------------- prompt


@dataclass(frozen=True)
class Sky:
    top: RGB
    middle: RGB
    horizon: RGB
    sun: RGB
    body: str  # "sun", "moon", "retro", "planet", "glow"
    light: RGB  # multiplies ground colours: silhouettes at dusk, full colour by day
    stars: bool
    particles: str
    minor: bool  # the soundscape's chord

    @classmethod
    def make(
        cls,
        colours: str,
        body: str,
        light: str,
        particles: str,
        *,
        stars: bool = False,
        minor: bool = False,
    ) -> Sky:
        """``colours``: "top middle horizon sun" as #rrggbb."""
        top, middle, horizon, sun = (_hex(code) for code in colours.split())
        return cls(top, middle, horizon, sun, body, _hex(light), stars, particles, minor)


def _hex(code: str) -> RGB:
    return int(code[1:3], 16) / 255, int(code[3:5], 16) / 255, int(code[5:7], 16) / 255


SKIES: Final[dict[str, Sky]] = {
    "day": Sky.make("#2966c2 #6ba8e6 #d6e8f5 #fffae6", "sun", "#ffffff", "bird"),
    "sunset": Sky.make("#291c5c #db5c61 #ffba61 #ffe094", "sun", "#854c70", "bird"),
    "sunrise": Sky.make("#4c6bbd #f2a3a3 #ffe0a3 #fff5c7", "sun", "#c7a3b2", "bird"),
    "night": Sky.make(
        "#030514 #0a1233 #243361 #f2f2db", "moon", "#293054", "firefly", stars=True, minor=True
    ),
    "neon": Sky.make(
        "#0a0021 #540a70 #ff4294 #ff9e47", "retro", "#572e80", "orb", stars=True, minor=True
    ),
    "fire": Sky.make("#120508 #6b140a #ff751f #ffb24c", "glow", "#7a291a", "ember", minor=True),
    "space": Sky.make(
        "#000008 #0a051c #1f0d33 #8cb2f2", "planet", "#8c8ca6", "sparkle", stars=True, minor=True
    ),
    "snow": Sky.make("#809cc7 #bdcfe6 #edf2fa #fffff5", "glow", "#f2f7ff", "snow"),
}

SKY_WORDS: Final[dict[str, tuple[str, ...]]] = {
    "sunset": ("sunset", "dusk", "evening", "sundown", "twilight"),
    "sunrise": ("sunrise", "dawn", "morning", "daybreak"),
    "night": ("night", "moon", "moonlit", "moonlight", "midnight", "starry", "dark"),
    "neon": ("neon", "cyber", "cyberpunk", "synthwave", "vaporwave", "retro", "arcade"),
    "fire": ("fire", "lava", "volcano", "volcanic", "flame", "flames", "inferno", "burning"),
    "space": ("space", "galaxy", "cosmic", "cosmos", "nebula", "planet", "universe"),
    "snow": ("snow", "snowy", "winter", "ice", "icy", "frozen", "arctic", "frost", "blizzard"),
    "day": ("day", "sunny", "noon", "summer", "daylight", "bright"),
}

GROUND_WORDS: Final[dict[str, tuple[str, ...]]] = {
    "sea": ("ocean", "sea", "beach", "wave", "waves", "coast", "shore", "lake", "water", "surf"),
    "forest": ("forest", "woods", "jungle", "tree", "trees", "pine", "pines", "woodland"),
    "desert": ("desert", "sand", "sandy", "dune", "dunes", "sahara", "canyon"),
    "snow": ("snow", "snowy", "winter", "glacier", "arctic", "frozen", "ice", "icy"),
    "city": ("city", "skyline", "street", "downtown", "urban", "buildings", "metropolis"),
    "hills": ("hills", "hill", "meadow", "valley", "field", "fields", "mountain", "mountains"),
}

DEFAULT_GROUND: Final = {"neon": "city", "space": "lunar", "snow": "snow"}
DEFAULT_SKY: Final = {"snow": "snow"}

PARTICLE_WORDS: Final[dict[str, tuple[str, ...]]] = {
    "bird": ("bird", "birds", "seagull", "seagulls", "gulls", "flock"),
    "balloon": ("balloon", "balloons"),
    "heart": ("heart", "hearts", "love", "valentine"),
    "sparkle": ("sparkle", "sparkles", "sparkling", "glitter", "magic", "stars", "star"),
    "bubble": ("bubble", "bubbles", "underwater"),
    "snow": ("snowflake", "snowflakes", "snowfall", "snowing"),
    "leaf": ("leaf", "leaves", "autumn"),
    "petal": ("petal", "petals", "blossom", "blossoms", "sakura", "cherry", "flower", "flowers"),
    "firefly": ("firefly", "fireflies", "lantern", "lanterns", "glow", "glowing"),
    "ember": ("ember", "embers", "spark", "sparks", "fire"),
    "orb": ("orb", "orbs", "bokeh", "lights", "dots", "particles"),
    "square": ("square", "squares", "cube", "cubes", "box", "boxes", "block", "blocks"),
    "triangle": ("triangle", "triangles", "pyramid", "pyramids"),
    "ring": ("circle", "circles", "ring", "rings"),
    "rain": ("rain", "rainy", "storm", "raindrops"),
}

COLOR_WORDS: Final[dict[str, RGB]] = {
    "red": (0.95, 0.25, 0.25),
    "orange": (1.0, 0.6, 0.2),
    "yellow": (1.0, 0.9, 0.3),
    "gold": (1.0, 0.8, 0.35),
    "golden": (1.0, 0.8, 0.35),
    "green": (0.35, 0.9, 0.45),
    "teal": (0.2, 0.8, 0.75),
    "cyan": (0.3, 0.9, 1.0),
    "blue": (0.3, 0.55, 1.0),
    "purple": (0.65, 0.4, 1.0),
    "violet": (0.65, 0.4, 1.0),
    "pink": (1.0, 0.5, 0.75),
    "white": (0.97, 0.97, 0.97),
    "silver": (0.8, 0.83, 0.88),
}

SLOW_WORDS: Final = frozenset(
    [
        "slow",
        "slowly",
        "calm",
        "gentle",
        "gently",
        "serene",
        "peaceful",
        "quiet",
        "lazy",
        "still",
        "soft",
        "tranquil",
        "dreamy",
        "relaxing",
        "relaxed",
        "drifting",
    ]
)
FAST_WORDS: Final = frozenset(
    [
        "fast",
        "quick",
        "quickly",
        "rapid",
        "rapidly",
        "energetic",
        "rush",
        "rushing",
        "racing",
        "speed",
        "speeding",
        "hyper",
        "wild",
        "frantic",
        "dynamic",
    ]
)
ZOOM_IN_WORDS: Final = frozenset(
    ["zoom", "zooming", "dolly", "push", "closer", "approach", "approaching"]
)
ZOOM_OUT_WORDS: Final = frozenset(["pull", "reveal", "revealing", "away"])
SPIN_WORDS: Final = frozenset(
    [
        "spin",
        "spinning",
        "rotate",
        "rotating",
        "swirl",
        "swirling",
        "orbit",
        "orbiting",
        "vortex",
        "twirl",
        "whirl",
    ]
)
MIST_WORDS: Final = frozenset(["mist", "misty", "fog", "foggy", "haze", "hazy", "cloudy"])
RISE_WORDS: Final = frozenset(
    ["rise", "rising", "float", "floating", "ascend", "ascending", "upward", "up"]
)
FALL_WORDS: Final = frozenset(
    ["fall", "falling", "drop", "dropping", "descend", "descending", "downward"]
)


@dataclass(frozen=True)
class Style:
    sky: Sky
    sky_name: str
    ground: str
    particles: tuple[str, ...]
    accent: RGB | None
    speed: float  # 0.5 slow, 1 normal, 2 fast
    camera: str  # "pan", "zoom_in", "zoom_out"
    spin: bool
    mist: bool
    vertical: str  # "", "rise", "fall"
    direction: int  # +1: the camera travels right (the scene moves left)


def _first_match(words: list[str], table: dict[str, tuple[str, ...]]) -> str | None:
    for word in words:
        for name, vocab in table.items():
            if word in vocab:
                return name
    return None


def _seed_sky(seed: int) -> Sky:
    """A palette of its own for prompts that name none: hue, mood and body from the seed."""
    rng = np.random.default_rng([seed, 11])
    hue = float(rng.random())

    def hsv(h: float, s: float, v: float) -> RGB:
        h = (h % 1.0) * 6.0
        i, f = int(h), h - int(h)
        p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
        return [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i % 6]

    return Sky(
        hsv(hue, 0.65, 0.32),
        hsv(hue + 0.06, 0.45, 0.72),
        hsv(hue + 0.13, 0.30, 0.97),
        hsv(hue + 0.13, 0.15, 1.0),
        "sun",
        hsv(hue + 0.5, 0.25, 0.62),
        False,
        "orb",
        bool(rng.random() < 0.4),
    )


def parse_prompt(prompt: str, seed: int) -> Style:
    words = re.findall(r"[a-z]+", prompt.lower())
    wordset = set(words)
    sky_name = _first_match(words, SKY_WORDS)
    ground = _first_match(words, GROUND_WORDS)
    if sky_name is None and ground is None:
        sky_name = "seed"
        ground = ["hills", "sea", "forest", "desert"][seed % 4]
    elif sky_name is None:
        sky_name = DEFAULT_SKY.get(ground or "", "day")
    if ground is None or (sky_name == "space" and ground == "hills"):
        ground = DEFAULT_GROUND.get(sky_name, "hills")
    sky = _seed_sky(seed) if sky_name == "seed" else SKIES[sky_name]

    particles: list[str] = []
    for word in words:
        for name, vocab in PARTICLE_WORDS.items():
            if word in vocab and name not in particles:
                particles.append(name)
    if not particles:
        particles.append(sky.particles if ground != "snow" else "snow")
    accent = next((COLOR_WORDS[w] for w in words if w in COLOR_WORDS), None)

    speed = 1.0
    if wordset & SLOW_WORDS:
        speed = 0.5
    if wordset & FAST_WORDS:
        speed = 2.0
    camera = "pan"
    if ("zoom" in wordset and "out" in wordset) or wordset & ZOOM_OUT_WORDS:
        camera = "zoom_out"
    elif wordset & ZOOM_IN_WORDS:
        camera = "zoom_in"
    vertical = "rise" if wordset & RISE_WORDS else "fall" if wordset & FALL_WORDS else ""
    direction = -1 if "left" in wordset else 1 if "right" in wordset else (1 if seed % 3 else -1)
    return Style(
        sky=sky,
        sky_name=sky_name,
        ground=ground,
        particles=tuple(particles[:2]),
        accent=accent,
        speed=speed,
        camera=camera,
        spin=bool(wordset & SPIN_WORDS),
        mist=bool(wordset & MIST_WORDS),
        vertical=vertical,
        direction=direction,
    )


# ---------------------------------------------------------------------------- colour


def rgb_to_planes(rgb: Arr) -> tuple[Arr, Arr, Arr]:
    """Float RGB (h, w, 3) in 0..1 to BT.709 limited-range Y and 2x2-averaged U, V (uint8)."""
    rgb = np.clip(rgb, 0.0, 1.0)
    y = 16.0 + 219.0 * (rgb @ np.array([0.2126, 0.7152, 0.0722], np.float32))
    half = _half(rgb)
    u = 128.0 + 224.0 * (half @ np.array([-0.11457, -0.38543, 0.5], np.float32))
    v = 128.0 + 224.0 * (half @ np.array([0.5, -0.45415, -0.04585], np.float32))
    return _to_u8(y), _to_u8(u), _to_u8(v)


def _half(a: Arr) -> Arr:
    """2x2 box average (sides even)."""
    return (a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]) * np.float32(0.25)


def _to_u8(a: Arr) -> Arr:
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
    return Image.fromarray(_to_u8(rgb * 255.0))


def _mix(a: RGB | Arr, b: RGB | Arr, t: float | Arr) -> Arr:
    a_, b_ = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return a_ + (b_ - a_) * t


def _smoothstep(e0: float, e1: float, x: Arr) -> Arr:
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
    rgb = _mix(colour, deep, np.clip(below / depth, 0.0, 1.0)[..., None])
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

    def __init__(self, spec: RenderSpec, style: Style) -> None:
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
                air = _mix(style.sky.middle, style.sky.top, 0.3)  # distance turns things blue
                colour, deep = _mix(base, air, 0.6), _mix(base, air, 0.35)
                rgb = _fill_column(rows, silhouette, colour, deep, tuple(0.15 * haze), h * 0.25)
                if ground not in ("city", "desert"):  # light the sun-facing slopes, softly
                    slope = np.tanh(np.gradient(floor_px) * 2.0 * sun_side)
                    shade = 0.16 * _soften(slope, int(0.02 * self.w) + 1)[None, :]
                    below = np.maximum(rows[:, None] - floor_px[None, :], 0.0)
                    rgb *= (1.0 + shade * np.exp(-below / (0.12 * h)))[..., None]
                if ground == "city":
                    self._windows(rng, rgb, rows, silhouette, 0.55)
                if style.mist:  # valley fog: the ridge's foot dissolves into the air
                    fog = _smoothstep(0.0, 1.0, (rows - top) / max(1.0, end - top)) * 0.8
                    rgb += (_mix(air, haze, 0.5) - rgb) * fog[:, None, None]
                speed = mid_speed
            elif kind == "wave":
                sky = style.sky
                colour = _mix(sky.top, (0.05, 0.25, 0.45), 0.5) * (0.5 + 0.5 * light)
                deep = np.asarray((0.02, 0.10, 0.22)) * (0.4 + 0.6 * light)
                rim = tuple(0.7 * _mix(haze, (1.0, 1.0, 1.0), 0.5))
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
                    trees = _mix(tree * 1.3, tree * 0.7, depth[..., None])
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
                body = _mix(
                    (1.0, 0.85, 0.3), (1.0, 0.2, 0.55), _smoothstep(-1, 1, ddy / radius)[..., None]
                )
                body = np.broadcast_to(body, sub.shape)
                gap = (ddy > 0) & ((ddy / radius * 7.0) % 1.4 > 1.0 - 0.15 * ddy / radius)
                disc = np.where(gap, 0.0, disc)
            if sky.body in ("moon", "planet"):
                lit = _smoothstep(-1.2, 1.0, (ddx * 0.7 - ddy * 0.7) / radius)
                body = body * (0.45 + 0.55 * lit[..., None])
            if sky.body == "planet":
                body = body * (1.0 + 0.12 * np.sin(ddy / radius * 9.0))[..., None]
            rgb[:, cols] = sub + (body - sub) * disc[..., None]
        # Clouds: soft flattened blobs, lit from the horizon side.
        clouds = {"day": 7, "sunset": 6, "sunrise": 6, "snow": 8, "seed": 5}.get(
            self.style.sky_name, 0
        )
        tint = _mix(sky.horizon, (1.0, 1.0, 1.0), 0.5)
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
            _mix(sky.top, sky.middle, _smoothstep(0.0, 0.6, t)),
            _mix(sky.middle, sky.horizon, _smoothstep(0.6, 1.0, t)),
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
        water = _mix(mirrored * 0.9, blue, 0.1 + 0.5 * depth)
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
        glint = _mix(_mix(sky.horizon, (1.0, 1.0, 1.0), 0.3), sun, column[..., None])
        water += (streaks * (0.05 + 0.8 * column))[..., None] * 0.6 * glint
        water += (column * 0.18 * (1 - depth))[..., None] * sun
        rgb[hz:] = water
        # A thin haze line at the horizon.
        rgb[hz - 1 : hz + 2] = _mix(rgb[hz - 1 : hz + 2], sky.horizon, 0.5)

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
                _blend_region(
                    dst.y[a - row0 : b - row0],
                    layer.band16.y[a - layer.top : b - layer.top, x : x + cols],
                    layer.alpha[a - layer.top : b - layer.top, x : x + cols],
                )
                ca, cb, ct, cr = a // 2, b // 2, layer.top // 2, row0 // 2
                alpha_c = layer.alpha_c[ca - ct : cb - ct, xc : xc + cols // 2]
                for plane, band in ((dst.u, layer.band16.u), (dst.v, layer.band16.v)):
                    _blend_region(
                        plane[ca - cr : cb - cr],
                        band[ca - ct : cb - ct, xc : xc + cols // 2],
                        alpha_c,
                    )


def _blend_region(dst: Arr, fg16: Arr, alpha: Arr) -> None:
    """dst (uint8) += (fg - dst) * alpha / 128, in place, integer arithmetic."""
    d = fg16 - dst
    d *= alpha
    d >>= 7
    np.add(dst, d, out=dst, casting="unsafe")


# ---------------------------------------------------------------------------- sprites


@dataclass
class Sprite:
    """A small picture ready to blend: int16 Y/U/V and alpha 0..128 (chroma at half size)."""

    y: Arr
    u: Arr
    v: Arr
    a: Arr
    ac: Arr

    @property
    def w(self) -> int:
        return int(self.y.shape[1])

    @property
    def h(self) -> int:
        return int(self.y.shape[0])

    @classmethod
    def from_rgba(cls, rgb: Arr, alpha: Arr) -> Sprite:
        """From float RGB (h, w, 3) and alpha (h, w) in 0..1; pads to even sides."""
        h, w = alpha.shape
        ph, pw = h % 2, w % 2
        if ph or pw:
            rgb = np.pad(rgb, ((0, ph), (0, pw), (0, 0)), mode="edge")
            alpha = np.pad(alpha, ((0, ph), (0, pw)))
            h, w = alpha.shape
        rgb = np.clip(rgb, 0.0, 1.0)
        y = 16.0 + 219.0 * (rgb @ np.array([0.2126, 0.7152, 0.0722], np.float32))
        # Chroma from the alpha-weighted 2x2 average so transparent pixels do not tint edges.
        weight = alpha.reshape(h // 2, 2, w // 2, 2)
        total = weight.sum(axis=(1, 3))
        half = (rgb.reshape(h // 2, 2, w // 2, 2, 3) * weight[..., None]).sum(axis=(1, 3))
        half = half / np.maximum(total, 1e-6)[..., None]
        u = 128.0 + 224.0 * (half @ np.array([-0.11457, -0.38543, 0.5], np.float32))
        v = 128.0 + 224.0 * (half @ np.array([0.5, -0.45415, -0.04585], np.float32))
        return cls(
            _to_u8(y).astype(np.int16),
            _to_u8(u).astype(np.int16),
            _to_u8(v).astype(np.int16),
            np.rint(alpha * 128).astype(np.int16),
            np.rint(total / 4.0 * 128).astype(np.int16),
        )

    @classmethod
    def from_image(cls, image: Image.Image) -> Sprite:
        arr = np.asarray(image.convert("RGBA"), np.float32) / 255.0
        return cls.from_rgba(arr[..., :3], arr[..., 3])

    def blend(self, dst: Planes, x: int, y: int, gain: int = 128) -> None:
        """Blend at top-left (x, y), clipped to the frame; ``gain`` scales alpha (0..128)."""
        a, ac = self.a, self.ac
        if gain < 128:
            a, ac = (a * gain) >> 7, (ac * gain) >> 7
        _blend_clipped(dst.y, self.y, a, x, y)
        _blend_clipped(dst.u, self.u, ac, x // 2, y // 2)
        _blend_clipped(dst.v, self.v, ac, x // 2, y // 2)


def _blend_clipped(dst: Arr, fg: Arr, alpha: Arr, x: int, y: int) -> None:
    h, w = fg.shape
    dh, dw = dst.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, dw), min(y + h, dh)
    if x0 < x1 and y0 < y1:
        _blend_region(
            dst[y0:y1, x0:x1],
            fg[y0 - y : y1 - y, x0 - x : x1 - x],
            alpha[y0 - y : y1 - y, x0 - x : x1 - x],
        )


SS: Final = 4  # supersampling factor for drawn shapes


def _radial(size: int) -> Arr:
    c = (size - 1) / 2.0
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    return np.sqrt((xx - c) ** 2 + (yy - c) ** 2) / max(c, 1.0)


def _glow_sprite(size: int, colour: RGB, core: float, level: float) -> Sprite:
    r = _radial(size)
    alpha = np.exp(-((r / 0.45) ** 2)) * 0.85 + np.clip(1.0 - r / core, 0, 1) * 0.6
    rgb: Arr = np.broadcast_to(np.asarray(colour, np.float32), (size, size, 3))
    rgb = rgb + np.clip(1.0 - r / core, 0, 1)[..., None] * 0.6  # white-hot centre
    return Sprite.from_rgba(rgb, np.clip(alpha * level, 0, 1))


def _drawn(
    size: tuple[int, int], draw: Callable[[ImageDraw.ImageDraw, int], None], c: RGB
) -> Image.Image:
    """Draw a shape at SS x size in white on a mask, and colour it."""
    w, h = size
    mask = Image.new("L", (w * SS, h * SS), 0)
    draw(ImageDraw.Draw(mask), SS)
    mask = mask.resize((w, h), Image.Resampling.BOX)
    fill = tuple(int(255 * min(1.0, max(0.0, v))) for v in c)
    image = Image.new("RGBA", (w, h), (*fill, 0))
    image.putalpha(mask)
    return image


def _shape_polygon(kind: str, s: float) -> list[tuple[float, float]]:
    """Unit-ish polygons centred at (s/2, s/2)."""
    c = s / 2.0
    if kind == "square":
        pts = [(-0.36, -0.36), (0.36, -0.36), (0.36, 0.36), (-0.36, 0.36)]
    elif kind == "triangle":
        pts = [(0.0, -0.42), (0.4, 0.3), (-0.4, 0.3)]
    elif kind == "heart":
        pts = []
        for k in range(48):
            t = 2 * math.pi * k / 48
            x = 16 * math.sin(t) ** 3
            y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
            pts.append((x / 36.0, -y / 36.0 + 0.02))
    elif kind == "leaf":
        # a lens with pointed ends, slightly fuller towards the stem
        pts = [
            (
                0.46 * math.cos(t),
                0.2 * math.sin(t) * abs(math.sin(t)) ** 0.3 * (1.1 - 0.3 * math.cos(t)),
            )
            for t in np.linspace(0.0, 2 * math.pi, 48, endpoint=False)
        ]
    elif kind == "petal":
        pts = [
            (0.22 * math.cos(t), 0.4 * math.sin(t) * (0.75 + 0.25 * math.sin(t)))
            for t in np.linspace(0.0, 2 * math.pi, 32)
        ]
    else:
        raise ValueError(kind)
    return [(c + x * s, c + y * s) for x, y in pts]


def _rotated(
    points: list[tuple[float, float]], angle: float, c: float
) -> list[tuple[float, float]]:
    ca, sa = math.cos(angle), math.sin(angle)
    return [(c + (x - c) * ca - (y - c) * sa, c + (x - c) * sa + (y - c) * ca) for x, y in points]


def make_sprites(kind: str, size: int, colour: RGB, dark: RGB) -> list[Sprite]:
    """The variants of one particle at one size: rotations, wing poses or flicker levels."""
    size = max(4, size)
    if kind in ("firefly", "ember", "sparkle"):
        levels = (0.35, 0.6, 0.85, 1.0)
        if kind == "sparkle":
            r = np.linspace(-1, 1, size, dtype=np.float32)
            yy, xx = np.meshgrid(r, r, indexing="ij")
            cross = np.maximum(
                np.exp(-(xx**2) / 0.5 - yy**2 / 0.004), np.exp(-(yy**2) / 0.5 - xx**2 / 0.004)
            )
            alpha = np.clip(cross + np.exp(-(xx**2 + yy**2) / 0.03), 0, 1)
            rgb = np.broadcast_to(np.asarray(_mix(colour, (1, 1, 1), 0.6)), (size, size, 3))
            return [Sprite.from_rgba(rgb, alpha * lv) for lv in levels]
        return [_glow_sprite(size, colour, 0.22, lv) for lv in levels]
    if kind == "orb":
        r = _radial(size)
        alpha = np.clip((1.0 - r) * size / 3.0, 0, 1) * (0.22 + 0.2 * r**4)
        rgb = np.broadcast_to(np.asarray(colour, np.float32), (size, size, 3))
        return [Sprite.from_rgba(rgb, alpha)]
    if kind == "snow":
        r = _radial(size)
        alpha = np.clip((1.0 - r) * size / 2.5, 0, 1) * 0.9
        return [Sprite.from_rgba(np.full((size, size, 3), 0.97, np.float32), alpha)]
    if kind == "bubble":
        r = _radial(size)
        ring = np.exp(-(((r - 0.86) / 0.09) ** 2)) * 0.7 + 0.08 * (r < 0.9)
        yy, xx = np.mgrid[0:size, 0:size] / max(size - 1, 1)
        spot = np.exp(-(((xx - 0.33) ** 2 + (yy - 0.3) ** 2) / 0.006)) * 0.9
        rgb = np.broadcast_to(np.asarray(_mix(colour, (1, 1, 1), 0.55)), (size, size, 3))
        return [Sprite.from_rgba(rgb, np.clip(ring + spot, 0, 1))]
    if kind == "rain":
        w, h = max(2, size // 12), size
        alpha = np.linspace(0.0, 0.55, h, dtype=np.float32)[:, None] * np.ones((1, w))
        return [Sprite.from_rgba(np.full((h, w, 3), 0.8, np.float32), alpha)]
    if kind == "bird":
        poses = []
        w, h = size, size // 2 + 2
        for lift in (0.9, 0.45, 0.0, 0.45):

            def wings(d: ImageDraw.ImageDraw, k: int, lift: float = lift) -> None:
                cx, cy = w * k / 2, h * k * 0.55
                span, up = w * k * 0.46, h * k * 0.45 * lift
                line = [
                    (cx - span, cy - up),
                    (cx - span * 0.45, cy - up * 0.4 - h * k * 0.08),
                    (cx, cy + h * k * 0.12),
                    (cx + span * 0.45, cy - up * 0.4 - h * k * 0.08),
                    (cx + span, cy - up),
                ]
                d.line(line, fill=255, width=max(k, int(w * k * 0.06)), joint="curve")

            poses.append(Sprite.from_image(_drawn((w, h), wings, dark)))
        return poses
    if kind == "balloon":
        w, h = size, int(size * 1.6)

        def balloon(d: ImageDraw.ImageDraw, k: int) -> None:
            d.ellipse((0.08 * w * k, 0, 0.92 * w * k, 0.95 * w * k), fill=255)
            d.polygon(
                [
                    (w * k * 0.44, w * k * 0.93),
                    (w * k * 0.56, w * k * 0.93),
                    (w * k * 0.5, w * k * 1.0),
                ],
                fill=255,
            )
            d.line([(w * k * 0.5, w * k), (w * k * 0.46, h * k)], fill=200, width=k)

        image = _drawn((w, h), balloon, colour)
        shine = Image.new("L", (w, h), 0)
        ImageDraw.Draw(shine).ellipse((w * 0.25, w * 0.15, w * 0.42, w * 0.38), fill=110)
        image.paste(Image.new("RGBA", (w, h), (255, 255, 255, 255)), (0, 0), shine)
        return [Sprite.from_image(image)]
    if kind == "ring":

        def draw_ring(d: ImageDraw.ImageDraw, k: int) -> None:
            m = size * k * 0.12
            d.ellipse((m, m, size * k - m, size * k - m), outline=255, width=int(size * k * 0.1))

        return [Sprite.from_image(_drawn((size, size), draw_ring, colour))]
    # Polygons, drawn at 12 rotations.
    points = _shape_polygon(kind, size * SS)
    variants = []
    for step in range(12):
        angle = 2 * math.pi * step / 12

        def shape(d: ImageDraw.ImageDraw, k: int, angle: float = angle) -> None:
            d.polygon(_rotated(points, angle, size * k / 2), fill=255)

        variants.append(Sprite.from_image(_drawn((size, size), shape, colour)))
    return variants


@dataclass(frozen=True)
class Motion:
    count: int
    sizes: tuple[int, int]  # at 720p
    vx: tuple[float, float]  # px/s at 720p; sign is randomised where the kind allows
    vy: tuple[float, float]
    sway: float  # px
    spin: float  # rad/s
    rows: tuple[float, float]  # fraction of the height where they start


MOTIONS: Final[dict[str, Motion]] = {
    "orb": Motion(16, (24, 80), (6, 22), (-8, 8), 14, 0, (0.0, 1.0)),
    "firefly": Motion(22, (12, 24), (4, 16), (-10, 10), 22, 0, (0.45, 1.0)),
    "ember": Motion(30, (10, 24), (-12, 12), (-110, -40), 14, 0, (0.0, 1.0)),
    "snow": Motion(44, (5, 14), (-10, 10), (30, 80), 16, 0, (0.0, 1.0)),
    "sparkle": Motion(18, (12, 30), (-4, 4), (-3, 3), 4, 0, (0.0, 0.9)),
    "bird": Motion(7, (24, 44), (45, 90), (-6, 6), 10, 0, (0.1, 0.48)),
    "heart": Motion(12, (26, 56), (-14, 14), (-34, -12), 18, 0.35, (0.0, 1.0)),
    "square": Motion(12, (26, 56), (-14, 14), (-30, -10), 12, 0.5, (0.0, 1.0)),
    "triangle": Motion(12, (26, 56), (-14, 14), (-30, -10), 12, 0.5, (0.0, 1.0)),
    "ring": Motion(12, (26, 60), (-14, 14), (-30, -10), 12, 0, (0.0, 1.0)),
    "leaf": Motion(16, (14, 30), (12, 40), (25, 60), 28, 1.2, (0.0, 1.0)),
    "petal": Motion(24, (14, 28), (10, 36), (20, 50), 24, 1.5, (0.0, 1.0)),
    "balloon": Motion(8, (30, 56), (-10, 10), (-45, -20), 16, 0, (0.0, 1.0)),
    "bubble": Motion(18, (14, 40), (-8, 8), (-60, -25), 14, 0, (0.0, 1.0)),
    "rain": Motion(60, (22, 36), (-70, -50), (700, 950), 0, 0, (0.0, 1.0)),
}

DEFAULT_COLOURS: Final[dict[str, RGB]] = {
    "firefly": (0.85, 1.0, 0.45),
    "ember": (1.0, 0.55, 0.15),
    "sparkle": (0.85, 0.9, 1.0),
    "snow": (0.97, 0.97, 0.97),
    "heart": (1.0, 0.35, 0.5),
    "leaf": (0.95, 0.55, 0.18),
    "petal": (1.0, 0.66, 0.8),
    "balloon": (0.95, 0.3, 0.3),
    "bubble": (0.7, 0.9, 1.0),
}


class Particles:
    """Floating objects: per frame only their positions are computed, then blended."""

    SIZE_CLASSES: Final = 3

    def __init__(self, style: Style, seed: int, width: int, height: int) -> None:
        self.w, self.h = width, height
        unit = min(width, height) / 720.0
        rng = np.random.default_rng([seed, 4])
        self.groups: list[tuple[list[list[Sprite]], dict[str, Arr], str]] = []
        self.margin, self.spin = 0, style.spin
        for index, kind in enumerate(style.particles):
            motion = MOTIONS[kind]
            count = max(
                3, int(motion.count * (0.7 if index else 1.0) * (width * height) ** 0.5 / 960)
            )
            sky = style.sky
            palette = [style.accent or DEFAULT_COLOURS.get(kind) or sky.sun]
            if kind in ("orb", "square", "triangle", "ring", "balloon") and not style.accent:
                pale = _mix(sky.middle, (1, 1, 1), 0.3)
                palette = [sky.horizon, sky.sun, (float(pale[0]), float(pale[1]), float(pale[2]))]
            colour = palette[index % len(palette)]
            top = sky.top
            dark = (
                (0.02, 0.02, 0.02)
                if style.sky_name == "night"
                else (top[0] * 0.5, top[1] * 0.5, top[2] * 0.5)
            )  # birds: silhouettes
            sizes = np.linspace(motion.sizes[0], motion.sizes[1], self.SIZE_CLASSES) * unit
            classes = [make_sprites(kind, int(s) // 2 * 2, colour, dark) for s in sizes]
            self.margin = max(self.margin, int(max(s.h for c in classes for s in c)) + 2)
            depth = rng.integers(0, self.SIZE_CLASSES, count)
            near = 0.6 + 0.4 * depth / (self.SIZE_CLASSES - 1)  # nearer: bigger and faster
            speed = style.speed * unit
            vx = rng.uniform(*motion.vx, count) * near * speed
            vy = rng.uniform(*motion.vy, count) * near * speed
            if kind == "bird":
                vx = -vx * style.direction
            elif kind in ("orb", "firefly", "leaf", "petal"):
                vx *= (
                    rng.choice([-1.0, 1.0], count)
                    if kind in ("orb", "firefly")
                    else -style.direction
                )
            if style.vertical == "rise":
                vy = -np.abs(vy) - 12 * speed
            elif style.vertical == "fall":
                vy = np.abs(vy) + 12 * speed
            state = {
                "x": rng.random(count) * (width + 2 * self.margin),
                "y": (motion.rows[0] + (motion.rows[1] - motion.rows[0]) * rng.random(count))
                * (height + 2 * self.margin),
                "vx": vx,
                "vy": vy,
                "sway": motion.sway * unit * rng.random(count),
                "sway_f": 0.15 + 0.5 * rng.random(count),
                "phase": rng.random(count) * 2 * math.pi,
                "spin": (motion.spin + (0.8 if style.spin else 0.0))
                * rng.choice([-1.0, 1.0], count),
                "orbit_r": (0.12 + 0.38 * rng.random(count)) * min(width, height),
                "depth": depth,
                "flap": 6.0 + 4.0 * rng.random(count),
            }
            if style.spin:
                state["vx"] = (0.25 + 0.35 * rng.random(count)) * style.speed  # rad/s
            self.groups.append((classes, state, kind))

    def draw(self, dst: Planes, t: float, gain: int = 128) -> None:
        w, h, m = self.w, self.h, self.margin
        for classes, s, kind in self.groups:
            wobble = np.sin(2 * math.pi * s["sway_f"] * t + s["phase"]) * s["sway"]
            if self.spin:
                angle = s["phase"] + s["vx"] * t
                xs = w / 2 + np.cos(angle) * s["orbit_r"] * (w / min(w, h)) + wobble
                ys = h / 2 + np.sin(angle) * s["orbit_r"] * (h / min(w, h))
            else:
                xs = (s["x"] + s["vx"] * t + wobble) % (w + 2 * m) - m
                ys = (s["y"] + s["vy"] * t) % (h + 2 * m) - m
            for i in range(len(xs)):
                variants = classes[int(s["depth"][i])]
                n = len(variants)
                if n == 1:
                    sprite = variants[0]
                elif kind == "bird":
                    sprite = variants[int(s["flap"][i] * t + s["phase"][i] * 3) % n]
                elif kind in ("firefly", "ember", "sparkle"):
                    level = 0.5 + 0.5 * math.sin(3.0 * s["sway_f"][i] * 6 * t + s["phase"][i])
                    sprite = variants[min(n - 1, int(level * n))]
                else:
                    turn = s["phase"][i] + s["spin"][i] * t
                    sprite = variants[int(turn / (2 * math.pi) * n) % n]
                sprite.blend(dst, int(xs[i]) - sprite.w // 2, int(ys[i]) - sprite.h // 2, gain)


# ---------------------------------------------------------------------------- text


def _fit(text: str, font: ImageFont.FreeTypeFont, width: float) -> int:
    """The longest prefix of ``text`` (at least one character) that fits in ``width``."""
    low, high = 1, len(text)
    while low < high:  # binary search: a long unbroken run costs log(n) measurements
        middle = (low + high + 1) // 2
        if font.getlength(text[:middle]) <= width:
            low = middle
        else:
            high = middle - 1
    return low


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: float, max_lines: int) -> list[str]:
    """Word-wrap ``text`` into at most ``max_lines`` lines, the last ending in "…" if cut.

    Only as much text as can show is measured, so a 32,000-character prompt or a long
    run without spaces (CJK, a URL) costs no more than a short one.
    """
    # No glyph is narrower than about a sixth of the font size: more text cannot show.
    limit = int(max_lines * width / (font.size / 6)) + 1
    clipped = len(text) > limit
    lines: list[str] = []
    current = ""
    words = iter(text[:limit].split())
    for word in words:
        candidate = f"{current} {word}".strip()
        if font.getlength(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while len(lines) <= max_lines and font.getlength(word) > width:
            cut = _fit(word, font, width)  # a word longer than a line: cut it
            lines.append(word[:cut])
            word = word[cut:]
        current = word
        if len(lines) > max_lines:
            break
    if current and len(lines) <= max_lines:
        lines.append(current)
    if clipped or len(lines) > max_lines or next(words, None) is not None:
        lines = lines[:max_lines]
        last = lines[-1]
        room = width - font.getlength("…")
        if font.getlength(last) > room:
            last = last[: _fit(last, font, room)]
        lines[-1] = last.rstrip() + "…"
    return lines


def caption_sprite(prompt: str, width: int, height: int) -> tuple[Sprite, int, int] | None:
    """The prompt, wrapped, white on a translucent rounded box; and where it goes."""
    text = " ".join(prompt.split())
    if not text:
        return None
    short = min(width, height)
    size = max(14, round(short * 0.04))
    font = ImageFont.load_default(size=size)
    assert isinstance(font, ImageFont.FreeTypeFont)
    lines = _wrap(text, font, width * 0.84, 3)
    pad, leading = round(size * 0.7), round(size * 1.3)
    text_w = max(font.getlength(line) for line in lines)
    box_w = int(text_w + 2 * pad + 1) // 2 * 2 + 2
    box_h = int(leading * len(lines) + 2 * pad - (leading - size) + 1) // 2 * 2 + 2
    image = Image.new("RGBA", (box_w, box_h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, box_w - 1, box_h - 1), radius=size * 0.6, fill=(10, 10, 16, 140))
    ascent = font.getbbox("Ag")[1]
    for i, line in enumerate(lines):
        x = (box_w - font.getlength(line)) / 2
        y = pad + i * leading - ascent * 0.6
        draw.text((x + 1, y + 2), line, font=font, fill=(0, 0, 0, 150))
        draw.text((x, y), line, font=font, fill=(248, 248, 250, 255))
    x = (width - box_w) // 2 // 2 * 2
    y = (height - box_h - round(height * 0.045)) // 2 * 2
    return Sprite.from_image(image), x, y


def label_sprite(width: int, height: int) -> tuple[Sprite, int, int]:
    short = min(width, height)
    size = max(10, round(short * 0.022))
    font = ImageFont.load_default(size=size)
    pad = round(size * 0.55)
    text_w = font.getlength(LABEL)
    w, h = int(text_w + 2 * pad + 1) // 2 * 2 + 2, (size + 2 * pad) // 2 * 2 + 2
    image = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, w - 1, h - 1), radius=h / 2, fill=(10, 10, 16, 96))
    draw.text((pad, pad - font.getbbox("Ag")[1] * 0.5), LABEL, font=font, fill=(240, 240, 245, 200))
    margin = round(short * 0.03) // 2 * 2
    return Sprite.from_image(image), margin, margin


# ---------------------------------------------------------------------------- backgrounds


def frame_planes(frame: av.VideoFrame) -> Planes:
    """Writable numpy views of a yuv420p frame's planes."""
    views = []
    for plane in frame.planes:
        arr = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        views.append(arr[:, : plane.width])
    return Planes(*views)


def _ease(x: float) -> float:
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
        progress = _ease((t - self.t0) / self.seconds)
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
        from PIL import ImageOps

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
            e = _ease(t / self.zoom_time)
            # The crop that, scaled to w x h, matches the zoomed image's centre crop.
            bx, by = e * self.mx * w / (w + 2 * self.mx), e * self.my * h / (h + 2 * self.my)
            for im, out, k in zip(self.images, (dst.y, dst.u, dst.v), (1, 2, 2), strict=True):
                box = (bx / k, by / k, (w - bx) / k, (h - by) / k)
                out[:] = np.asarray(im.resize((w // k, h // k), Image.Resampling.BILINEAR, box=box))
            return frame
        e = _ease((t - self.zoom_time) / max(1e-6, self.seconds - self.zoom_time))
        x = round(self.mx + self.dx * self.reach * e)
        y = round(self.my + self.dy * self.reach * e) // 2 * 2
        zy, zu, zv = self.zoomed
        dst.y[:] = zy[y : y + h, x : x + w]
        dst.u[:] = zu[y // 2 : (y + h) // 2, x // 2 : x // 2 + w // 2]
        dst.v[:] = zv[y // 2 : (y + h) // 2, x // 2 : x // 2 + w // 2]
        return frame


# ---------------------------------------------------------------------------- audio


class Soundscape:
    """A deterministic ambient track: a slow two-chord pad over a texture from the scene.

    The pad and the noise are precomputed loops (every partial a whole number of cycles
    per loop, so they repeat seamlessly); a block only looks them up and adds envelopes
    and short events. Every block is a pure function of its position, so the track streams.
    """

    LOOP: Final = 1 << 17  # 2.7 s
    BLOCK: Final = 8 * AUDIO_CHUNK

    def __init__(self, style: Style, seed: int, seconds: float, *, start: int = 0) -> None:
        """``seconds``: the whole track (its fades); ``start``: the first sample handed out
        (an extension continues a track from the source's end)."""
        rng = np.random.default_rng([seed, 5])
        self.seed, self.total, self.speed = seed, round(seconds * AUDIO_RATE), style.speed
        texture = {"sea": "waves", "desert": "wind", "snow": "wind", "city": "pulse"}
        self.texture = texture.get(style.ground, "shimmer" if style.ground == "lunar" else "birds")
        if style.sky_name == "fire":
            self.texture = "crackle"
        elif style.sky_name == "night" and self.texture == "birds":
            self.texture = "crickets"
        root = 110.0 * 2 ** (int(rng.integers(0, 7)) / 12)
        major = ((0, 4, 7, 11, 14), (-3, 0, 4, 9, 12))
        minor = ((0, 3, 7, 10, 15), (-4, 0, 3, 8, 12))
        self.chords = [
            self._pad(rng, root, notes) for notes in (minor if style.sky.minor else major)
        ]
        self.chord_period = 8.0 / style.speed
        cutoff = {"waves": 700.0, "wind": 900.0, "crackle": 160.0}.get(self.texture, 500.0)
        self.noise = np.stack([self._noise(rng, cutoff) for _ in range(2)])
        self.events = self._events(rng, seconds)
        self.cache: dict[int, Arr] = {}
        self.first_live = 0  # events before this index are over (blocks come in order)
        self.buffer = np.zeros((2, 0), np.float32)
        self.position = start  # first sample not yet handed out

    def _pad(self, rng: np.random.Generator, root: float, notes: Sequence[int]) -> Arr:
        """One chord as a stereo loop: soft partials with a slow tremolo each."""
        phase = np.arange(self.LOOP, dtype=np.float32) * np.float32(2 * math.pi / self.LOOP)
        cycles = self.LOOP / AUDIO_RATE  # partial k completes k cycles per loop
        out = np.zeros((2, self.LOOP), np.float32)
        for semi in notes:
            k = round(root * 2 ** (semi / 12) * cycles)
            p0, pan = rng.random() * 6.3, 0.15 + 0.7 * rng.random()
            wave = np.sin(k * phase + p0) + 0.25 * np.sin(2 * k * phase + 2 * p0)
            wave *= 0.6 + 0.4 * np.sin(int(rng.integers(1, 4)) * phase + p0)
            out[0] += wave * (1.0 - pan) * 0.05
            out[1] += wave * pan * 0.05
        return out

    def _noise(self, rng: np.random.Generator, cutoff: float) -> Arr:
        spectrum = np.fft.rfft(rng.standard_normal(self.LOOP))
        freqs = np.fft.rfftfreq(self.LOOP, 1.0 / AUDIO_RATE)
        shape = 1.0 / (1.0 + (freqs / cutoff) ** 2) * (freqs > 30)
        if self.texture == "wind":
            shape *= np.exp(-(((np.log(freqs + 1) - math.log(500)) / 0.6) ** 2))
        loop = np.fft.irfft(spectrum * shape, self.LOOP)
        return (loop / (np.sqrt(np.mean(loop**2)) + 1e-9)).astype(np.float32)

    def _events(self, rng: np.random.Generator, seconds: float) -> list[tuple[int, str, float]]:
        """(start sample, kind, parameter) for chirps, clicks, kicks and cricket calls."""
        events: list[tuple[int, str, float]] = []
        t = 0.3
        while t < seconds and self.texture in ("birds", "crackle", "pulse", "crickets"):
            at = int(t * AUDIO_RATE)
            if self.texture == "birds":
                f0 = 2400 + 1600 * rng.random()
                for k in range(int(rng.integers(2, 5))):
                    events.append((at + int(k * 0.09 * AUDIO_RATE), "chirp", f0))
                t += (0.8 + 2.0 * rng.random()) / self.speed
            elif self.texture == "crackle":
                events.append((at, "click", 0.2 + 0.8 * rng.random()))
                t += rng.exponential(0.09) / self.speed
            elif self.texture == "pulse":
                events.append((at, "kick", 1.0))
                t += 60.0 / (92.0 * self.speed)
            else:
                events.append((at, "cricket", 4300 + 600 * rng.random()))
                t += 0.9 + 0.8 * rng.random()
        return events

    def _event_wave(self, index: int) -> Arr:
        _at, kind, a = self.events[index]
        length = {"chirp": 0.07, "click": 0.012, "kick": 0.3, "cricket": 0.35}[kind]
        tau = np.arange(int(length * AUDIO_RATE)) / AUDIO_RATE
        if kind == "chirp":  # a rising whistle
            phase = 2 * math.pi * (a * tau + 0.35 * a * tau**2 / (2 * length))
            wave = np.sin(phase) * np.sin(math.pi * tau / length) ** 2 * 0.05
        elif kind == "click":  # a crackle: a tiny decaying noise burst
            noise = np.random.default_rng([self.seed, 9, index]).standard_normal(len(tau))
            wave = noise * np.exp(-tau / 0.002) * 0.12 * a
        elif kind == "kick":  # a soft kick drum: a falling sine
            phase = 2 * math.pi * (45 * tau + 65 * 0.04 * (1 - np.exp(-tau / 0.04)))
            wave = np.sin(phase) * np.exp(-tau / 0.09) * 0.35
        else:  # a cricket: a pulsed high tone
            gate = (np.sin(2 * math.pi * 28 * tau) > 0.2) * np.sin(math.pi * tau / length)
            wave = np.sin(2 * math.pi * a * tau) * gate * 0.025
        return wave.astype(np.float32)

    def block(self, start: int, n: int) -> Arr:
        """Samples start..start+n as float32 (2, n)."""
        t = ((start + np.arange(n)) / AUDIO_RATE).astype(np.float32)
        idx = (start + np.arange(n)) % self.LOOP
        mix = 0.5 + 0.5 * np.cos(np.float32(2 * math.pi / self.chord_period) * t)
        out = self.chords[0][:, idx] * mix + self.chords[1][:, idx] * (1.0 - mix)
        noise = self.noise[:, idx]
        speed = np.float32(2 * math.pi * self.speed)
        if self.texture == "waves":
            swell = 0.5 + 0.5 * np.sin(speed * 0.15 * t)
            swell2 = 0.5 + 0.5 * np.sin(speed * 0.09 * t + 1.3)
            out += noise * (0.02 + 0.16 * (swell**3 + 0.5 * swell2**2))
        elif self.texture == "wind":
            out += noise * (0.03 + 0.08 * (0.5 + 0.5 * np.sin(speed * 0.11 * t)) ** 2)
        elif self.texture == "crackle":
            out += noise * 0.05
        elif self.texture == "shimmer":
            out += noise * 0.01 + self.chords[0][::-1, (idx * 4) % self.LOOP] * 0.15
        else:
            out += noise * 0.012
        self._add_events(out, start, n)
        end = self.total / AUDIO_RATE
        fade = np.clip(np.minimum(t / 0.4, (end - t) / 0.8), 0.0, 1.0)
        return (np.tanh(out * fade * 1.5) / 1.5).astype(np.float32)

    def _add_events(self, out: Arr, start: int, n: int) -> None:
        events = self.events
        # A long track (an extension of a long source) starts far in: skip what is over.
        while self.first_live < len(events) and events[self.first_live][0] + AUDIO_RATE < start:
            self.cache.pop(self.first_live, None)
            self.first_live += 1
        for index in range(self.first_live, len(events)):
            at = events[index][0]
            if at >= start + n:
                break
            if at + AUDIO_RATE < start:  # long over
                self.cache.pop(index, None)
                continue
            wave = self.cache.get(index)
            if wave is None:
                wave = self.cache[index] = self._event_wave(index)
            lo, hi = max(at, start), min(at + len(wave), start + n)
            if lo < hi:
                pan = 0.3 + 0.4 * (index * 0.618 % 1.0)
                part = wave[lo - at : hi - at] * 2
                out[0, lo - start : hi - start] += part * (1 - pan)
                out[1, lo - start : hi - start] += part * pan

    def frames_until(self, sample: int) -> Iterator[av.AudioFrame]:
        """AAC-sized frames up to ``sample`` (at most the track's end)."""
        sample = min(sample, self.total)
        while self.position < sample:
            if self.buffer.shape[1] == 0:
                n = min(self.BLOCK, self.total - self.position)
                self.buffer = self.block(self.position, n)
            n = min(AUDIO_CHUNK, self.buffer.shape[1])
            chunk, self.buffer = self.buffer[:, :n], self.buffer[:, n:]
            frame = audio_frame(chunk, self.position)
            self.position += n
            yield frame


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

    ``frames``: the video's length in frames (default ``seconds * FPS``).
    """

    def __init__(self, width: int, height: int, seconds: int, *, frames: int = 0) -> None:
        frames = frames or seconds * FPS
        self.size = (width, height)
        self.tile = fit_long_side(width, height, TILE_LONG_SIDE)
        self.sheet = Image.new("RGB", (self.tile[0] * SHEET_COLUMNS, self.tile[1] * SHEET_ROWS))
        self.tiles: dict[int, list[int]] = {}
        for tile in range(SHEET_COLUMNS * SHEET_ROWS):
            self.tiles.setdefault(tile_frame_index(tile, frames), []).append(tile)
        self.thumb_index = frames // 2
        self.thumb: Image.Image | None = None

    def wanted(self) -> list[int]:
        """The frame indices this collects, in order."""
        return sorted({*self.tiles, self.thumb_index})

    def offer(self, index: int, planes: Planes) -> None:
        if index in self.tiles:
            image = planes_to_rgb_image(planes.y, planes.u, planes.v, self.tile)
            for tile in self.tiles[index]:
                row, col = divmod(tile, SHEET_COLUMNS)
                self.sheet.paste(image, (col * self.tile[0], row * self.tile[1]))
        if index == self.thumb_index:
            size = fit_long_side(*self.size, THUMB_LONG_SIDE)
            self.thumb = planes_to_rgb_image(planes.y, planes.u, planes.v, size)

    def save(self, thumbnail: Path, spritesheet: Path) -> None:
        assert self.thumb is not None
        self.thumb.save(thumbnail, "WEBP", quality=82, method=4)
        self.sheet.save(spritesheet, "JPEG", quality=82, optimize=True)


# ---------------------------------------------------------------------------- encoding


def open_output(path: Path) -> OutputContainer:
    return av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"})


# The "fast" coder costs half of the default "twoloop" on this kind of signal.
AAC_OPTIONS: Final = {"aac_coder": "fast"}


def add_streams(out: OutputContainer, width: int, height: int) -> tuple[VideoStream, AudioStream]:
    """The video and audio streams of an output, set up as every video of this renderer.

    An extension appends newly encoded packets to a source's own: that is valid only if
    both were encoded alike (same SPS/PPS), so every encoder is set up here.
    """
    video = out.add_stream("libx264", rate=FPS, options={"preset": X264_PRESET})
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


# ---------------------------------------------------------------------------- segments


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
    cast: Any = None  # render_characters.Cast
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
            keep = round(128 * (1.0 - _ease((k + 1) / (self.intro_frames + 1))))
            for dst, fg in zip((planes.y, planes.u, planes.v), _planes(self.intro), strict=True):
                _blend_region(dst, fg, np.full(1, keep, np.int16))
        return frame


def _planes(p: Planes) -> tuple[Arr, Arr, Arr]:
    return p.y, p.u, p.v


def scene_segment(
    spec: RenderSpec,
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
    cast = None
    if spec.characters:
        from .render_characters import Cast

        cast = Cast(spec.characters, style, w, h)
    frames = round(seconds * FPS)
    return Segment(
        background=background,
        particles=Particles(style, spec.seed, w, h),
        overlays=overlays,
        cast=cast,
        t0=t0,
        fade_frames=max(1, min(FPS, frames // 3)) if image is not None else 0,
    )


# ---------------------------------------------------------------------------- render


class Progress:
    def __init__(self, out: TextIO) -> None:
        self.out, self.last = out, -1

    def __call__(self, percent: int) -> None:
        if percent > self.last:
            self.last = percent
            self.out.write(f"progress {percent}\n")
            self.out.flush()


def render(spec: RenderSpec, progress: Callable[[int], None]) -> None:
    """Create (or remix: the same, with the source's seed) a video from the prompt."""
    style = parse_prompt(spec.prompt, spec.seed)
    progress(0)
    w, h, total = spec.width, spec.height, spec.seconds * FPS
    image = read_reference(spec.reference_image, w, h) if spec.reference_image else None
    segment = scene_segment(spec, style, seconds=spec.seconds, image=image)
    sound = Soundscape(style, spec.seed, spec.seconds)
    previews = Previews(w, h, spec.seconds)
    progress(2)

    with open_output(spec.video) as out:
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
    previews.save(spec.thumbnail, spec.spritesheet)
    progress(100)


def run(spec: RenderSpec, progress: Callable[[int], None]) -> None:
    if spec.operation == "extend":
        from .render_extend import render_extend

        render_extend(spec, progress)
    elif spec.operation == "edit":
        from .render_edit import render_edit

        render_edit(spec, progress)
    else:
        render(spec, progress)


PARENT_ENV = "STUDIO_RENDER_PARENT"


def die_with_parent() -> None:
    """Exit when the process that started us dies (a worker SIGKILLed mid-render).

    The renderer runs in its own session, so a signal to the worker's process group does
    not reach it; Linux's parent-death signal does. ``STUDIO_RENDER_PARENT`` holds the
    parent's pid, which closes the race of a parent that died before the call.
    """
    expected = os.environ.get(PARENT_ENV)
    if not expected:
        return
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass
    if os.getppid() != int(expected):
        os._exit(1)


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    die_with_parent()
    args = list(sys.argv[1:] if argv is None else argv)
    out = stdout or sys.stdout
    if len(args) != 1:
        print(
            "usage: python -m videos_app.providers.render_worker SPEC_JSON or @FILE",
            file=sys.stderr,
        )
        return SPEC_ERROR_STATUS
    try:
        # "@path" names a file holding the spec (the parent's way); or the JSON itself.
        text = Path(args[0][1:]).read_text() if args[0].startswith("@") else args[0]
        spec = RenderSpec.from_json(text)
        run(spec, Progress(out))
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return SPEC_ERROR_STATUS
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return SOURCE_ERROR_STATUS
    except Exception as exc:
        import traceback

        traceback.print_exc()
        message = " ".join(str(exc).split())[:300] or type(exc).__name__
        print(f"error: {message}", file=sys.stderr)
        return 1
    out.write("done\n")
    out.flush()
    return 0


if __name__ == "__main__":
    # Run the package's copy of this module: the render modules import their exception
    # classes from it, and those are the ones main() must catch.
    from videos_app.providers import render_worker as package_copy

    sys.exit(package_copy.main())
