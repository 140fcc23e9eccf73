"""/healthz latency while sign-ins are being guessed, with and without the hashing bound.

Two live studios as `make run` serves them (gunicorn gthread, 2 processes x 4 threads,
Django's real PBKDF2 hasher), side by side in one run: one with password hashing
unbounded (STUDIO_SIGNIN_CONCURRENCY=4, every thread may hash), one with the default
bound (2 per process). In each, /healthz is timed idle, then while 8 clients post wrong
passwords as fast as they can (the lockout is raised out of the way, so this measures the
hashing and not django-axes). Prints the medians, the 99th percentiles and their ratios
to idle.

    .venv/bin/python bench/bench_signin.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.live import LiveStudio, live_studio

GUESSERS = 8
SAMPLES = 150


def healthz_latencies(studio: LiveStudio, n: int = SAMPLES) -> list[float]:
    times = []
    with httpx.Client(base_url=studio.url, timeout=60) as client:
        for _ in range(n):
            start = time.perf_counter()
            assert client.get("/healthz").status_code == 200
            times.append(time.perf_counter() - start)
            time.sleep(0.01)
    return times


def guess(studio: LiveStudio, stop: threading.Event, answers: list[int]) -> None:
    with httpx.Client(base_url=studio.url, timeout=60) as client:
        page = client.get("/login/")
        token = page.cookies["csrftoken"]
        while not stop.is_set():
            response = client.post(
                "/login/",
                data={"username": "admin", "password": "wrong", "csrfmiddlewaretoken": token},
            )
            answers.append(response.status_code)


def measure(concurrency: str | None) -> dict[str, float]:
    env = {"STUDIO_SIGNIN_FAILURES": "1000000"}
    if concurrency:
        env["STUDIO_SIGNIN_CONCURRENCY"] = concurrency
    with tempfile.TemporaryDirectory() as tmp:
        running = live_studio(Path(tmp), **env)
        studio = next(running)
        try:
            studio.kill_worker()  # not needed
            idle = healthz_latencies(studio)
            stop, answers = threading.Event(), []
            threads = [
                threading.Thread(target=guess, args=(studio, stop, answers))
                for _ in range(GUESSERS)
            ]
            for thread in threads:
                thread.start()
            time.sleep(2)
            busy = healthz_latencies(studio)
            stop.set()
            for thread in threads:
                thread.join()
        finally:
            running.close()
    p99 = lambda xs: sorted(xs)[int(len(xs) * 0.99) - 1]  # noqa: E731
    return {
        "idle_p50": statistics.median(idle),
        "idle_p99": p99(idle),
        "busy_p50": statistics.median(busy),
        "busy_p99": p99(busy),
        "guesses": len(answers),
        "refused_busy": answers.count(429),
    }


def main() -> int:
    print(f"/healthz during {GUESSERS} clients guessing passwords; {os.cpu_count()} cores")
    print(
        "| hashing | idle p50 | idle p99 | during p50 | during p99 | p99 / idle p99 | "
        "sign-ins answered (429: busy) |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, concurrency in (("unbounded (4 per process)", "4"), ("bounded (default, 2)", None)):
        r = measure(concurrency)
        print(
            f"| {label} | {r['idle_p50'] * 1e3:.1f} ms | {r['idle_p99'] * 1e3:.1f} ms | "
            f"{r['busy_p50'] * 1e3:.1f} ms | {r['busy_p99'] * 1e3:.1f} ms | "
            f"{r['busy_p99'] / r['idle_p99']:.1f}x | {r['guesses']:.0f} "
            f"({r['refused_busy']:.0f}) |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
