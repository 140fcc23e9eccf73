"""1,000 browser tabs polling job pages while jobs render: what the server receives.

Run: .venv/bin/python bench/bench_tabs.py [--pace old|job|both] [--tabs 1000] [--seconds 45]
     bin/with-services .venv/bin/python bench/bench_tabs.py   (PostgreSQL + Redis)

A live studio (gunicorn 2 x 4 threads and the two django-q2 clusters, as ``make run``
starts them, on loopback) renders a stream of local jobs the whole time (kept at
``--local-active`` queued or running, so both render workers are always busy), next to
``--vendor-jobs`` rows that stand for four-minute jobs at a vendor (in progress, no
progress reported, their ages spread over the four minutes; one that ends is replaced by
a new one). A poll reads only the row, so to the poll they are what a vendor job is.

The load generator runs in its own process (asyncio + httpx, up to ``--connections``
connections). Each tab is already open on a running video's page when the measurement
starts (the pages were loaded once beforehand), polls its progress fragment exactly as
htmx does (the page's URL and token, htmx's headers, waiting the delay the server hands
back), stops at 286 as the page does, and after a while (the finished video watched)
opens another running video: a real page load, then its polls. ``--pace old`` makes the
tabs wait what the earlier server said instead (by the tab's count of polls: 1 s backing
off to 10 s, from 1 s again on every page; tabs already open start at a random count),
in the same studio and conditions; ``both`` (the default) runs old, then job. A probe
asks ``/healthz`` ten times a second through the same connections, whether or not the
last one answered: the trivial view at the same load.

Printed per pace, over the steady window (after SETTLE_SECONDS until the tabs stop):
requests per second the server received, poll / page / healthz p50 and p99 and the
poll's ratios to healthz, errors, and 'database is locked' in the studio's logs.
Bounded: each pace runs ``--seconds``; setup and teardown add about a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import cpu_line

SETTLE_SECONDS = 5.0  # the steady window starts this long after the tabs do
THINK_SECONDS = (15.0, 45.0)  # a finished video watched, then another one opened
PROBE_EVERY = 0.1
VENDOR_JOB_SECONDS = 240.0
LOCAL_SIZE, LOCAL_SECONDS = "1280x720", "12"  # a few seconds' render alone, more under load
TARGET_RPS = 150
TARGET_P99_RATIO = 2.0
SATURATED_P50 = 0.1  # seconds: /healthz answers in ~5 ms on an idle studio
HX_GET = re.compile(r'id="job"[^>]*hx-get="([^"]+)"[^>]*hx-trigger="load delay:([\d.]+)s"')


def old_delay(polls_so_far: int) -> float:
    """The earlier server's pace: by the tab's count of polls, from 1 s on every page."""
    return min(10.0, round(1.0 * 1.25**polls_so_far * 2) / 2)


# --- The load generator (its own process) ------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def generate(args: argparse.Namespace) -> dict[str, object]:
    """The tabs and the probe; every request as (kind, seconds from the start, latency)."""
    import httpx

    ids_file = Path(args.ids)
    began = time.monotonic()
    deadline = began + args.seconds
    requests: list[tuple[str, float, float]] = []
    errors: list[str] = []
    waits: list[float] = []
    stops = 0
    headers = {"Cookie": args.cookie}
    limits = httpx.Limits(max_connections=args.connections, max_keepalive_connections=None)
    client = httpx.AsyncClient(base_url=args.url, headers=headers, limits=limits, timeout=90)

    def running_ids() -> list[str]:
        try:
            return list(json.loads(ids_file.read_text()))
        except (OSError, ValueError):
            return []

    async def get(
        kind: str, url: str, extra: dict[str, str] | None = None
    ) -> httpx.Response | None:
        sent = time.monotonic()
        try:
            response = await client.get(url, headers=extra)
        except httpx.HTTPError as exc:
            errors.append(f"{kind}: {type(exc).__name__}")
            return None
        requests.append((kind, sent - began, time.monotonic() - sent))
        if response.status_code not in (200, 286):
            errors.append(f"{kind}: HTTP {response.status_code}")
            return None
        return response

    async def tab(rng: random.Random, opened: tuple[str, str] | None) -> None:
        """A tab already open on a video (``opened``: its URL and page), then others."""
        nonlocal stops
        while time.monotonic() < deadline:
            if opened is None:
                ids = running_ids()
                if not ids:
                    await asyncio.sleep(1.0)
                    continue
                page_url = f"/videos/{rng.choice(ids)}"
                page = await get("page", page_url)
                opened = (page_url, page.text if page is not None else "")
                n, first = 0, 1.0
            else:  # open for a while already: anywhere in its current wait
                n = rng.randrange(12)  # the earlier pace's count: backed off, mostly
                first = rng.random()
            page_url, text = opened
            opened = None
            found = HX_GET.search(text)
            while found is not None:
                url, delay = found.group(1).replace("&amp;", "&"), float(found.group(2))
                full = old_delay(n) if args.pace == "old" else delay
                wait, first = full * first, 1.0
                if time.monotonic() + wait >= deadline:
                    return
                waits.append(full)  # the pace asked for, whatever the server's speed
                await asyncio.sleep(wait)
                n += 1
                htmx = {
                    "HX-Request": "true",
                    "HX-Trigger": "job",
                    "HX-Target": "job",
                    "HX-Current-URL": f"{args.url}{page_url}",
                }
                response = await get("poll", url, htmx)
                if response is None or response.status_code == 286:
                    stops += response is not None
                    break
                found = HX_GET.search(response.text)
            # The finished video plays; a while later the person opens another.
            await asyncio.sleep(rng.uniform(*THINK_SECONDS))

    async def probe() -> None:
        """/healthz every PROBE_EVERY seconds, whether or not the last one has answered."""
        pending = set()
        while time.monotonic() < deadline:
            task = asyncio.create_task(get("healthz", "/healthz"))
            pending.add(task)
            task.add_done_callback(pending.discard)
            await asyncio.sleep(PROBE_EVERY)
        await asyncio.gather(*pending)

    # The tabs were opened before the measurement: each running video's page once.
    pages: dict[str, str] = {}
    gate = asyncio.Semaphore(8)

    async def load(url: str) -> None:
        async with gate:
            pages[url] = (await client.get(url)).text

    await asyncio.gather(*(load(f"/videos/{video_id}") for video_id in running_ids()))
    seed = random.Random(args.seed)
    urls = sorted(pages)
    tabs = []
    for _ in range(args.tabs):
        url = seed.choice(urls)
        tabs.append(tab(random.Random(seed.random()), (url, pages[url])))
    began = time.monotonic()
    deadline = began + args.seconds
    await asyncio.gather(probe(), *tabs)
    await client.aclose()
    return {"requests": requests, "errors": errors, "stops": stops, "waits": waits}


# --- The orchestrator: the studio, its jobs, the report -----------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tabs", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=45.0, help="per pace")
    parser.add_argument("--pace", choices=("job", "old", "both"), default="both")
    parser.add_argument("--vendor-jobs", type=int, default=200)
    parser.add_argument("--local-active", type=int, default=6)
    parser.add_argument("--connections", type=int, default=256)
    parser.add_argument("--seed", type=int, default=1)
    # The generator's own process:
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--cookie", help=argparse.SUPPRESS)
    parser.add_argument("--ids", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        result = asyncio.run(generate(args))
        Path(args.out).write_text(json.dumps(result))
        return 0
    with tempfile.TemporaryDirectory(prefix="studio-tabs-") as tmp:
        return run(args, Path(tmp))


def run(args: argparse.Namespace, tmp: Path) -> int:
    from tests.live import live_studio

    running = live_studio(tmp / "studio")
    studio = next(running)
    try:
        # This process reads and writes the studio's own database (the rows, the count).
        os.environ.update(studio.env)
        import django

        django.setup()
        logging.getLogger("httpx").setLevel(logging.WARNING)
        return measure(args, tmp, studio)
    finally:
        running.close()


def measure(args: argparse.Namespace, tmp: Path, studio: object) -> int:
    from django.contrib.auth import get_user_model
    from django.db import close_old_connections
    from django.utils import timezone

    from tests.live import LiveStudio
    from videos_app.models import Video

    assert isinstance(studio, LiveStudio)
    client = studio.client()
    owner = get_user_model().objects.get(username="admin")
    database = "PostgreSQL + Redis" if os.environ.get("DATABASE_URL") else "SQLite"

    def vendor_job(age: float) -> None:
        Video.objects.create(
            owner=owner,
            prompt="a vendor's job",
            provider="bench-vendor",
            size="1280x720",
            seconds=12,
            status=Video.Status.IN_PROGRESS,
            started_at=timezone.now() - timedelta(seconds=age),
        )

    for i in range(args.vendor_jobs):  # ages spread over the four minutes
        vendor_job(VENDOR_JOB_SECONDS * i / args.vendor_jobs)

    def create_local() -> None:
        response = client.post(
            "/videos/new",
            data={
                "prompt": "a fast neon city at night",
                "model": "sora-2",
                "size": LOCAL_SIZE,
                "seconds": LOCAL_SECONDS,
            },
            files={"reference_image": ("", b"")},
        )
        assert response.status_code == 302, response.text[:300]

    ids_file = tmp / "running.json"
    stop = threading.Event()

    def keep_jobs_running() -> None:
        """Keep the mix steady: local renders topped up, a vendor job ending at four
        minutes replaced by a new one; publish what runs for the tabs to open."""
        while not stop.is_set():
            ended = timezone.now() - timedelta(seconds=VENDOR_JOB_SECONDS)
            done = Video.objects.filter(
                provider="bench-vendor", status="in_progress", started_at__lt=ended
            ).update(status="failed", error_code="bench", completed_at=timezone.now())
            for _ in range(done):
                vendor_job(0.0)
            active = list(
                Video.objects.filter(status__in=Video.ACTIVE_STATUSES).values_list("pk", "provider")
            )
            for _ in range(args.local_active - sum(p == "local" for _, p in active)):
                create_local()
            ids_file.write_text(json.dumps([pk for pk, _ in active]))
            close_old_connections()
            stop.wait(2.0)

    keeper = threading.Thread(target=keep_jobs_running, daemon=True)
    keeper.start()
    time.sleep(3.0)  # the first renders are queued
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    ok = True
    try:
        for pace in ("old", "job") if args.pace == "both" else (args.pace,):
            ok &= one_pace(args, pace, tmp, studio, cookie, ids_file, database)
    finally:
        stop.set()
        keeper.join(timeout=30)
    return 0 if ok else 1


def one_pace(
    args: argparse.Namespace,
    pace: str,
    tmp: Path,
    studio: object,
    cookie: str,
    ids_file: Path,
    database: str,
) -> bool:
    from django.utils import timezone

    from tests.live import LiveStudio
    from videos_app.models import Video

    assert isinstance(studio, LiveStudio)
    out = tmp / f"load-{pace}.json"
    logs_before = {
        p: p.read_text(errors="replace").count("database is locked") for p in studio.logs
    }
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable, __file__, "--generate", "--url", studio.url, "--cookie", cookie,
            "--ids", str(ids_file), "--out", str(out), "--tabs", str(args.tabs),
            "--seconds", str(args.seconds), "--pace", pace,
            "--connections", str(args.connections), "--seed", str(args.seed),
        ],
        check=True,
        timeout=args.seconds + 150,
    )  # fmt: skip
    wall = time.monotonic() - started
    renders = [
        (done - begun).total_seconds()
        for begun, done in Video.objects.filter(
            provider="local",
            status="completed",
            completed_at__gte=timezone.now() - timedelta(seconds=wall),
        ).values_list("started_at", "completed_at")
        if begun is not None and done is not None
    ]
    locked = sum(
        p.read_text(errors="replace").count("database is locked") - logs_before.get(p, 0)
        for p in studio.logs
    )
    result = json.loads(out.read_text())
    # The steady window: every tab open, until the tabs stop.
    window = (SETTLE_SECONDS, args.seconds)
    inside = [r for r in result["requests"] if window[0] <= r[1] < window[1]]

    def of(kind: str, rows: list[list[object]]) -> list[float]:
        return [float(r[2]) for r in rows if r[0] == kind]  # type: ignore[arg-type]

    rps = len(inside) / (window[1] - window[0])
    poll, page, healthz = of("poll", inside), of("page", inside), of("healthz", inside)
    ratio_p50 = percentile(poll, 0.5) / percentile(healthz, 0.5)
    ratio_p99 = percentile(poll, 0.99) / percentile(healthz, 0.99)
    errors: list[str] = result["errors"]
    ok = rps <= TARGET_RPS and ratio_p99 <= TARGET_P99_RATIO and not errors and not locked

    def row(name: str, values: list[float]) -> str:
        return (
            f"{name:<22}: {len(values):6d} requests, p50 {percentile(values, 0.5) * 1e3:8.1f} ms,"
            f" p99 {percentile(values, 0.99) * 1e3:8.1f} ms"
        )

    print(f"\n== {args.tabs} tabs, pace {pace}, {database}, {cpu_line()} ==")
    median = statistics.median(renders) if renders else float("nan")
    print(
        f"jobs: {args.vendor_jobs} vendor rows (4 min each, ages spread), local renders kept "
        f"at {args.local_active} active: {len(renders)} rendered, median {median:.1f} s each"
    )
    print(
        f"tabs ran {args.seconds:.0f} s, open from the start; "
        f"steady window {window[0]:.0f}-{window[1]:.0f} s:"
    )
    print(f"requests/s received   : {rps:8.1f} (target <= {TARGET_RPS}); "
          f"polls/s {len(poll) / (window[1] - window[0]):.1f}; "
          f"whole run {len(result['requests']) / args.seconds:.1f}")  # fmt: skip
    waits: list[float] = result["waits"]
    mean_wait = statistics.fmean(waits) if waits else float("nan")
    print(
        f"pace asked for        : mean {mean_wait:.1f} s between polls (p50 "
        f"{percentile(waits, 0.5):.1f} s): {args.tabs / mean_wait:.0f} polls/s offered by "
        f"{args.tabs} tabs if every answer were instant"
    )
    print(row("progress poll", poll))
    print(row("video page", page))
    print(row("trivial view /healthz", healthz))
    print(f"poll / healthz        : p50 {ratio_p50:.2f}x, p99 {ratio_p99:.2f}x (target p99 <= 2x)")
    print(f"jobs seen to finish   : {result['stops']} (286 answers, whole run)")
    summary = {e: errors.count(e) for e in sorted(set(errors))}
    print(f"errors                : {len(errors)} {summary if summary else ''}")
    print(f"'database is locked'  : {locked}")
    if percentile(healthz, 0.5) > SATURATED_P50:
        print(
            f"note: /healthz's p50 is over {SATURATED_P50 * 1e3:.0f} ms: the server is saturated "
            "(a queue in front of every view), so the ratios compare two waits in that queue"
        )
    print("PASS" if ok else "FAIL (see the targets above)")
    return ok


if __name__ == "__main__":
    sys.exit(main())
