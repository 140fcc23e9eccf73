"""Time to video: a 12 s 1280x720 local render through /v1, against the ffmpeg command line.

Run: ``.venv/bin/python bench/bench_time_to_video.py [--reps N]`` (add ``bin/with-services``
in front for PostgreSQL + Redis). Needs ``imageio-ffmpeg``, as bench_render.py does.

A live studio (tests/live.py: gunicorn and the two django-q2 clusters, as ``make run``
starts them) in a temporary folder. One job: ``POST /v1/videos`` (httpx, an API key) →
the row read every 10 ms from this process (the studio's own database) until it says
``completed``; the time is from just before the POST to the read that saw it completed.
Side by side, interleaved: the same ffmpeg command line as bench_render.py
(``testsrc2`` + a sine, libx264 veryfast + AAC, 12 s, +faststart). Medians.

The breakdown of the /v1 job, per stage (medians):

- request: the POST until its answer (the row is inserted, the task queued on commit);
- pick-up: ``created_at`` → ``started_at`` (the broker's poll, the cluster's hand-over to
  a worker process, the claim);
- child start, render, previews, child exit: from the worker's log line of
  ``providers.local`` (the child's start until its first progress line, then until every
  frame is encoded, then until ``done``, then until it has exited);
- staging + move: the rest of the engine's run (its spec file, the moves into place);
- store: ``jobs.attempt.complete`` (the files into the media store, the row completed);
- seen: ``completed_at`` until this process read it (the reads' step, 10 ms by default).

Also interleaved: ``LocalRenderer.run`` alone in this process (bench_render.py's
measure), so the ratio of the render alone is known for the same minutes. ``--nice N``
runs the child, ffmpeg and the render alone N nicer (default 0: the same priority as
ffmpeg, whatever else the machine runs). ``--pages``: page requests (``GET /v1/videos``)
every 50 ms during renders on a studio at niceness 0 and one at 5, side by side.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_render import ffmpeg_command, machine, spec, timed  # noqa: E402
from common import Timing  # noqa: E402

from videos_app.providers.local import LocalRenderer  # noqa: E402

PROMPT = "a calm ocean at sunset, slow drift"
STAGES = (
    "request",
    "pick-up",
    "child start",
    "render",
    "previews",
    "child exit",
    "staging + move",
    "store",
    "seen",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--seconds", type=int, default=12)
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="the render child's niceness (STUDIO_RENDER_NICE); ffmpeg and the render "
        "alone run at the same, so that all three compete alike with the machine's load",
    )
    parser.add_argument(
        "--read-every",
        type=float,
        default=0.01,
        help="seconds between the bench's reads of the row (each read costs the database "
        "some CPU, which the render then lacks: PostgreSQL's more than SQLite's)",
    )
    parser.add_argument(
        "--pages",
        action="store_true",
        help="instead: page requests during renders, a studio at niceness 0 and one at 5",
    )
    args = parser.parse_args()
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # the child uses cached bytecode
    from tests.live import live_studio

    if args.pages:
        return pages(args)

    with tempfile.TemporaryDirectory(prefix="studio-bench-ttv-") as tmp:
        running = live_studio(Path(tmp) / "studio", STUDIO_RENDER_NICE=str(args.nice))
        studio = next(running)
        try:
            os.environ.update(studio.env)
            import django

            django.setup()
            return measure(args, studio)
        finally:
            running.close()


def measure(args: argparse.Namespace, studio: Any) -> int:
    import logging

    import httpx
    from django.contrib.auth import get_user_model

    from videos_app.api.keys import api_key_create
    from videos_app.models import Video

    logging.getLogger("httpx").setLevel(logging.WARNING)
    studio.wait_running("worker")
    _, raw = api_key_create(user=get_user_model().objects.get(username="admin"), name="bench")
    client = httpx.Client(
        base_url=studio.url, headers={"Authorization": f"Bearer {raw}"}, timeout=60
    )
    log = studio.data_dir / "worker.log"
    breakdowns: list[dict[str, float]] = []

    def through_v1(seconds: int = args.seconds, keep: bool = True) -> Timing:
        start = time.perf_counter()
        response = client.post(
            "/v1/videos",
            json={"model": "sora-2", "prompt": PROMPT, "size": "1280x720", "seconds": str(seconds)},
        )
        answered = time.perf_counter()
        assert response.status_code == 200, response.text[:300]
        video_id = response.json()["id"]
        rows = Video.objects.filter(pk=video_id)
        while (status := rows.values_list("status", flat=True).get()) != "completed":
            assert status in ("queued", "in_progress"), status
            time.sleep(args.read_every)
        seen = time.perf_counter()
        if keep:
            video = rows.get()
            breakdowns.append(breakdown(video, log, answered - start, seen, time.time()))
        return seen - start, 0.0

    def ffmpeg() -> Timing:
        nice = ["nice", "-n", str(args.nice)] if args.nice else []
        with tempfile.TemporaryDirectory() as workdir:
            command = [*nice, *ffmpeg_command(Path(workdir) / "out.mp4", 1280, 720, args.seconds)]
            return timed(lambda: subprocess.run(command, check=True))

    def alone() -> Timing:
        """``LocalRenderer.run`` in this process: bench_render.py's measure."""
        job = spec(1280, 720, args.seconds, PROMPT, None)
        with tempfile.TemporaryDirectory() as workdir:
            renderer = LocalRenderer(nice=args.nice)
            return timed(lambda: renderer.run(job, workdir=Path(workdir), on_progress=print_none))

    through_v1(4, keep=False)  # warm the worker, the caches and the child's bytecode
    ffmpeg()
    load_before = os.getloadavg()[0]
    times: dict[str, list[float]] = {"v1": [], "alone": [], "ffmpeg": []}
    runs = {"v1": through_v1, "alone": alone, "ffmpeg": ffmpeg}
    order = list(runs)
    for rep in range(args.reps):  # interleaved, each in every place of the order in turn
        for name in order[rep % 3 :] + order[: rep % 3]:
            times[name].append(runs[name]()[0])
    v1, only, ff = (statistics.median(times[n]) for n in ("v1", "alone", "ffmpeg"))
    load = f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    report(args, v1, only, ff, breakdowns, load)
    return 0


