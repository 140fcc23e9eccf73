"""Per-key request limits: a fixed one-minute window counted in the Django cache.

The cache is shared by every web process (file-based by default, Redis when configured),
so the limit holds across processes. Writing the shared counter on every request would
cost a file write and rename each time with the file cache (about 1.5 ms here, more than
the rest of the key check), so each process counts locally and adds its count to the
shared one in batches of ``limit / FLUSHES_PER_WINDOW`` requests, and at once when its
estimate reaches the limit. A few requests more than the limit may pass (at most one
batch per process), which is fine for a guard rail; small limits are exact.

Ours rather than a library: ``django-ratelimit`` writes the cache on every request (the
cost the batching avoids) and sends no ``x-ratelimit-*`` headers; ``pyrate-limiter`` keeps
its buckets in memory, SQLite, Redis or Postgres of its own, not in the Django cache the
deployment already shares between processes.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

WINDOW_SECONDS = 60
DEFAULT_REQUESTS_PER_MINUTE = 600
FLUSHES_PER_WINDOW = 50


def requests_per_minute() -> int:
    """From settings.STUDIO_API_RATE_LIMIT, else the environment; 0 turns limiting off."""
    value = getattr(settings, "STUDIO_API_RATE_LIMIT", None)
    if value is None:
        value = os.environ.get("STUDIO_API_RATE_LIMIT") or DEFAULT_REQUESTS_PER_MINUTE
    text = str(value).strip().lower().removesuffix("/min")
    return max(0, int(text))


@dataclass(frozen=True)
class Usage:
    limit: int
    remaining: int
    reset_seconds: int

    @property
    def exceeded(self) -> bool:
        return self.limit > 0 and self.remaining < 0

    def headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit-requests": str(self.limit),
            "x-ratelimit-remaining-requests": str(max(0, self.remaining)),
            "x-ratelimit-reset-requests": f"{self.reset_seconds}s",
        }


@dataclass
class _Counter:
    unflushed: int = 0
    shared: int = 0  # the shared total as of this process's last flush


# This process's counters for the current window: (bucket, window) -> _Counter.
_counters: dict[tuple[str, int], _Counter] = {}
_lock = threading.Lock()


def _window(now: float | None) -> tuple[int, int]:
    """The current one-minute window's number, and whole seconds until it ends (>= 1)."""
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    return window, max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))


def rate_limit_hit(
    bucket: str, *, limit: int | None = None, now: float | None = None
) -> Usage | None:
    """Count one request against ``bucket`` (``limit`` per minute, by default the per-key
    limit); None when limiting is off."""
    limit = requests_per_minute() if limit is None else limit
    if limit <= 0:
        return None
    window, reset = _window(now)
    batch = max(1, limit // FLUSHES_PER_WINDOW)
    with _lock:
        counter = _counters.get((bucket, window))
        if counter is None:
            for stale in [k for k in _counters if k[1] < window]:
                del _counters[stale]
            counter = _counters[bucket, window] = _Counter()
        counter.unflushed += 1
        near_limit = counter.shared <= limit < counter.shared + counter.unflushed
        if counter.unflushed >= batch or near_limit:
            counter.shared = _shared_add(f"api-ratelimit:{bucket}:{window}", counter.unflushed)
            counter.unflushed = 0
        count = counter.shared + counter.unflushed
    return Usage(limit=limit, remaining=limit - count, reset_seconds=reset)


def rate_limit_peek(bucket: str, *, limit: int, now: float | None = None) -> Usage | None:
    """``bucket``'s count so far in this window, counting nothing; None when off."""
    if limit <= 0:
        return None
    window, reset = _window(now)
    with _lock:
        counter = _counters.get((bucket, window))
        local = counter.unflushed if counter is not None else 0
    shared = int(cache.get(f"api-ratelimit:{bucket}:{window}") or 0)
    return Usage(limit=limit, remaining=limit - shared - local, reset_seconds=reset)


def _shared_add(key: str, amount: int) -> int:
    # add() is a no-op when the window's counter exists; the timeout outlives the window.
    cache.add(key, 0, timeout=WINDOW_SECONDS * 2)
    try:
        return int(cache.incr(key, amount))
    except ValueError:  # evicted between add() and incr()
        cache.set(key, amount, timeout=WINDOW_SECONDS * 2)
        return amount
