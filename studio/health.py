"""Liveness and readiness.

``/healthz`` is liveness: the process answers (no database, no cache, no broker), so a
supervisor restarts only what is really stuck. ``/healthz/ready`` is readiness: 200
when the database, the job broker and the cache can each be reached, else 503 with the
reasons, so a load balancer sends no traffic to a process that would answer 500s. Each
check is bounded by a short timeout; none writes anything but a cache probe key.
"""

from __future__ import annotations

from collections.abc import Callable

import redis
from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

TIMEOUT_SECONDS = 1.0
DATABASE = "default"


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


def _database() -> None:
    with connections[DATABASE].cursor() as cursor:
        cursor.execute("SELECT 1")


def _redis_ping(url: str) -> None:
    client = redis.Redis.from_url(
        url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS
    )
    try:
        client.ping()
    finally:
        client.close()


def _broker() -> None:
    url = settings.Q_CLUSTER.get("redis")
    if url:
        _redis_ping(str(url))
    else:
        _database()  # the ORM broker's queue is a table of the database


def _cache() -> None:
    config = settings.CACHES["default"]
    if "redis" in str(config["BACKEND"]).lower():
        # The studio's cache hides outages (studio/cache.py): ask Redis itself.
        _redis_ping(str(config["LOCATION"]))
        return
    cache = caches["default"]
    cache.set("studio:ready-probe", 1, timeout=10)
    if cache.get("studio:ready-probe") != 1:
        raise RuntimeError("a value written to the cache could not be read back")


CHECKS: dict[str, Callable[[], None]] = {
    "database": _database,
    "broker": _broker,
    "cache": _cache,
}


@require_GET
@never_cache
def ready(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    reasons: list[str] = []
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as error:  # any failure means not ready, with its reason
            checks[name] = "unreachable"
            reasons.append(f"{name}: {type(error).__name__}: {str(error)[:200]}")
        else:
            checks[name] = "ok"
    body = {"ready": not reasons, "checks": checks, "reasons": reasons}
    return JsonResponse(body, status=503 if reasons else 200)
