"""Waking a job that is waiting to poll its upstream.

A job on an upstream provider sleeps between polls. An inbound webhook (or anything
else that knows the upstream job moved) calls ``wake``; the job's ``wait`` returns early
and it polls at once. The flag lives in the cache, which every process of a deployment
shares (the file cache by default, Redis when configured).
"""

from __future__ import annotations

import time

from django.core.cache import cache

CHECK_INTERVAL = 0.25


def _key(video_id: str) -> str:
    return f"studio:wake:{video_id}"


def wake(video_id: str) -> None:
    cache.set(_key(video_id), 1, timeout=300)


def wait(video_id: str, seconds: float) -> bool:
    """Sleep up to ``seconds``; True if woken before then (the flag is consumed)."""
    deadline = time.monotonic() + seconds
    while True:
        if cache.get(_key(video_id)):
            cache.delete(_key(video_id))
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(CHECK_INTERVAL, left))
