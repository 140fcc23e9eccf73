"""The upstream pipeline's overhead per job, and the requests it sends per job.

Run: .venv/bin/python bench/bench_upstream.py [--jobs 12] [--concurrency 4] [--render 2]

One process, a fresh SQLite database in a temporary folder, the fake upstream of the
tests (tests/fake_upstream.py) on loopback: every job "renders" upstream for exactly
``--render`` seconds. Jobs run through the real task (``tasks.render_video``: claim,
create, poll, download all three variants, verify by decoding, store), several at once
in threads. No django-q2 broker: its pick-up delay (the ORM broker polls every 0.5 s) is
not part of this number.

Per job, from the task's start to the row being completed:
- ``create``: until the upstream has the job (claim, marking create_sent_at, the POST);
- ``wait``: from the upstream finishing to the studio fetching its files (how soon a poll
  or a wake notices: this is the poll policy, not work);
- ``finish``: downloading, decoding, storing, marking the row completed.
The studio's own overhead is ``create + finish``; the wall overhead adds ``wait``.

Three ways of noticing completion: the upstream advises ``openai-poll-after-ms`` (a
quarter of the time left, as the studio's own /v1 does); the upstream advises nothing
(the studio's backoff: 1 s growing by 1.5x); and a webhook at completion (``wake``), the
upstream advising 5 s polls.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["STUDIO_DATA_DIR"] = tempfile.mkdtemp(prefix="studio-bench-upstream-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
os.environ["STUDIO_BENCH_UPSTREAM_KEY"] = "sk-bench-upstream"

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from bench.common import cpu_line  # noqa: E402
from tests.fake_upstream import FakeUpstream, Job  # noqa: E402
from videos_app.jobs import wake  # noqa: E402
from videos_app.models import Provider, Video  # noqa: E402
from videos_app.tasks import render_video  # noqa: E402


def run_scenario(
    name: str, *, jobs: int, concurrency: int, render: float, poll_after_ms: int | None,
    webhook: bool,
) -> dict[str, object]:  # fmt: skip
    up = FakeUpstream(api_key="sk-bench-upstream", render_seconds=render)
    up.faults.poll_after_ms = poll_after_ms
    if webhook:

        def announce(job: Job) -> None:
            video_id = (
                Video.objects.filter(provider_job_id=job.id).values_list("pk", flat=True).first()
            )
            connection.close()
            if video_id:
                wake.wake(video_id)

        up.on_complete = announce
    up.start()
    Provider.objects.update_or_create(
        name="bench-up",
        defaults={
            "kind": "openai_compatible", "base_url": up.base_url,
            "api_key_env": "STUDIO_BENCH_UPSTREAM_KEY", "max_concurrency": concurrency,
        },
    )  # fmt: skip
    owner = get_user_model().objects.get(username="bench")
    ids = [
        Video.objects.create(
            owner=owner, provider="bench-up", provider_model="up-model", prompt=f"bench {name} {i}",
            size="1280x720", seconds=4,
        ).pk
        for i in range(jobs)
    ]  # fmt: skip

    def one(video_id: str) -> tuple[str, float, float]:
        start = time.monotonic()
        try:
            render_video(video_id)
        finally:
            connection.close()
        return video_id, start, time.monotonic()

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(one, ids))
    up.stop()
    rows = dict(Video.objects.filter(pk__in=ids).values_list("pk", "provider_job_id"))
    statuses = Counter(Video.objects.filter(pk__in=ids).values_list("status", flat=True))
    assert statuses == {"completed": jobs}, statuses
    walls, creates, waits, finishes = [], [], [], []
    for video_id, start, end in results:
        job = up.jobs[rows[video_id]]
        fetched = up.content_first_at[job.id]
        walls.append(end - start)
        creates.append(job.started - start)
        waits.append(fetched - (job.started + render))
        finishes.append(end - fetched)
    calls = {k: v / jobs for k, v in sorted(up.calls.items())}
    own = statistics.median(c + f for c, f in zip(creates, finishes, strict=True))
    return {
        "name": name,
        "wall": statistics.median(walls),
        "wall_p90": sorted(walls)[int(0.9 * (len(walls) - 1))],
        "create": statistics.median(creates),
        "wait": statistics.median(waits),
        "finish": statistics.median(finishes),
        "own": own,
        "own_ratio": own / render,
        "wall_ratio": (statistics.median(walls) - render) / render,
        "calls": calls,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=12)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--render", type=float, default=2.0)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    get_user_model().objects.create_user("bench", password="bench-password-1")
    scenarios = [
        ("upstream advises poll-after", -1, False),
        ("no advice: the studio's backoff", None, False),
        ("webhook wake at completion", 5000, True),
    ]
    print(f"{args.jobs} jobs, {args.concurrency} at once, upstream render {args.render:g} s; "
          f"{cpu_line()}")  # fmt: skip
    print("| how completion is noticed | wall per job (median, p90) | create | wait | finish "
          "| studio's own (create + finish) / render | wall overhead / render |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    results = [
        run_scenario(
            name,
            jobs=args.jobs,
            concurrency=args.concurrency,
            render=args.render,
            poll_after_ms=poll,
            webhook=hook,
        )
        for name, poll, hook in scenarios
    ]
    for r in results:
        print(
            f"| {r['name']} | {r['wall']:.3f} s, {r['wall_p90']:.3f} s | "
            f"{r['create'] * 1000:.0f} ms | {r['wait'] * 1000:.0f} ms | "
            f"{r['finish'] * 1000:.0f} ms | **{r['own_ratio']:.1%}** | {r['wall_ratio']:.1%} |"
        )
    print()
    print("Requests per completed job, by endpoint:")
    print()
    endpoints = sorted({k for r in results for k in r["calls"]})  # type: ignore[attr-defined]
    print("| how completion is noticed | " + " | ".join(endpoints) + " |")
    print("|---|" + "---|" * len(endpoints))
    for r in results:
        calls: dict[str, float] = r["calls"]  # type: ignore[assignment]
        print(f"| {r['name']} | " + " | ".join(f"{calls.get(e, 0):g}" for e in endpoints) + " |")


if __name__ == "__main__":
    main()
