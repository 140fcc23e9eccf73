"""Small pictures blended into frames, and the floating objects the prompt names."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
from PIL import Image, ImageDraw

from .prompt import Style
from .scene import Planes, blend_region, mix, to_u8
from .spec import RGB, Arr


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
            to_u8(y).astype(np.int16),
            to_u8(u).astype(np.int16),
            to_u8(v).astype(np.int16),
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
        blend_region(
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
            rgb = np.broadcast_to(np.asarray(mix(colour, (1, 1, 1), 0.6)), (size, size, 3))
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
        rgb = np.broadcast_to(np.asarray(mix(colour, (1, 1, 1), 0.55)), (size, size, 3))
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
                pale = mix(sky.middle, (1, 1, 1), 0.3)
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
