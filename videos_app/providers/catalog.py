"""Where each public model name runs: routing reads, and the engine of a provider.

Each public model name routes to a provider: ModelRoute rows (admin-editable) name the
Provider, the provider's own model name, the sizes and durations allowed and the price per
second. Migration 0005 routes every seed model name to the embedded local renderer, so
code written for the retired service works as is; an admin can point them elsewhere.

The plain limits (sizes, durations, maxima, cost text) are ``limits``'; they are
re-exported here so that ``catalog`` is the one name callers read "what can be made" by.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from . import prices
from .base import Engine
from .capabilities import Capabilities
from .limits import (
    ALL_SECONDS,
    ALL_SIZES,
    COST_PLACES,
    DEFAULT_MODEL,
    DEFAULT_SECONDS,
    DEFAULT_SIZE,
    EXTENSION_SECONDS,
    LOCAL_LABEL,
    MAX_CHARACTER_BYTES,
    MAX_CHARACTER_SECONDS,
    MAX_CHARACTERS,
    MAX_EDIT_SECONDS,
    MAX_EXTENSIONS,
    MAX_PROMPT_LENGTH,
    MAX_REFERENCE_IMAGES,
    MAX_TOTAL_SECONDS,
    MAX_UPLOAD_BYTES,
    MIN_CHARACTER_SECONDS,
    SECONDS,
    SIZES,
    closest_size,
    estimate_cost,
    format_usd,
    parse_size,
)
from .models import ModelRoute, Provider
from .registry import LOCAL, capabilities, documented_prices, engine_builder, runs_here

logger = logging.getLogger(__name__)

__all__ = [
    "ALL_SECONDS",
    "ALL_SIZES",
    "COST_PLACES",
    "DEFAULT_MODEL",
    "DEFAULT_SECONDS",
    "DEFAULT_SIZE",
    "EXTENSION_SECONDS",
    "LOCAL_LABEL",
    "MAX_CHARACTERS",
    "MAX_CHARACTER_BYTES",
    "MAX_CHARACTER_SECONDS",
    "MAX_EDIT_SECONDS",
    "MAX_EXTENSIONS",
    "MAX_PROMPT_LENGTH",
    "MAX_REFERENCE_IMAGES",
    "MAX_TOTAL_SECONDS",
    "MAX_UPLOAD_BYTES",
    "MIN_CHARACTER_SECONDS",
    "SECONDS",
    "SEED_MODELS",
    "SIZES",
    "ModelUnavailable",
    "Route",
    "closest_size",
    "estimate_cost",
    "estimate_text",
    "format_usd",
    "get_provider",
    "parse_size",
    "price_text",
    "provider_label",
    "route",
    "routes",
    "seed_routes",
]


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
    price_per_second: Decimal | None  # the price of any second, if the table has one
    listed: bool
    capabilities: Capabilities = field(default_factory=Capabilities)
    prices: Mapping[str, Decimal] = field(default_factory=dict)  # providers.prices' table

    @property
    def extension_seconds(self) -> tuple[int, ...]:
        """The lengths a new segment may have: a native extension's, or (extended from
        the last frame) a new video's on this model."""
        caps = self.capabilities
        if caps.extend and caps.extend_seconds:
            return caps.extend_seconds
        if caps.extend:
            return tuple(s for s in EXTENSION_SECONDS if s in self.seconds)
        return self.seconds

    @property
    def can_extend(self) -> bool:
        """It continues a video itself, or starts one from an image (the source's last
        frame, the new segment stitched here)."""
        return self.capabilities.extend or self.capabilities.first_frame

    def check_extension(self, segment_seconds: int) -> None:
        """ValidationError (on ``model``) for a model that cannot extend at all, (on
        ``seconds``) for a new segment it cannot make."""
        if not self.can_extend:
            able = [name for name, r in routes().items() if r.can_extend]
            also = f" Models that can: {', '.join(able)}." if able else ""
            raise ValidationError({"model": ValidationError(
                f"The model '{self.name}' cannot extend a video: it neither continues one nor "
                f"starts from an image (its last frame).{also}", code="unsupported",
            )})  # fmt: skip
        allowed = self.extension_seconds
        if segment_seconds not in allowed:
            why = f"The model '{self.name}' does not render it on this studio."
            reason = why if segment_seconds in ALL_SECONDS else ""
            raise ValidationError({"seconds": _invalid_value(segment_seconds, allowed, why=reason)})

    def sound(self, audio: bool | None) -> bool:
        """Whether a video made here has sound: as asked, else the model's default."""
        return self.capabilities.audio if audio is None else bool(audio and self.capabilities.audio)

    def price(self, size: str | None = None, audio: bool | None = None) -> Decimal | None:
        """US dollars a second of video at ``size`` with or without sound; None: unpriced."""
        return prices.per_second(self.prices, size, self.sound(audio))

    def cost(
        self, seconds: int, size: str | None = None, audio: bool | None = None
    ) -> Decimal | None:
        """Estimated cost in US dollars of ``seconds`` of video; None when unpriced."""
        return estimate_cost(self.price(size, audio), seconds)

    def check(self, *, size: str | None = None, seconds: int | None = None) -> None:
        """ValidationError (on ``size`` / ``seconds``) for what this route does not render."""
        # A documented value this route leaves out says so: the OpenAPI document lists
        # every size and duration, so the model is the reason.
        why = f"The model '{self.name}' does not render it on this studio."
        if size is not None and size not in self.sizes:
            reason = why if size in ALL_SIZES else ""
            raise ValidationError({"size": _invalid_value(size, self.sizes, why=reason)})
        if seconds is not None and seconds not in self.seconds:
            reason = why if seconds in ALL_SECONDS else ""
            raise ValidationError({"seconds": _invalid_value(seconds, self.seconds, why=reason)})

    def check_inputs(
        self,
        *,
        first_frame: bool = False,
        last_frame: bool = False,
        reference_images: int = 0,
        audio: bool | None = None,
        negative_prompt: str = "",
        seed_given: bool = False,
    ) -> None:
        """ValidationError, on each field the model does not take, naming the model and
        what it accepts (the create form hides those controls; ``/v1`` says why)."""
        wrong = self.capabilities.refusals(
            first_frame=first_frame, last_frame=last_frame, reference_images=reference_images,
            audio=audio, negative_prompt=negative_prompt, seed_given=seed_given,
        )  # fmt: skip
        if wrong:
            raise ValidationError(
                {
                    field: ValidationError(f"The model '{self.name}' {what}.", code="unsupported")
                    for field, what in wrong.items()
                }
            )

    def check_operation(self, operation: str) -> None:
        """ValidationError (on ``model``) when this model cannot make ``operation``
        (remix, edit), naming the models on this studio that can."""
        if self.capabilities.can(operation):
            return
        able = [name for name, r in routes().items() if r.capabilities.can(operation)]
        verb = {"remix": "remix", "edit": "edit", "extend": "extend"}.get(operation, operation)
        also = f" Models that can: {', '.join(able)}." if able else ""
        raise ValidationError(
            {"model": ValidationError(f"The model '{self.name}' cannot {verb} a video.{also}",
                                      code="unsupported")}
        )  # fmt: skip


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


