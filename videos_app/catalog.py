"""What can be generated: public model names, sizes and durations.

Each public model name routes to a provider. By default every seed model name runs on
the embedded local renderer, so code written for the retired service works as is.
"""

from __future__ import annotations

from dataclasses import dataclass

SIZES: tuple[str, ...] = ("720x1280", "1280x720", "1024x1792", "1792x1024")
SECONDS: tuple[int, ...] = (4, 8, 12, 16, 20)
DEFAULT_MODEL = "sora-2"
DEFAULT_SIZE = "720x1280"
DEFAULT_SECONDS = 4
MAX_PROMPT_LENGTH = 32_000

# Extensions: the new segment's length, and the limits of a chain.
EXTENSION_SECONDS: tuple[int, ...] = (4, 8, 12, 16, 20)
MAX_EXTENSIONS = 6
MAX_TOTAL_SECONDS = 120
# Uploaded source videos (edit, extend) and character clips.
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
MAX_EDIT_SECONDS = 120
MAX_CHARACTERS = 2
MAX_CHARACTER_BYTES = 50 * 1024 * 1024
MIN_CHARACTER_SECONDS = 1.0
MAX_CHARACTER_SECONDS = 10.0


@dataclass(frozen=True)
class ModelRoute:
    name: str
    provider: str
    sizes: tuple[str, ...] = SIZES
    seconds: tuple[int, ...] = SECONDS
    label: str = ""


MODELS: dict[str, ModelRoute] = {
    route.name: route
    for route in (
        ModelRoute("sora-2", "local", label="sora-2"),
        ModelRoute("sora-2-pro", "local", label="sora-2-pro"),
        ModelRoute("sora-2-2025-10-06", "local"),
        ModelRoute("sora-2-pro-2025-10-06", "local"),
        ModelRoute("sora-2-2025-12-08", "local"),
    )
}


def parse_size(size: str) -> tuple[int, int]:
    width, height = size.split("x")
    return int(width), int(height)


def closest_size(width: int, height: int, sizes: tuple[str, ...] = SIZES) -> str:
    """The supported size nearest in shape (then in area) to width x height."""

    def distance(size: str) -> tuple[float, float]:
        w, h = parse_size(size)
        return (abs(w / h - width / height), abs(w * h - width * height))

    return min(sizes, key=distance)


def provider_label(provider: str) -> str:
    return {"local": "Local renderer (not an AI model)"}.get(provider, provider)
