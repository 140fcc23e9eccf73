"""Server-side cost of the pages that are hit most: the progress poll and the gallery.

Run: .venv/bin/python bench/bench_web.py

1. The progress poll against a trivial view (``/healthz``) on the same server: a real
   studio (gunicorn, as ``make run`` starts it) on loopback, one keep-alive connection,
   requests interleaved in rounds; the time is per request as the server answers it.
2. The same two views in-process through Django's full middleware stack with the test
   client (no HTTP at all), which isolates the view's own work.
3. The gallery with 10 and with 10,000 videos (in-process): time and queries.
Each measurement is interleaved and repeated; medians are reported.
"""

from __future__ import annotations

import http.client
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

from tests.live import LiveStudio, live_studio  # noqa: E402
from videos_app.models import Video  # noqa: E402

ROUNDS = 9
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


def http_poll_vs_trivial() -> tuple[float, float]:
    """Median seconds per request for the poll and /healthz on a live gunicorn studio."""

    with tempfile.TemporaryDirectory() as tmp:
        running = live_studio(Path(tmp))
        studio = next(running)
        try:
            return _measure_http(studio)
        finally:
            running.close()


def _measure_http(studio: LiveStudio) -> tuple[float, float]:
    # The worker is not needed: the row is put in progress by hand and stays so.
    studio.kill_worker()
    client = studio.client()
    response = client.post(
        "/videos/new",
        data={"prompt": "bench", "model": "sora-2", "size": "720x1280", "seconds": "4"},
        files={"reference_image": ("", b"")},
    )
    video_id = response.headers["location"].rsplit("/", 1)[1]
    studio.manage(
        "shell", "--no-imports", "-c",
        "from videos_app.models import Video; "
        f"Video.objects.filter(pk='{video_id}').update(status='in_progress', progress=42)",
    )  # fmt: skip
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    conn = http.client.HTTPConnection("127.0.0.1", studio.port)

    def get(path: str, headers: dict[str, str]) -> bytes:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200, (response.status, body[:200])
        return body

    # The poll URL exactly as the page hands it to htmx (with its token).
    page = get(f"/videos/{video_id}", {"Cookie": cookie}).decode()
    poll_path = page.split('id="job"')[1].split('hx-get="')[1].split('"')[0].replace("&amp;", "&")
    poll_headers = {"Cookie": cookie, "HX-Request": "true"}
    assert b'value="42"' in get(poll_path, poll_headers)

    def timed(path: str, headers: dict[str, str], n: int = 200) -> float:
        start = time.perf_counter()
        for _ in range(n):
            get(path, headers)
        return (time.perf_counter() - start) / n

    polls, trivials = [], []
    for _ in range(ROUNDS):
        trivials.append(timed("/healthz", {}))
        polls.append(timed(poll_path, poll_headers))
    conn.close()
    return statistics.median(polls), statistics.median(trivials)


def main() -> int:
    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", verbosity=0)
    call_command("collectstatic", verbosity=0, interactive=False)
    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    client = Client()
    client.force_login(user)
    running = Video.objects.create(owner=user, prompt="bench", status="in_progress", progress=42)

    page = client.get(f"/videos/{running.pk}").content.decode()
    poll_url = page.split('id="job"')[1].split('hx-get="')[1].split('"')[0].replace("&amp;", "&")
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

    http_poll, http_trivial = http_poll_vs_trivial()
    http_ratio = http_poll / http_trivial
    ok_poll = http_ratio <= 1.5 and poll_q <= 2

    print("== progress poll vs trivial view, on the studio's own server (gunicorn) ==")
    print(f"trivial view /healthz : {http_trivial * 1e6:8.1f} us/request")
    print(f"progress poll         : {http_poll * 1e6:8.1f} us/request, {poll_q} queries")
    verdict = "PASS" if ok_poll else "FAIL"
    print(f"ratio                 : {http_ratio:8.2f}x (target <= 1.5x, <= 2 queries) {verdict}")
    print("\n== the same two views in-process (test client, no HTTP): the view's own work ==")
    print(f"trivial view /healthz : {trivial_med:8.1f} us/request")
    print(f"progress poll         : {poll_med:8.1f} us/request")
    print(f"ratio                 : {ratio:8.2f}x (information)")

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