def price_text(route: Route, size: str | None = None, audio: bool | None = None) -> str:
    """``$0.05/s`` (at ``size``, with or without sound; without a size: the whole table,
    ``$0.20/s; with sound $0.40/s``), ``free`` (local, unpriced) or ``price unknown``."""
    if size is None and route.prices:
        return prices.describe(route.prices)
    price = route.price(size, audio)
    if price is not None:
        return f"{format_usd(price)}/s"
    return "free" if runs_here(route.provider_kind) else "price unknown"


def estimate_text(
    route: Route, seconds: int, size: str | None = None, audio: bool | None = None
) -> str:
    """The create form's cost line (static/studio/create.js writes the same text)."""
    cost = route.cost(seconds, size, audio)
    if cost is not None:
        times = "\N{MULTIPLICATION SIGN}"
        each = f"{format_usd(route.price(size, audio))}/s"
        return f"Estimated cost: {format_usd(cost)} ({seconds} s {times} {each})"
    if runs_here(route.provider_kind):
        return "Estimated cost: free \N{EM DASH} runs locally"
    return "Estimated cost: unknown"


def _route(row: ModelRoute) -> Route:
    provider = row.provider
    upstream = row.upstream_model or row.name
    caps = capabilities(provider.kind, upstream).merged(row.capabilities)
    try:
        table = prices.route_table(
            row.price_per_second, row.prices, documented_prices(provider.kind, upstream)
        )
    except ValueError:  # a table saved around the admin's checks: unpriced, not down
        logger.warning("route %s has prices that do not parse: %r", row.name, row.prices)
        table = {}
    # What the model makes (its capabilities, else everything the studio's own engines
    # make), narrowed by the route's lists; empty lists narrow nothing.
    sizes = tuple(s for s in ALL_SIZES if s in caps.sizes) if caps.sizes else SIZES
    seconds = tuple(s for s in ALL_SECONDS if s in caps.seconds) if caps.seconds else SECONDS
    return Route(
        name=row.name,
        provider=provider.name,
        provider_kind=provider.kind,
        provider_label=_label(provider.name, provider.kind, provider.label),
        upstream_model=upstream,
        sizes=tuple(s for s in sizes if s in row.sizes) if row.sizes else sizes,
        seconds=tuple(s for s in seconds if s in row.seconds) if row.seconds else seconds,
        price_per_second=table.get("*"),
        listed=row.listed,
        capabilities=caps,
        prices=table,
    )


