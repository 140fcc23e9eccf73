"""``/healthz/queue``: the job queue's health as JSON, 503 when it is stalled."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .health import queue_health


@require_GET
@never_cache
def queue(request: HttpRequest) -> JsonResponse:
    health = queue_health()
    return JsonResponse(health.as_dict(), status=503 if health.stalled else 200)
