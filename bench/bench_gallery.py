"""The gallery and the /v1 list at 100 and at 100,000 videos, on a live studio, with 20
clients at once: p50 / p99 per request, their ratio, and queries per page.

Run: .venv/bin/python bench/bench_gallery.py [--large N] [--clients 20] [--requests 5]
                                                [--cases favorites,search]
     bin/with-services .venv/bin/python bench/bench_gallery.py   (PostgreSQL + Redis)

Two studios (gunicorn as ``make run`` starts it: 2 workers of 4 threads; tests/live.py),
each with its own database (a SQLite file, or a fresh PostgreSQL database), run side by
side: one holds 100 videos, the other 100,000 (or N), inserted with bulk_create by a
child process (``--seed``), which also counts each case's queries through Django's test
client. For every case, both studios are loaded in turn, twice, by ``--clients`` threads
that each send ``--requests`` requests on their own keep-alive connection, signed in as a
team member (not staff: the visibility rule is part of every query); /v1 uses an API key.
Exits non-zero when a case's queries differ between the two sizes.

Like for like: the small studio is seeded so that every case fills its page (24 cards,
page 3 of the search included), as the large one does; drawn like the large one, 100
videos would give a narrow filter 2 to 5 cards, and a ratio against a page that renders
a fifth of the cards says more about the cards than about the table (``fill_pages``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ROUNDS = 2  # each studio is loaded this many times per case, alternating
PASSWORD = "bench-gallery-password-1"
WORDS = [
    *("lighthouse", "cliff", "dusk", "waves", "neon", "city", "night", "towers", "fog"),
    *("pine", "forest", "birds", "balloon", "wheat", "field", "paper", "boat", "rain"),
    *("gutter", "desert", "dunes", "glacier", "aurora", "harbour", "market", "crowd"),
    *("train", "bridge", "river", "canyon", "storm", "lantern", "festival", "robot"),
    *("garden", "snow", "mountain", "cat", "skateboard"),
]
SIZES = ("720x1280", "1280x720", "1024x1792", "1792x1024")
SECONDS = (4, 8, 12, 16, 20)
STATUSES = ("completed",) * 17 + ("failed", "queued", "in_progress")
REVIEWS = ("draft", "draft", "in_review", "approved", "rejected")
OPERATIONS = ("create", "create", "create", "remix", "extend", "edit")

HTMX = {"HX-Request": "true"}
# (name, path, htmx?) ; "api" marks the /v1 list (key, not session)
CASES: list[tuple[str, str, bool]] = [
    ("gallery", "/", False),
    ("gallery", "/", True),
    ("filter: status", "/?status=completed", False),
    ("filter: status", "/?status=completed", True),
    ("filter: team + longest", "/?team=crew&sort=longest", True),
    ("filter: review + operation", "/?review=approved&operation=remix", True),
    ("filter: favorites", "/?favorites=1", True),
    ("search a common word", "/?q=lighthouse", False),
    ("search a common word", "/?q=lighthouse", True),
    ("search words + filter", "/?q=neon+city&status=completed", True),
    ("search, page 3", "/?q=lighthouse&page=3", True),
    ("/v1 list", "/v1/videos?limit=100", False),
]


# -- the child: fills one studio's database and counts queries --------------------------


def fill_pages(i: int, video: Any) -> None:
    """Make video ``i`` of the small studio match the narrow cases, so that each fills a
    page: every prompt has the common word (page 3 of its search needs 72 visible
    matches), every other one "neon city", the rest are approved remixes; the viewer
    stars every other video (``seed``)."""
    video.prompt = video.prompt.replace("A ", "A lighthouse ", 1)
    if i % 2 == 0:
        video.prompt += " neon city"
    else:
        video.review_state, video.operation = "approved", "remix"


def seed(total: int, fill: bool) -> None:
    """Fill the database of this process's settings; print the API key and query counts."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from videos_app.api.keys import api_key_create
    from videos_app.models import Favorite, Membership, Team, Video

    started = time.perf_counter()
    User = get_user_model()
    members = [User(username=f"member{i}", password="!") for i in range(20)]
    User.objects.bulk_create(members)
    members = list(User.objects.filter(username__startswith="member").order_by("pk"))
    viewer = User.objects.create_user("bench", password=PASSWORD)
    crew = Team.objects.create(name="Crew", slug="crew")
    other = Team.objects.create(name="Others", slug="others")
    Membership.objects.bulk_create(
        [Membership(team=crew, user=u, role="editor") for u in [*members, viewer]]
    )
    rng = random.Random(7)
    batch: list[Video] = []
    for i in range(total):
        status = rng.choice(STATUSES)
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14)))
        batch.append(
            Video(
                owner=members[i % 20],
                # One in ten is another team's: invisible to the viewer, still in the table.
                team=other if i % 10 == 9 else crew,
                prompt="A " + words + (" zeppelin" if i % 1000 == 50 else ""),
                model=rng.choice(("sora-2", "sora-2-pro")),
                size=rng.choice(SIZES),
                seconds=rng.choice(SECONDS),
                operation=rng.choice(OPERATIONS),
                status=status,
                progress=100 if status == "completed" else 40,
                review_state=rng.choice(REVIEWS),
                provider="gateway",
                cost_estimate=rng.choice((None, "0.40", "1.20", "2.00")),
                thumbnail_file=f"videos/v{i}/thumbnail.webp",
                spritesheet_file=f"videos/v{i}/spritesheet.jpg",
            )
        )
        if fill:
            fill_pages(i, batch[-1])
        if len(batch) == 2000 or i == total - 1:
            Video.objects.bulk_create(batch)
            batch = []
    # Creation times a year apart at most, in insertion order as in real use (auto_now_add
    # set them all to now); review times at random.
    step = 31_536_000 // max(total, 1)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "WITH o AS (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n "
                "FROM videos_app_video) UPDATE videos_app_video v SET "
                "created_at = now() - ((%s - o.n) * %s) * interval '1 second', "
                "review_changed_at = CASE WHEN review_state = 'draft' THEN NULL "
                "ELSE now() - random() * interval '365 days' END FROM o WHERE o.id = v.id",
                [total, step],
            )
        else:
            cursor.execute("SELECT max(rowid) FROM videos_app_video")
            (last,) = cursor.fetchone()
            cursor.execute(
                "UPDATE videos_app_video SET "
                "created_at = datetime('now', '-' || ((%s - rowid) * %s) || ' seconds'), "
                "review_changed_at = CASE WHEN review_state = 'draft' THEN NULL "
                "ELSE datetime('now', '-' || (abs(random()) % 31536000) || ' seconds') END",
                [last, step],
            )
    favorites = Video.objects.filter(team=crew).values_list("pk", flat=True)[:: 2 if fill else 20]
    Favorite.objects.bulk_create([Favorite(user=viewer, video_id=pk) for pk in favorites])
    # Then what a running database has: statistics for the planner (of the favorites
    # too) and, on PostgreSQL, the row versions the UPDATE left behind vacuumed away, as
    # autovacuum would (they doubled what a bitmap scan of the search index visits).
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    _, key = api_key_create(user=viewer, name="bench")
    seeded = time.perf_counter() - started

    settings.ALLOWED_HOSTS = ["testserver"]
    client = Client()
    client.force_login(viewer)
    counts: dict[str, int] = {}
    cards: dict[str, int] = {}
    for name, path, htmx in CASES:
        headers = {"Authorization": f"Bearer {key}"} if path.startswith("/v1") else {}
        headers.update(HTMX if htmx else {})
        web = Client() if path.startswith("/v1") else client
        web.get(path, headers=headers)  # warm: the session, the user cache
        with CaptureQueriesContext(connection) as ctx:
            response = web.get(path, headers=headers)
        assert response.status_code == 200, (path, response.status_code)
        counts[f"{name}|{htmx}"] = len(ctx)
        body = response.content.decode()
        shown = (
            len(json.loads(body)["data"])
            if path.startswith("/v1")
            else body.count('<article class="card')
        )
        cards[f"{name}|{htmx}"] = shown
    print(json.dumps({"key": key, "queries": counts, "cards": cards, "seeded_s": seeded}))


