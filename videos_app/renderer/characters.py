"""Characters in a rendered scene: each poster as a round badge that walks across a lane.

Drawn into a segment (``segments``) when a spec names characters.

A character is drawn from its poster image: cropped to a circle in a white ring, with a
soft drop shadow, a name tag on its lower edge and a shadow on the ground. Up to two
characters walk back and forth across the frame in lanes of their own (the second one
further back: higher and smaller), hopping and swaying a little with each step. Their
pace follows the prompt's speed. Like everything else they are a pure function of time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from videos_app.providers.base import CharacterSpec

from .prompt import Style
from .scene import Planes
from .sprites import Sprite

TILTS: Final = (-6.0, -3.0, 0.0, 3.0, 6.0)  # degrees, one sprite each
SS: Final = 4  # supersampling of the round masks
# (circle centre as a fraction of the height, scale) for each lane, landscape / portrait.
LANES: Final = {
    "landscape": ((0.64, 1.0), (0.48, 0.82)),
    "portrait": ((0.68, 1.0), (0.55, 0.82)),
}


@dataclass
class Walker:
    bodies: list[Sprite]  # one per tilt
    tag: Sprite
    shadow: Sprite
    centre_y: float  # of the circle, standing
    diameter: int
    box: int  # side of the body sprites
    start: float  # position along the back-and-forth path at t = 0, px
    span: float  # px between the leftmost and rightmost position
    x0: float
    speed: float  # px/s
    steps: float  # steps per second


class Cast:
    """The characters of one scene; ``draw`` blends them into a frame for time ``t``."""

    def __init__(
        self, characters: Sequence[CharacterSpec], style: Style, width: int, height: int
    ) -> None:
        short = min(width, height)
        lanes = LANES["portrait" if height > width else "landscape"]
        self.walkers: list[Walker] = []
        for lane, character in enumerate(characters[: len(lanes)]):
            fraction, scale = lanes[lane]
            diameter = max(16, round(0.2 * short * scale) // 2 * 2)
            bodies, box = _bodies(_poster(character), diameter)
            margin = 0.03 * width
            span = max(1.0, width - 2 * margin - box)
            self.walkers.append(
                Walker(
                    bodies=bodies,
                    tag=_name_tag(character.name, round(0.027 * short * scale)),
                    shadow=_ground_shadow(diameter),
                    centre_y=fraction * height,
                    diameter=diameter,
                    box=box,
                    # The first walks right from the left, the second left from the right.
                    start=0.15 * span if lane == 0 else 1.15 * span,
                    span=span,
                    x0=margin,
                    speed=0.09 * width * style.speed * scale,
                    steps=1.6 * style.speed,
                )
            )

    def draw(self, dst: Planes, t: float, gain: int = 128) -> None:
        for walker in reversed(self.walkers):  # the far lane first
            s = (walker.start + walker.speed * t) % (2 * walker.span)
            left = walker.x0 + (s if s < walker.span else 2 * walker.span - s)
            centre_x = left + walker.box / 2
            step = math.sin(math.pi * walker.steps * t)
            hop = abs(step) * 0.07 * walker.diameter
            d = walker.diameter
            ground = walker.centre_y + 0.62 * d
            shadow = walker.shadow
            shadow.blend(dst, round(centre_x - shadow.w / 2), round(ground - shadow.h / 2), gain)
            tilt = min(range(len(TILTS)), key=lambda i: abs(TILTS[i] - 6.0 * step))
            body = walker.bodies[tilt]
            top = walker.centre_y - hop - body.h / 2
            body.blend(dst, round(centre_x - body.w / 2), round(top), gain)
            tag = walker.tag
            tag_y = walker.centre_y - hop + 0.5 * d - 0.55 * tag.h
            tag.blend(dst, round(centre_x - tag.w / 2), round(tag_y), gain)


def _poster(character: CharacterSpec) -> Image.Image:
    try:
        with Image.open(character.poster) as opened:
            return opened.convert("RGB")
    except (OSError, ValueError) as exc:
        raise RuntimeError(
            f"the poster of character {character.name!r} could not be read ({exc})"
        ) from exc


def _disc_mask(size: int, inset: float = 0.0) -> Image.Image:
    """An anti-aliased filled circle of diameter ``size - 2 * inset`` centred in ``size``."""
    big = Image.new("L", (size * SS, size * SS), 0)
    ImageDraw.Draw(big).ellipse(
        (inset * SS, inset * SS, (size - inset) * SS - 1, (size - inset) * SS - 1), fill=255
    )
    return big.resize((size, size), Image.Resampling.BOX)


def _bodies(poster: Image.Image, diameter: int) -> tuple[list[Sprite], int]:
    """The round badge (ring, picture, drop shadow) at each tilt; and the sprites' side."""
    ring = max(2, round(0.045 * diameter))
    blur = max(2, round(0.05 * diameter))
    outer = diameter + 2 * ring
    box = (outer + 6 * blur) // 2 * 2
    off = (box - outer) // 2
    canvas = Image.new("RGBA", (box, box), (0, 0, 0, 0))
    shadow = Image.new("L", (box, box), 0)
    dx, dy = round(0.03 * diameter), round(0.06 * diameter)
    shadow.paste(_disc_mask(outer).point(lambda a: a * 110 // 255), (off + dx, off + dy))
    canvas.putalpha(shadow.filter(ImageFilter.GaussianBlur(blur)))
    white = Image.new("RGBA", (outer, outer), (250, 250, 252, 0))
    white.putalpha(_disc_mask(outer))
    canvas.alpha_composite(white, (off, off))
    picture = ImageOps.fit(poster, (diameter, diameter), Image.Resampling.LANCZOS).convert("RGBA")
    picture.putalpha(_disc_mask(diameter))
    canvas.alpha_composite(picture, (off + ring, off + ring))
    bodies = [
        Sprite.from_image(
            canvas
            if angle == 0
            else canvas.rotate(angle, Image.Resampling.BICUBIC, center=(box / 2, box / 2))
        )
        for angle in TILTS
    ]
    return bodies, box


def _name_tag(name: str, size: int) -> Sprite:
    size = max(11, size)
    font = ImageFont.load_default(size=size)
    text = " ".join(name.split())
    while len(text) > 1 and font.getlength(text) > size * 14:
        text = text[:-2].rstrip() + "…"
    pad = round(size * 0.6)
    w = int(font.getlength(text) + 2 * pad + 1) // 2 * 2 + 2
    h = (round(size * 1.3) + pad) // 2 * 2 + 2
    image = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, w - 1, h - 1), radius=h / 2, fill=(14, 14, 20, 200))
    top = (h - size) / 2 - font.getbbox("Ag")[1] * 0.5
    draw.text((pad, top), text, font=font, fill=(250, 250, 252, 255))
    return Sprite.from_image(image)


def _ground_shadow(diameter: int) -> Sprite:
    w, h = round(0.9 * diameter) // 2 * 2 + 2, round(0.3 * diameter) // 2 * 2 + 2
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).ellipse((w * 0.12, h * 0.3, w * 0.88, h * 0.7), fill=90)
    mask = mask.filter(ImageFilter.GaussianBlur(max(1, round(0.04 * diameter))))
    image = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    image.putalpha(mask)
    return Sprite.from_image(image)
