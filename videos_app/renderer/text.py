"""Overlays drawn from text: the prompt as a caption, and the renderer's label."""

from __future__ import annotations

from typing import Final

from PIL import Image, ImageDraw, ImageFont

from .sprites import Sprite

LABEL: Final = "local renderer"


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
