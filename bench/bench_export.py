"""Export memory: a zip of 100 and of 1,000 videos, streamed through the whole stack.

Run: .venv/bin/python bench/bench_export.py

Each size runs in a child process of its own (so that its peak RSS is its own): a fresh
SQLite database with N completed videos, each with a distinct 128 KiB file, one
``GET /export/`` (the whole gallery) through Django's test client (every middleware),
the streamed body consumed chunk by chunk and counted, never kept. It reports the zip's
size, the wall time, the RSS before the export and the highest RSS sampled while it
streams (/proc/self/status), the process's peak RSS (ru_maxrss, which includes setting
up), and, in a second pass, the tracemalloc peak of the export. The parent prints both
sizes side by side and their ratios: a zip built in memory would grow by ~128 KiB per
video (the file data); zipfile's own writer by ~0.85 KiB per video; this one by none.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = (100, 1000)
FILE_BYTES = 128 * 1024


def rss_kib() -> int:
    """The process's resident set size now (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def child(count: int) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    os.environ["STUDIO_DATA_DIR"] = tempfile.mkdtemp(prefix="studio-bench-export-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.core.management import call_command
    from django.test import Client

    from videos_app.models import Video

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    videos: list[Video] = []
    for i in range(count):
        video = Video(owner=user, prompt=f"video {i}", status="completed", provider="local")
        content = ContentFile(bytes([i % 256]) * FILE_BYTES)
        video.video_file.name = default_storage.save(f"videos/{video.pk}/video.mp4", content)
        video.file_size = FILE_BYTES
        videos.append(video)
        if len(videos) == 100:  # in batches, so that setting up does not set the peak
            Video.objects.bulk_create(videos)
            videos.clear()
    Video.objects.bulk_create(videos)
    del videos
    gc.collect()
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)

    def run() -> tuple[int, int, int]:
        """(zip bytes, chunks, the highest RSS seen while streaming, in KiB)."""
        response = client.get("/export/")
        assert response.status_code == 200, (response.status_code, response.get("Location"))
        total = chunks = highest = 0
        for chunk in response.streaming_content:
            total += len(chunk)
            chunks += 1
            if chunks % 10 == 0:
                highest = max(highest, rss_kib())
        response.close()
        return total, chunks, max(highest, rss_kib())

    run()  # warm up imports, templates and the connection
    gc.collect()
    rss_before = rss_kib()
    start = time.perf_counter()
    total, chunks, rss_highest = run()
    wall = time.perf_counter() - start
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    run()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "count": count,
        "zip_bytes": total,
        "chunks": chunks,
        "wall_s": wall,
        "rss_before_kib": rss_before,
        "rss_highest_kib": rss_highest,
        "max_rss_kib": max_rss,
        "traced_peak_bytes": traced_peak,
    }


def main() -> None:
    results = []
    for count in SIZES:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(count)],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    sys.path.insert(0, str(ROOT))
    from bench.common import cpu_line

    print(f"Machine: {cpu_line()}; {FILE_BYTES // 1024} KiB per video file")
    print(
        "| videos | zip | wall | RSS before | highest RSS while streaming | process peak RSS "
        "| tracemalloc peak |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['count']:,} | {r['zip_bytes'] / 2**20:,.1f} MiB | {r['wall_s']:.2f} s | "
            f"{r['rss_before_kib'] / 1024:.1f} MiB | {r['rss_highest_kib'] / 1024:.1f} MiB | "
            f"{r['max_rss_kib'] / 1024:.1f} MiB | {r['traced_peak_bytes'] / 2**20:.3f} MiB |"
        )
    few, many = results
    growth = [(r["rss_highest_kib"] - r["rss_before_kib"]) / 1024 for r in results]
    print(
        f"Ratios {many['count']:,} / {few['count']:,} videos: zip size "
        f"{many['zip_bytes'] / few['zip_bytes']:.2f}, highest RSS while streaming "
        f"{many['rss_highest_kib'] / few['rss_highest_kib']:.3f}, tracemalloc peak "
        f"{many['traced_peak_bytes'] / few['traced_peak_bytes']:.3f}; RSS growth during the "
        f"export: {growth[0]:+.1f} MiB and {growth[1]:+.1f} MiB"
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(child(int(sys.argv[2]))))
    else:
        main()
