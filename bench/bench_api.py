"""Cost of the /v1 API: listing at 100 vs 10,000 stored videos, and the API key check.

Run: .venv/bin/python bench/bench_api.py

One process, a fresh SQLite database in a temporary folder (STUDIO_DATA_DIR is set
before Django starts), the full middleware stack through Django's test client: no
network, so the numbers are the server's own time. Measurements are interleaved and
repeated; medians are reported.

- ``GET /v1/videos?limit=100`` with 100 and with 10,000 videos stored: time ratio (target
  <= 1.2) and query counts (must be equal), plus a page deep in the list via ``after``.
- The key check: an API view behind ``api_endpoint`` alone vs ``api_endpoint`` +
  ``key_required`` vs the unauthenticated ``/healthz``, and the check's parts alone.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["STUDIO_DATA_DIR"] = tempfile.mkdtemp(prefix="studio-bench-api-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
os.environ["STUDIO_API_RATE_LIMIT"] = "100000000"  # measure the limiter, never trip it

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.urls import path  # noqa: E402
from django.utils import timezone  # noqa: E402

from studio.urls import urlpatterns as site_urlpatterns  # noqa: E402
from videos_app.api import keys, ratelimit  # noqa: E402
from videos_app.api.auth import api_endpoint, key_required  # noqa: E402
from videos_app.models import Video, new_video_id  # noqa: E402

ROUNDS = 7
PER_ROUND = 200


@api_endpoint("GET")
def open_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@api_endpoint("GET")
@key_required
def keyed_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


urlpatterns = [
    path("bench/open", open_view),
    path("bench/keyed", keyed_view),
    *site_urlpatterns,
]


def per_call_us(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def interleaved(fns: dict[str, Callable[[], object]], n: int = PER_ROUND) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(ROUNDS):
        for name, fn in fns.items():
            samples[name].append(per_call_us(fn, n))
    return {name: statistics.median(values) for name, values in samples.items()}


def queries(fn: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx)


def add_videos(owner: object, count: int, *, newest: bool) -> None:
    """``count`` rows with distinct created_at, newer (or older) than any stored so far."""
    base = timezone.now() + (timedelta(days=1) if newest else -timedelta(days=400))
    rows = [
        Video(
            id=new_video_id(),
            owner=owner,
            prompt=f"bench video {i}",
            status=Video.Status.COMPLETED,
            progress=100,
            completed_at=base,
        )
        for i in range(count)
    ]
    created = Video.objects.bulk_create(rows, batch_size=500)
    # auto_now_add ignores a given value: spread created_at with one update per row batch.
    for i, video in enumerate(created):
        video.created_at = base + timedelta(seconds=i)
    Video.objects.bulk_update(created, ["created_at"], batch_size=500)


def main() -> int:
    settings.ALLOWED_HOSTS = ["testserver"]
    # The limit is set high so the bench never trips it; write the shared counter as often
    # as the default 600/min does (every 600 // FLUSHES_PER_WINDOW = 12 requests).
    default_batch = ratelimit.DEFAULT_REQUESTS_PER_MINUTE // ratelimit.FLUSHES_PER_WINDOW
    ratelimit.FLUSHES_PER_WINDOW = ratelimit.requests_per_minute() // default_batch
    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    _key, raw = keys.api_key_create(user=user, name="bench")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    def list_page() -> None:
        response = client.get("/v1/videos?limit=100")
        assert response.status_code == 200 and len(response.json()["data"]) == 100

    # --- list: 100 vs 10,000 ----------------------------------------------------------
    add_videos(user, 100, newest=False)
    list_page()  # warm: templates, the key's last_used_at write
    small = interleaved({"list": list_page})["list"]
    small_q = queries(list_page)

    add_videos(user, 9_900, newest=True)
    assert Video.objects.count() == 10_000
    list_page()
    large = interleaved({"list": list_page})["list"]
    large_q = queries(list_page)
    middle = Video.objects.order_by("-created_at", "-id").values_list("pk", flat=True)[5_000]

    def deep_page() -> None:
        response = client.get(f"/v1/videos?limit=100&after={middle}")
        assert response.status_code == 200 and len(response.json()["data"]) == 100

    deep = interleaved({"deep": deep_page})["deep"]
    deep_q = queries(deep_page)

    # --- the key check -----------------------------------------------------------------
    with override_settings(ROOT_URLCONF=__name__):
        anonymous = Client()
        calls = {
            "healthz": lambda: anonymous.get("/healthz"),
            "api_open": lambda: anonymous.get("/bench/open"),
            "api_keyed": lambda: client.get("/bench/keyed"),
        }
        for fn in calls.values():
            fn()
        view_times = interleaved(calls)
        keyed_q = queries(calls["api_keyed"])
    parts = interleaved(
        {
            "authenticate": lambda: keys.api_key_authenticate(raw),
            "hmac": lambda: keys.secret_hash("x" * 40),
            "rate_limit": lambda: ratelimit.rate_limit_hit("bench"),
        },
        n=1000,
    )

    ratio = large / small
    print("GET /v1/videos?limit=100 (median of interleaved rounds, full middleware stack)")
    print(f"  100 videos:    {small:8.0f} us/request, {small_q} queries")
    print(f"  10,000 videos: {large:8.0f} us/request, {large_q} queries")
    print(f"  ratio 10,000 / 100: {ratio:.2f} (target <= 1.2); queries equal: {small_q == large_q}")
    print(f"  deep page (after the 5,000th of 10,000): {deep:8.0f} us/request, {deep_q} queries")
    print("API key check")
    healthz, api_open, api_keyed = (
        view_times["healthz"],
        view_times["api_open"],
        view_times["api_keyed"],
    )
    print(f"  /healthz (no key):                {healthz:8.0f} us/request")
    print(f"  api_endpoint view (no key):       {api_open:8.0f} us/request")
    print(f"  api_endpoint + key_required view: {api_keyed:8.0f} us/request, {keyed_q} query")
    print(
        f"  keyed / healthz: {api_keyed / healthz:.2f}; "
        f"key check adds {api_keyed - api_open:.0f} us"
    )
    print(
        f"  parts: authenticate (1 indexed query + HMAC) {parts['authenticate']:.1f} us, "
        f"HMAC alone {parts['hmac']:.1f} us, rate limit (amortized) in "
        f"{settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]} {parts['rate_limit']:.1f} us"
    )
    ok = ratio <= 1.2 and small_q == large_q
    print("OK" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