# -- the parent: two live studios, loaded side by side ----------------------------------


@contextmanager
def studio_with(total: int, tmp: Path, *, fill: bool) -> Iterator[tuple[Any, dict[str, Any]]]:
    from tests.live import live_studio

    extra = {}
    if os.environ.get("REDIS_URL"):
        # A Redis database of its own: both studios' user ids are the same, and the user
        # cache would hand one studio's row (another password hash) to the other.
        import redis

        url = os.environ["REDIS_URL"].rsplit("/", 1)[0] + f"/{8 if total > 1000 else 9}"
        redis.Redis.from_url(url).flushdb()
        extra["REDIS_URL"] = url
    running = live_studio(tmp, **extra)
    studio = next(running)
    try:
        # Only the web server is measured: no worker takes CPU from it.
        studio.stop_worker()
        if studio.housekeeper is not None:
            os.killpg(studio.housekeeper.pid, 15)
            studio.housekeeper.wait()
        out = subprocess.run(
            [sys.executable, __file__, "--seed", str(total), *(["--fill"] if fill else [])],
            cwd=ROOT,
            env=studio.env,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        if out.returncode:
            raise SystemExit(out.stderr[-3000:])
        yield studio, json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        running.close()


def signed_in_cookie(studio: Any) -> str:
    import httpx

    with httpx.Client(base_url=studio.url, timeout=30) as client:
        token = client.get("/login/").cookies["csrftoken"]
        response = client.post(
            "/login/",
            data={"username": "bench", "password": PASSWORD, "csrfmiddlewaretoken": token},
        )
        assert response.status_code == 302, response.text[:300]
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def load(url: str, path: str, headers: dict[str, str], clients: int, each: int) -> list[float]:
    """``clients`` threads at once, ``each`` requests apiece: seconds per request."""
    import httpx

    times: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client() -> None:
        mine = []
        with httpx.Client(base_url=url, timeout=120, headers=headers) as http:
            http.get("/healthz")  # the connection, opened before the clock starts
            start.wait()
            for _ in range(each):
                t = time.perf_counter()
                response = http.get(path)
                mine.append(time.perf_counter() - t)
                assert response.status_code == 200, (path, response.status_code)
        with lock:
            times.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=5, help="per client, per round")
    parser.add_argument("--cases", default="", help="only the cases whose names hold one of these")
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--fill", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed is not None:
        seed(args.seed, args.fill)
        return 0
    wanted = [word for word in args.cases.split(",") if word]
    cases = [case for case in CASES if not wanted or any(w in case[0] for w in wanted)]

    from bench.common import cpu_line

    database = "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite"
    with tempfile.TemporaryDirectory() as small_tmp, tempfile.TemporaryDirectory() as large_tmp:
        started = time.perf_counter()
        with (
            studio_with(args.small, Path(small_tmp), fill=True) as (small, small_info),
            studio_with(args.large, Path(large_tmp), fill=False) as (large, large_info),
        ):
            print(
                f"{database}; seeded {args.small:,} and {args.large:,} videos in "
                f"{time.perf_counter() - started:.0f} s; machine: {cpu_line()}"
            )
            print(
                f"{args.clients} clients at once, {args.requests} requests each, "
                f"{ROUNDS} rounds per studio (alternating); ms per request\n"
            )
            studios = [(small, small_info, signed_in_cookie(small)),
                       (large, large_info, signed_in_cookie(large))]  # fmt: skip
            print(
                f"| case | page | p50 {args.small:,} | p50 {args.large:,} | p50 ratio | "
                f"p99 {args.small:,} | p99 {args.large:,} | p99 ratio | queries | cards |"
            )
            print("|---|---|---|---|---|---|---|---|---|---|")
            same = True
            worst = 0.0
            for name, path, htmx in cases:
                times: list[list[float]] = [[], []]
                for _ in range(ROUNDS):
                    for i, (studio, info, cookie) in enumerate(studios):
                        if path.startswith("/v1"):
                            headers = {"Authorization": f"Bearer {info['key']}"}
                        else:
                            headers = {"Cookie": cookie, **(HTMX if htmx else {})}
                        times[i] += load(studio.url, path, headers, args.clients, args.requests)
                key = f"{name}|{htmx}"
                q_small, q_large = small_info["queries"][key], large_info["queries"][key]
                cards = small_info["cards"][key], large_info["cards"][key]
                same &= q_small == q_large
                p50 = [statistics.median(t) * 1e3 for t in times]
                p99 = [pct(t, 0.99) * 1e3 for t in times]
                worst = max(worst, p50[1] / p50[0], p99[1] / p99[0])
                kind = "api" if path.startswith("/v1") else ("htmx" if htmx else "full")
                print(
                    f"| {name} | {kind} | {p50[0]:.1f} | {p50[1]:.1f} | {p50[1] / p50[0]:.2f}x | "
                    f"{p99[0]:.1f} | {p99[1]:.1f} | {p99[1] / p99[0]:.2f}x | "
                    f"{q_small} / {q_large} | {cards[0]} / {cards[1]} |",
                    flush=True,
                )
            print(f"\nworst ratio: {worst:.2f}x; queries constant: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
