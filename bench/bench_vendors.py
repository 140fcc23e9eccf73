"""Each vendor engine's overhead per job, and the requests it sends per job.

Run: .venv/bin/python bench/bench_vendors.py [--render 10] [--jobs 3] [--kinds fal,runway]

One process, a fresh SQLite database in a temporary folder, each vendor's fake server of
the tests (tests/fakes/, on loopback) "rendering" every job for exactly ``--render``
seconds and answering with a video like a vendor's: H.264 (x264's defaults, B-frames) + AAC at
the job's size and length, 24 fps, moving everywhere (``--tiny``: the tests' 64x36 clip
instead). Jobs run through the real task (``tasks.render_video``: claim, create once,
poll, download the video, verify it by decoding, make the thumbnail and spritesheet at
home, store), all of a vendor's jobs at once in threads. No django-q2 broker: its pick-up
delay is not part of this number.

Per job, timed inside the runner:
- ``create``: from the task's start until the vendor has the job (claim, marking
  create_sent_at, the POST, committing the vendor's id);
- ``wait``: from the vendor finishing (create + render) to the studio starting to fetch:
  how soon a poll notices (the poll policy, not work);
- ``finish``: download, decode, previews, store, mark completed.
The studio's own overhead is ``create + finish``, as a share of the vendor's render time
(target: under 1%), and apart from it the thumbnail and spritesheet made at home
(``previews``: decoding the vendor's video, which no bookkeeping can avoid; ``w/o prev``
is the share without them). Each vendor's first job is run once before the timed ones and
reported apart: a worker process pays its imports, TLS set-up and first connection once,
not per job. Requests per job are counted at the fake, by endpoint.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["STUDIO_DATA_DIR"] = tempfile.mkdtemp(prefix="studio-bench-vendors-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

import django

django.setup()

import logging  # noqa: E402

logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise

import av  # noqa: E402
import numpy as np  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from bench.common import cpu_line  # noqa: E402
from tests import fake_upstream  # noqa: E402
from tests.fakes.vendors import KINDS, Vendor, running  # noqa: E402
from videos_app.jobs import remote  # noqa: E402
from videos_app.models import ModelRoute, Provider, Video  # noqa: E402
from videos_app.tasks import render_video  # noqa: E402

marks: dict[str, dict[str, float]] = {}
marks_lock = threading.Lock()
current = threading.local()  # the video id of the job this thread runs


def mark(video_id: str, what: str) -> None:
    with marks_lock:
        marks.setdefault(video_id, {})[what] = time.monotonic()


def instrument() -> None:
    """Time the runner's steps without changing them."""
    start, download = remote.RemoteJob.start, remote.RemoteJob.download

    def timed_start(self: remote.RemoteJob) -> str:
        result = start(self)
        mark(self.video.pk, "created")
        return result

    def timed_download(self: remote.RemoteJob, upstream_id: str, workdir: Path) -> Any:
        mark(self.video.pk, "fetch")
        return download(self, upstream_id, workdir)

    previews = remote.previews_from_video

    def timed_previews(video: Path, **kwargs: Any) -> None:
        began = time.monotonic()
        try:
            previews(video, **kwargs)
        finally:
            with marks_lock:
                marks[current.video_id]["previews"] = time.monotonic() - began

    remote.RemoteJob.start = timed_start  # type: ignore[method-assign]
    remote.RemoteJob.download = timed_download  # type: ignore[method-assign]
    remote.previews_from_video = timed_previews  # type: ignore[assignment]


FAKE_MODULES = {"gemini_omni": "gemini", "vertex_veo": "vertex", "fal": "fal",
                "runway": "runway", "openrouter": "openrouter"}  # fmt: skip


