"""Server-side cost of the pages that are hit most: the progress poll and the gallery.

Run: .venv/bin/python bench/bench_web.py

Everything runs in one process against a fresh SQLite database in a temporary folder,
through Django's full middleware stack (sessions, auth, CSRF, CSP, htmx), with the
test client: no network, so the numbers are the server's own time. Measurements are
interleaved and repeated; medians are reported.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["STUDIO_DATA_DIR"] = tempfile.mkdtemp(prefix="studio-bench-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from videos_app.models import Video  # noqa: E402

ROUNDS = 7
PER_ROUND = 300


def median_us(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def queries(fn: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx)


def main() -> int:
    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", verbosity=0)
    call_command("collectstatic", verbosity=0, interactive=False)
    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    client = Client()
    client.force_login(user)
    running = Video.objects.create(owner=user, prompt="bench", status="in_progress", progress=42)

    poll_url = f"/videos/{running.pk}/status?n=3"
    htmx = {"HX-Request": "true"}

    def poll() -> None:
        assert client.get(poll_url, headers=htmx).status_code == 200

    def trivial() -> None:
        assert client.get("/healthz").status_code == 200

    poll(), trivial()  # warm caches, the session, templates
    poll_times, trivial_times = [], []
    for _ in range(ROUNDS):
        trivial_times.append(median_us(trivial, PER_ROUND))
        poll_times.append(median_us(poll, PER_ROUND))
    poll_q = queries(poll)
    poll_med, trivial_med = statistics.median(poll_times), statistics.median(trivial_times)
    ratio = poll_med / trivial_med
    ok_poll = ratio <= 1.5 and poll_q <= 2

    print("== progress poll vs trivial view (same process, full middleware) ==")
    print(f"trivial view /healthz : {trivial_med:8.1f} us/request")
    print(f"progress poll         : {poll_med:8.1f} us/request, {poll_q} queries")
    print(
        f"ratio                 : {ratio:8.2f}x (target <= 1.5x, <= 2 queries) "
        f"{'PASS' if ok_poll else 'FAIL'}"
    )

    # Gallery with 10 and with 10,000 videos.
    Video.objects.all().delete()
    owners = [get_user_model().objects.create_user(f"u{i}") for i in range(20)]

    def fill(total: int) -> None:
        have = Video.objects.count()
        Video.objects.bulk_create(
            [
                Video(
                    owner=owners[i % 20],
                    prompt=f"video number {i}",
                    status="completed",
                    progress=100,
                    thumbnail_file=f"videos/x{i}/thumbnail.webp",
                )
                for i in range(have, total)
            ],
            batch_size=1000,
        )

    def gallery(page: int) -> Callable[[], None]:
        def get() -> None:
            assert client.get(f"/?page={page}").status_code == 200

        return get

    results = {}
    for total in (10, 10_000):
        fill(total)
        last = max(1, -(-total // 24))
        gallery(1)()
        first_t = statistics.median(median_us(gallery(1), 30) for _ in range(ROUNDS))
        last_t = statistics.median(median_us(gallery(last), 30) for _ in range(ROUNDS))
        results[total] = (first_t, queries(gallery(1)), last_t, queries(gallery(last)))

    print("\n== gallery page (24 per page) ==")
    for total, (first_t, first_q, last_t, last_q) in results.items():
        print(
            f"{total:>6} videos: first page {first_t / 1000:6.2f} ms, {first_q} queries; "
            f"last page {last_t / 1000:6.2f} ms, {last_q} queries"
        )
    same_queries = len({r[1] for r in results.values()} | {r[3] for r in results.values()}) == 1
    g_ratio = results[10_000][0] / results[10][0]
    print(
        f"first-page time ratio 10,000 / 10 videos: {g_ratio:.2f}x; "
        f"queries constant: {'yes' if same_queries else 'NO'}"
    )
    return 0 if ok_poll and same_queries else 1


if __name__ == "__main__":
    sys.exit(main())
