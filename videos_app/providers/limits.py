"""What can be generated, as plain values: sizes, durations, maxima, costs and their text.

Imports nothing, Django included: ``videos_app.models`` takes its defaults from here, and
the renderer (a child process without Django) its bounds. The routing reads built on
these values (``Route``, ``ModelUnavailable``, a route's price text) are ``catalog``'s.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

SIZES: tuple[str, ...] = ("720x1280", "1280x720", "1024x1792", "1792x1024")
SECONDS: tuple[int, ...] = (4, 8, 12, 16, 20)
# What other engines' models make beyond those (a route's capabilities pick from these
# and the above): 1080p, 4K, 360p and square; and their durations.
MORE_SIZES: tuple[str, ...] = (
    "1920x1080", "1080x1920", "3840x2160", "2160x3840", "640x360", "360x640", "960x960",
)  # fmt: skip
ALL_SIZES: tuple[str, ...] = SIZES + MORE_SIZES
ALL_SECONDS: tuple[int, ...] = tuple(range(2, 21))
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
MAX_REFERENCE_IMAGES = 6  # images of what a video shows (the most any seeded model takes)
MAX_CHARACTER_BYTES = 50 * 1024 * 1024
MIN_CHARACTER_SECONDS = 1.0
MAX_CHARACTER_SECONDS = 10.0


LOCAL_LABEL = "Local renderer (not an AI model)"
# Costs are kept to 4 decimal places (a hundredth of a cent), like the price per second
# and Video.cost_estimate; pages round them to cents only for display.
COST_PLACES = Decimal("0.0001")


def estimate_cost(price_per_second: Decimal | None, seconds: int) -> Decimal | None:
    if price_per_second is None:
        return None
    return (price_per_second * seconds).quantize(COST_PLACES, rounding=ROUND_HALF_UP)


def parse_size(size: str) -> tuple[int, int]:
    width, height = size.split("x")
    return int(width), int(height)


def closest_size(width: int, height: int, sizes: tuple[str, ...] = SIZES) -> str:
    """The supported size nearest in shape (then in area) to width x height."""

    def distance(size: str) -> tuple[float, float]:
        w, h = parse_size(size)
        return (abs(w / h - width / height), abs(w * h - width * height))

    return min(sizes, key=distance)


def format_usd(amount: Decimal | None) -> str:
    """``$0.40``; amounts below a cent keep their digits (``$0.0125``); None is ''."""
    if amount is None:
        return ""
    cents = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if cents == amount or abs(amount) >= 1:
        return f"${cents:,.2f}"
    return f"${amount.quantize(COST_PLACES, rounding=ROUND_HALF_UP).normalize():f}"