def vendor_like_video(size: str, seconds: int, fps: int = 24) -> bytes:
    """An MP4 like a vendor's result: x264's defaults (B-frames, few keyframes), AAC."""
    width, height = (int(n) for n in size.split("x"))
    buffer = io.BytesIO()
    yy, xx = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(7)
    with av.open(buffer, mode="w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        # About the bit rate vendors send (Veo's 720p: 4-6 MB for 8 s).
        video.options = {"preset": "veryfast", "crf": "23", "maxrate": "6M", "bufsize": "12M"}
        audio = container.add_stream("aac", rate=48000)
        audio.layout = "stereo"
        for i in range(seconds * fps):
            base = (xx + yy + i * 6) % 256
            rgb = np.stack([base, (xx * 2 - i * 3) % 256, (yy * 2 + i * 4) % 256], axis=-1)
            noise = rng.integers(0, 6, size=(height, width, 1))
            frame = av.VideoFrame.from_ndarray((rgb + noise).astype(np.uint8), format="rgb24")
            for packet in video.encode(frame):
                container.mux(packet)
        for n in range(seconds * 48000 // 1024):
            samples = np.zeros((2, 1024), dtype=np.float32)
            aframe = av.AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
            aframe.sample_rate, aframe.pts = 48000, n * 1024
            for packet in audio.encode(aframe):
                container.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode():
                container.mux(packet)
    return buffer.getvalue()


def serve_video(kind: str, data: bytes) -> None:
    """Make ``kind``'s fake answer with ``data`` as the job's video."""
    module = importlib.import_module(f"tests.fakes.{FAKE_MODULES[kind]}")
    assets = {**fake_upstream.sample_assets(), "video": data}
    module.sample_assets = lambda: assets  # type: ignore[attr-defined]


def run_vendor(vendor: Vendor, *, jobs: int, render: float, owner: Any) -> dict[str, Any]:
    row = dict(vendor.provider_row)
    for key, value in vendor.env.items():
        os.environ[key] = value
    provider, _ = Provider.objects.update_or_create(name=row.pop("name"), defaults=row)
    route, _ = ModelRoute.objects.update_or_create(
        name=f"{provider.name}-model",
        defaults={"provider": provider, "upstream_model": vendor.model},
    )
    provider.max_concurrency = jobs
    provider.save(update_fields=["max_concurrency"])
    calls_before = Counter(vendor.fake.calls)
    videos = [
        Video.objects.create(
            owner=owner,
            prompt=f"a harbour at dawn, take {i}",
            model=route.name,
            provider=provider.name,
            provider_model=vendor.model,
            size=vendor.size,
            seconds=vendor.seconds,
        )
        for i in range(jobs)
    ]

    def one(video: Video) -> None:
        current.video_id = video.pk
        mark(video.pk, "start")
        try:
            render_video(video.pk)
        finally:
            mark(video.pk, "end")
            connection.close()

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, videos))
    done = Video.objects.filter(pk__in=[v.pk for v in videos])
    failed = [(v.pk, v.error_code, v.error_message) for v in done if v.status != "completed"]
    if failed:
        raise SystemExit(f"{vendor.kind}: jobs failed: {failed}")
    rows = []
    for video in videos:
        m = marks[video.pk]
        create = m["created"] - m["start"]
        finish = m["end"] - m["fetch"]
        wait = m["fetch"] - (m["created"] + render)
        rows.append((create, wait, finish, m.get("previews", 0.0)))
    calls = Counter(vendor.fake.calls)
    calls.subtract(calls_before)
    per_job = {k: v / jobs for k, v in sorted(calls.items()) if v}
    own = [r[0] + r[2] for r in rows]
    bookkeeping = [r[0] + r[2] - r[3] for r in rows]
    return {
        "kind": vendor.kind,
        "create": statistics.median(r[0] for r in rows),
        "wait": statistics.median(r[1] for r in rows),
        "finish": statistics.median(r[2] for r in rows),
        "own": statistics.median(own),
        "own_max": max(own),
        "share": statistics.median(own) / render,
        "previews": statistics.median(r[3] for r in rows),
        "bookkeeping_share": statistics.median(bookkeeping) / render,
        "creates_per_job": vendor.creates() / jobs,
        "requests_per_job": per_job,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--render", type=float, default=10.0, help="seconds a job renders")
    parser.add_argument("--jobs", type=int, default=3, help="jobs per vendor, at once")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--tiny", action="store_true", help="the tests' 64x36 clip as the video")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    owner = get_user_model().objects.create_user("bench", password="bench-password-1")
    instrument()
    print(cpu_line())
    clip = "the 64x36 test clip" if args.tiny else "a vendor-like H.264 + AAC video"
    print(f"{args.jobs} jobs per vendor at once, each rendering {args.render:g} s; {clip}\n")
    print(f"{'vendor':<12} {'video':>15} {'create':>7} {'wait':>7} {'finish':>7} "
          f"{'previews':>8} {'own':>7} {'own/render':>10} {'w/o prev':>8} {'1st job':>7}  "
          "requests per job (at the fake)")  # fmt: skip
    with tempfile.TemporaryDirectory() as keys, contextlib.ExitStack() as stack:
        for kind in args.kinds.split(","):
            vendor = stack.enter_context(running(kind, Path(keys), render_seconds=0.2))
            video = f"{vendor.size} {vendor.seconds} s"
            if not args.tiny:
                serve_video(kind, vendor_like_video(vendor.size, vendor.seconds))
            first = run_vendor(vendor, jobs=1, render=0.2, owner=owner)
            vendor.set_render_seconds(args.render)
            result = run_vendor(vendor, jobs=args.jobs, render=args.render, owner=owner)
            requests = ", ".join(f"{k} {v:g}" for k, v in result["requests_per_job"].items())
            print(
                f"{kind:<12} {video if not args.tiny else '64x36 1 s':>15} "
                f"{result['create']:>6.3f}s {result['wait']:>6.2f}s "
                f"{result['finish']:>6.3f}s {result['previews']:>7.3f}s {result['own']:>6.3f}s "
                f"{result['share']:>9.2%} {result['bookkeeping_share']:>7.2%} "
                f"{first['own']:>6.3f}s  {requests}"
            )


if __name__ == "__main__":
    main()
