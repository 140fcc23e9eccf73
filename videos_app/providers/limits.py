"""What can be generated, as plain values: sizes, durations, maxima, costs and their text.

Imports nothing of Django's models: ``videos_app.models`` takes its defaults from here.
``Route`` is one public model name's routing read from the database (see ``catalog``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError

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


LOCAL_LABEL = "Local renderer (not an AI model)"
# Costs are kept to 4 decimal places (a hundredth of a cent), like the price per second
# and Video.cost_estimate; pages round them to cents only for display.
COST_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Route:
    """Where a public model name runs, read from a ModelRoute row and its Provider."""

    name: str
    provider: str  # the Provider row's name (what Video.provider records)
    provider_kind: str
    provider_label: str
    upstream_model: str  # the provider's own name for the model
    sizes: tuple[str, ...]
    seconds: tuple[int, ...]
    price_per_second: Decimal | None
    listed: bool

    def cost(self, seconds: int) -> Decimal | None:
        """Estimated cost in US dollars of ``seconds`` of video; None when unpriced."""
        return estimate_cost(self.price_per_second, seconds)

    def check(self, *, size: str | None = None, seconds: int | None = None) -> None:
        """ValidationError (on ``size`` / ``seconds``) for what this route does not render."""
        # A documented value this route leaves out says so: the OpenAPI document lists
        # every size and duration, so the model is the reason.
        why = f"The model '{self.name}' does not render it on this studio."
        if size is not None and size not in self.sizes:
            reason = why if size in SIZES else ""
            raise ValidationError({"size": _invalid_value(size, self.sizes, why=reason)})
        if seconds is not None and seconds not in self.seconds:
            reason = why if seconds in SECONDS or seconds in EXTENSION_SECONDS else ""
            raise ValidationError({"seconds": _invalid_value(seconds, self.seconds, why=reason)})


class ModelUnavailable(ValidationError):
    """A model name with no enabled route (unknown, turned off, or its provider is off).

    A ValidationError on the ``model`` field, so a service raising it reaches the form
    under its field and the API as ``param: model``, in the API's message style.
    """

    def __init__(self, name: str, *, disabled: bool, supported: Iterable[str]) -> None:
        self.model = name
        self.disabled = disabled
        why = f"The model '{name}' is turned off on this studio." if disabled else ""
        super().__init__({"model": _invalid_value(name, supported, why=why)})


def _invalid_value(value: object, supported: Iterable[object], *, why: str = "") -> ValidationError:
    """The API's message for a value outside a list (see api.errors.invalid_value)."""
    from videos_app.api.errors import quoted_list

    options = list(supported)
    message = f"Invalid value: '{value}'. " + (f"{why} " if why else "")
    message += f"Supported values are: {quoted_list(options) if options else 'none'}."
    return ValidationError(message, code="invalid_value")


def estimate_cost(price_per_second: Decimal | None, seconds: int) -> Decimal | None:
    if price_per_second is None:
        return None
    return (price_per_second * seconds).quantize(COST_PLACES, rounding=ROUND_HALF_UP)


def price_text(route: Route) -> str:
    """``$0.05/s``, ``free`` (local, unpriced) or ``price unknown``."""
    if route.price_per_second is not None:
        return f"{format_usd(route.price_per_second)}/s"
    return "free" if route.provider_kind == "local" else "price unknown"


def estimate_text(route: Route, seconds: int) -> str:
    """The create form's cost line (static/studio/create.js writes the same text)."""
    cost = route.cost(seconds)
    if cost is not None:
        times = "\N{MULTIPLICATION SIGN}"
        return f"Estimated cost: {format_usd(cost)} ({seconds} s {times} {price_text(route)})"
    if route.provider_kind == "local":
        return "Estimated cost: free \N{EM DASH} runs locally"
    return "Estimated cost: unknown"


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
