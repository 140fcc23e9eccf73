"""The Redis cache, as a cache: when Redis cannot be reached, a miss, not a 500.

Everything the studio keeps in the cache can be rebuilt or done without: sessions are
``cached_db`` (the database holds them), signed-in users are re-read, webhook wake-ups
fall back to polling, per-key rate-limit counts start again (the limit fails open for
the outage). Django's Redis backend raises ``ConnectionError`` on every call instead,
which made every signed-in page answer 500 while Redis was down. Each outage is logged
(once a minute per process, not per call).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

OUTAGE = (RedisConnectionError, RedisTimeoutError)
LOG_EVERY_SECONDS = 60.0
_last_logged = 0.0


def _log_outage(error: Exception) -> None:
    global _last_logged
    now = time.monotonic()
    if now - _last_logged >= LOG_EVERY_SECONDS:
        _last_logged = now
        logger.warning("the cache (Redis) cannot be reached, working without it: %s", error)


def _tolerant(fallback: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Run the client method; on an outage, log it and answer ``fallback(*args)`` instead."""

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: RedisCacheClient, *args: Any) -> Any:
            try:
                return method(self, *args)
            except OUTAGE as error:
                _log_outage(error)
                return fallback(*args)

        call.__name__ = method.__name__
        return call

    return wrap


def _nothing(*args: Any) -> None:
    return None


def _false(*args: Any) -> bool:
    return False


class OutageTolerantClient(RedisCacheClient):
    get = _tolerant(lambda key, default: default)(RedisCacheClient.get)
    get_many = _tolerant(lambda keys: {})(RedisCacheClient.get_many)
    has_key = _tolerant(_false)(RedisCacheClient.has_key)
    add = _tolerant(_false)(RedisCacheClient.add)
    set = _tolerant(_nothing)(RedisCacheClient.set)
    set_many = _tolerant(_nothing)(RedisCacheClient.set_many)
    touch = _tolerant(_false)(RedisCacheClient.touch)
    delete = _tolerant(_false)(RedisCacheClient.delete)
    delete_many = _tolerant(_nothing)(RedisCacheClient.delete_many)
    clear = _tolerant(_false)(RedisCacheClient.clear)
    # A counter that cannot be read starts again from this increment.
    incr = _tolerant(lambda key, delta: delta)(RedisCacheClient.incr)


class OutageTolerantRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = OutageTolerantClient
