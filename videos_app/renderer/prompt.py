"""The prompt's words: which sky, ground, floating objects, colour and motion they ask for.

``parse_prompt`` is the only reading of the text; every later stage takes its ``Style``.
Prompts that name no sky or ground get a palette and a ground of their own from the seed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import numpy as np

from .spec import RGB


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