def pages(args: argparse.Namespace) -> int:
    """Page requests while a render runs: ``GET /v1/videos?limit=20`` every 50 ms, on a
    studio whose child runs at niceness 0 and on one at 5 (both up; jobs alternate)."""
    import contextlib
    import logging

    import httpx

    from tests.live import live_studio

    logging.getLogger("httpx").setLevel(logging.WARNING)
    with (
        tempfile.TemporaryDirectory(prefix="studio-bench-ttv-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        clients = {}
        for nice in (0, 5):
            running = live_studio(Path(tmp) / f"nice{nice}", STUDIO_RENDER_NICE=str(nice))
            studio = next(running)
            stack.callback(running.close)
            studio.wait_running("worker")
            raw = studio.manage("createapikey", "admin", "--name", "bench").strip().split()[-1]
            clients[nice] = httpx.Client(
                base_url=studio.url, headers={"Authorization": f"Bearer {raw}"}, timeout=60
            )
        latencies: dict[int, list[float]] = {0: [], 5: []}
        totals: dict[int, list[float]] = {0: [], 5: []}
        for rep in range(args.reps + 1):
            for nice in (0, 5) if rep % 2 == 0 else (5, 0):
                client = clients[nice]
                start = time.perf_counter()
                video_id = client.post(
                    "/v1/videos",
                    json={
                        "model": "sora-2",
                        "prompt": PROMPT,
                        "size": "1280x720",
                        "seconds": str(args.seconds),
                    },
                ).json()["id"]
                probes: list[float] = []
                while True:
                    t = time.perf_counter()
                    assert client.get("/v1/videos", params={"limit": 20}).status_code == 200
                    probes.append(time.perf_counter() - t)
                    if client.get(f"/v1/videos/{video_id}").json()["status"] == "completed":
                        break
                    time.sleep(0.05)
                if rep:  # the first round warms both studios
                    latencies[nice] += probes
                    totals[nice].append(time.perf_counter() - start)
    print(f"page requests during a {args.seconds} s 1280x720 render ({time.strftime('%Y-%m-%d')})")
    print("| child niceness | page p50 | page p95 | page max | time to video (median) |")
    print("|---|---|---|---|---|")
    for nice in (0, 5):
        values = sorted(latencies[nice])
        p95 = values[int(0.95 * (len(values) - 1))]
        print(
            f"| {nice} | {statistics.median(values) * 1000:.0f} ms | {p95 * 1000:.0f} ms "
            f"| {values[-1] * 1000:.0f} ms | {statistics.median(totals[nice]):.2f} s |"
        )
    return 0


def print_none(percent: int) -> None:
    pass


def breakdown(
    video: Any, log: Path, request: float, seen_perf: float, seen_wall: float
) -> dict[str, float]:
    child, job = log_spans(log, video.pk)
    run = job["run"]
    child_total = sum(child.values())
    seen_at = seen_wall - (time.perf_counter() - seen_perf)
    seen_lag = max(0.0, seen_at - video.completed_at.timestamp())
    return {
        "request": request,
        "pick-up": (video.started_at - video.created_at).total_seconds(),
        "child start": child.get("start", 0.0),
        "render": child.get("render", 0.0),
        "previews": child.get("previews", 0.0),
        "child exit": child.get("exit", 0.0),
        "staging + move": run - child_total,
        "store": job["store"],
        "seen": seen_lag,
    }


def log_spans(log: Path, video_id: str) -> tuple[dict[str, float], dict[str, float]]:
    """The worker's two timing lines for this video (written just after it completed)."""
    deadline = time.monotonic() + 5
    while True:
        text = log.read_text()
        child = re.search(rf"video {video_id} child: (.*)", text)
        job = re.search(rf"video {video_id} job: (.*)", text)
        if child and job:
            return spans(child.group(1)), spans(job.group(1))
        if time.monotonic() > deadline:
            raise RuntimeError(f"no timing lines for {video_id} in {log}")
        time.sleep(0.05)


def spans(text: str) -> dict[str, float]:
    return {k: float(v) for k, v in re.findall(r"(\S+)=([\d.]+)s", text)}


def report(
    args: argparse.Namespace,
    v1: float,
    only: float,
    ff: float,
    breakdowns: list[dict[str, float]],
    load: str,
) -> None:
    import shlex

    ratio = v1 / ff
    verdict = "PASS" if ratio <= 1.3 else "FAIL"
    database = "PostgreSQL + Redis" if os.environ.get("DATABASE_URL") else "SQLite (ORM broker)"
    command = " ".join(shlex.quote(p) for p in ffmpeg_command(Path("out.mp4"), 1280, 720, 12))
    print(f"# Time to video ({time.strftime('%Y-%m-%d')}; {database}; {machine()}; {load})")
    print(f"ffmpeg: {command}")
    print()
    print(f"child niceness {args.nice} (ffmpeg and the render alone at the same)")
    print()
    print(
        f"| {args.seconds} s 1280x720, medians of {args.reps} | /v1 create → completed "
        "| render alone | ffmpeg CLI | /v1 ÷ ffmpeg (≤ 1.3) | render alone ÷ ffmpeg |"
    )
    print("|---|---|---|---|---|---|")
    print(
        f"| {database} | {v1:.2f} s | {only:.2f} s | {ff:.2f} s | **{ratio:.2f}x** {verdict} "
        f"| {only / ff:.2f}x |"
    )
    print()
    print("| stage of the /v1 job | median | share of the ffmpeg time |")
    print("|---|---|---|")
    for stage in STAGES:
        value = statistics.median(b[stage] for b in breakdowns)
        print(f"| {stage} | {value * 1000:.0f} ms | {value / ff:.1%} |")
    outside = statistics.median(
        sum(b[s] for s in STAGES if s not in ("render", "previews")) for b in breakdowns
    )
    print(f"| everything but render and previews | {outside * 1000:.0f} ms | {outside / ff:.1%} |")


if __name__ == "__main__":
    sys.exit(main())
