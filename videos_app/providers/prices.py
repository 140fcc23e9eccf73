"""What a second of video costs on a route: by resolution and by sound, as vendors price.

A price table maps keys to US dollars per second. A key is a resolution (``720p``,
``1080p``, ``4k``, … as ``base.size_resolution`` names a size) or ``*`` (any), with
``+audio`` for the price with sound::

    {"*": "0.20", "*+audio": "0.40", "4k+audio": "0.60"}

A video's price is the first key present of ``<res>+audio`` and ``*+audio`` (with sound),
then ``<res>`` and ``*``: a vendor that prices sound apart names it, one that does not
needs only ``*``. Whether a video has sound is its own choice, else the model's default
(a model that can make sound makes it unless told not to).

The table of a route is its own (``ModelRoute.prices``, with ``price_per_second`` as
``*``) when it sets either, else what the engine documents for the model
(``prices_for``, read through ``registry.documented_prices``): list prices go stale, so
an admin's table always wins whole, never merged key by key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from .base import size_resolution
from .limits import format_usd

KEY = re.compile(r"(\*|[1-9][0-9]{2,3}p|[248]k)(\+audio)?")
MAX_PRICE = Decimal("1000")  # a second: beyond it, a typo
PLACES = Decimal("0.0001")

PriceTable = Mapping[str, Decimal]


def parse(raw: Mapping[str, Any] | None) -> dict[str, Decimal]:
    """A table from JSON (strings or numbers); ValueError naming the first bad entry."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ValueError("Prices must be an object of resolution keys to dollars a second.")
    table: dict[str, Decimal] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not KEY.fullmatch(key):
            raise ValueError(
                f"Unknown price key '{key}': use a resolution such as 720p, 1080p or 4k, "
                "or * for any, optionally with +audio (e.g. 1080p+audio)."
            )
        try:
            price = Decimal(str(value).strip().removeprefix("$"))
        except InvalidOperation:
            raise ValueError(f"The price of '{key}' is not a number: {value!r}.") from None
        if not price.is_finite() or price < 0 or price > MAX_PRICE:
            raise ValueError(f"The price of '{key}' must be between 0 and {MAX_PRICE} a second.")
        if price != price.quantize(PLACES):
            raise ValueError(f"The price of '{key}' has more than 4 decimal places.")
        table[key] = price
    return table


def as_json(table: PriceTable) -> dict[str, str]:
    return {key: f"{price.normalize():f}" for key, price in table.items()}


def route_table(
    price_per_second: Decimal | None, prices: Mapping[str, Any] | None, documented: PriceTable
) -> dict[str, Decimal]:
    """A route's effective table (see the module's docstring)."""
    own = parse(prices) if prices else {}
    if price_per_second is not None:
        own.setdefault("*", price_per_second)
    return own if own else dict(documented)


def per_second(table: PriceTable, size: str | None, audio: bool) -> Decimal | None:
    """The price of a second at ``size`` (None: any) with or without sound."""
    res = size_resolution(size) if size else "*"
    keys = [res, "*"]
    if audio:
        keys = [f"{res}+audio", "*+audio", *keys]
    for key in keys:
        if key in table:
            return table[key]
    return None


def flat(table: PriceTable) -> Decimal | None:
    """The one price of a table that has only one (``*``, or every key the same)."""
    values = set(table.values())
    return values.pop() if len(values) == 1 else None


def describe(table: PriceTable) -> str:
    """``$0.40/s`` for one price, else each: ``$0.20/s; with sound $0.40/s; 4k with sound
    $0.60/s``."""
    single = flat(table)
    if single is not None:
        return f"{format_usd(single)}/s"
    parts = []
    for key, price in sorted(table.items(), key=lambda kv: _order(kv[0])):
        res, _, audio = key.partition("+")
        where = "" if res == "*" else f"{res} "
        sound = "with sound " if audio else ""
        parts.append(f"{where}{sound}{format_usd(price)}/s".strip())
    return "; ".join(parts)


def _order(key: str) -> tuple[int, int, str]:
    res, _, audio = key.partition("+")
    height = 0 if res == "*" else (int(res[:-1]) * 1000 if res.endswith("k") else int(res[:-1]))
    return (bool(audio), height, key)