def _label(name: str, kind: str, label: str) -> str:
    return label or (LOCAL_LABEL if kind == "local" else name)


def _enabled_rows() -> QuerySet[ModelRoute]:
    return ModelRoute.objects.select_related("provider").filter(
        enabled=True, provider__enabled=True
    )


def routes(*, listed_only: bool = False) -> dict[str, Route]:
    """Every usable public model name (enabled, on an enabled provider), in order.

    Read from the database on each call (one query), so an admin's change applies to the
    next request in every process.
    """
    rows = _enabled_rows()
    if listed_only:
        rows = rows.filter(listed=True)
    return {row.name: _route(row) for row in rows}


def route(name: str) -> Route:
    """The route of one public model name, or ModelUnavailable (one query when it exists)."""
    row = ModelRoute.objects.select_related("provider").filter(name=name).first()
    if row is None or not row.enabled or not row.provider.enabled:
        raise ModelUnavailable(name, disabled=row is not None, supported=routes())
    return _route(row)


def route_of(row: ModelRoute) -> Route:
    """What a row reads as, enabled or not (the admin shows it)."""
    return _route(row)


SEED_MODELS = (  # as migration 0005 seeds them; the first two are on the create form
    "sora-2",
    "sora-2-pro",
    "sora-2-2025-10-06",
    "sora-2-pro-2025-10-06",
    "sora-2-2025-12-08",
)


def seed_routes(*, using: str = "default", apps: Any = None, **kwargs: object) -> None:
    """After ``migrate`` (a post_migrate receiver): an empty routing table gets the seed.

    Migration 0005 seeds it once; a flush (as between transactional tests) empties it and
    emits post_migrate, which puts the embedded default back. A table with any route in
    it is the admin's and is left alone.
    """
    if apps is None:  # flush sends no migration state: the models are current
        from django.apps import apps
    try:
        provider_model = apps.get_model("videos_app", "Provider")
        route_model = apps.get_model("videos_app", "ModelRoute")
    except LookupError:  # migrated to before 0005
        return
    if route_model.objects.using(using).exists():
        return
    local, _ = provider_model.objects.using(using).get_or_create(
        name="local", defaults={"kind": "local", "label": LOCAL_LABEL}
    )
    for position, name in enumerate(SEED_MODELS):
        route_model.objects.using(using).get_or_create(
            name=name, defaults={"provider": local, "position": position, "listed": position < 2}
        )


def provider_label(provider: str) -> str:
    """How the pages name a provider (by its Provider row's name): its label."""
    row = Provider.objects.filter(name=provider).values_list("kind", "label").first()
    if row is None:
        return LOCAL_LABEL if provider == "local" else provider
    return _label(provider, *row)


def provider_runs_here(provider: str) -> bool:
    """Whether a provider (by its row's name) makes videos on the studio's own hosts."""
    kind = Provider.objects.filter(name=provider).values_list("kind", flat=True).first()
    return kind is not None and runs_here(kind)


def get_provider(name: str) -> Engine:
    """The engine of a provider name: its ``Provider`` row decides (kind, URL, key).

    ``local`` without a row is the embedded renderer, as before providers were rows.
    LookupError for a name with no row, or a row of a kind no longer registered.
    """
    row = Provider.objects.filter(name=name).first()
    if row is None:
        if name != LOCAL:
            raise LookupError(f"unknown provider {name!r}")
        row = Provider(name=LOCAL, kind=LOCAL)  # never saved: the builder reads it
    return engine_builder(row.kind)(row)
