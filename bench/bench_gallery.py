"""The gallery with filters and search at 100 and at 100,000 videos: time and queries.

Run: .venv/bin/python bench/bench_gallery.py [--large N]

Two SQLite files in a temporary folder, migrated, hold the same users and team and 100
and 100,000 (or N) videos, inserted with bulk_create (the search triggers keep the FTS5
index). A router sends every query to one file or the other, so both galleries are timed
side by side in one process, interleaved (bench/common.py): the full page and the htmx
fragment, for several filter combinations and searches, as a signed-in team member (not
staff: the visibility rule is part of every query). Query counts are read for both sizes;
they must be equal. The script exits non-zero if they are not.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["STUDIO_DATA_DIR"] = tempfile.mkdtemp(prefix="studio-bench-gallery-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connections, router  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench.common import Timing, cpu_line, interleaved  # noqa: E402
from videos_app.models import Favorite, Membership, Team, Video  # noqa: E402

REPS = 7  # interleaved rounds; each round times PER_ROUND requests
PER_ROUND = 5
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

CASES: list[tuple[str, str]] = [
    ("no filters", ""),
    ("status + size", "status=completed&size=1280x720"),
    ("team + longest", "team=crew&sort=longest"),
    ("review + operation + dates", "review=approved&operation=remix&from=2026-01-01&to=2026-12-31"),
    ("creator + oldest", "creator=member3&sort=oldest"),
    ("favorites", "favorites=1"),
    ("search a common word (1 in 5)", "q=lighthouse"),
    ("search a rare word (1 in 1,000)", "q=zeppelin"),
    ("search words + filter", "q=neon+city&status=completed"),
    ("search phrase, or, minus", 'q="pine forest" or glacier -storm'),
    ("search + recently reviewed", "q=harbour&sort=reviewed"),
    ("page 3, search", "q=lighthouse&page=3"),
]


class Router:
    """Every query goes to the alias in ``current`` (the bench switches it)."""

    current = "default"

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return self.current

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return self.current

    def allow_relation(self, *args: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, *args: Any, **hints: Any) -> bool:
        return True


ROUTER = Router()


def prompt(rng: random.Random) -> str:
    return "A " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14)))


def fill(alias: str, total: int) -> Client:
    """Users, a team, ``total`` videos and some favorites in ``alias``; a signed-in client."""
    ROUTER.current = alias
    call_command("migrate", database=alias, verbosity=0)
    User = get_user_model()
    members = [User.objects.create_user(f"member{i}") for i in range(20)]
    # The same password field in both files: the session's auth hash is derived from it,
    # and the user cache (auth.py) hands either file's row to both.
    viewer = User.objects.create(username="bench", password="!bench-unusable")
    crew = Team.objects.create(name="Crew", slug="crew")
    other = Team.objects.create(name="Others", slug="others")
    Membership.objects.bulk_create(
        [Membership(team=crew, user=u, role="editor") for u in [*members, viewer]]
    )
    rng = random.Random(7)
    batch: list[Video] = []
    for i in range(total):
        status = rng.choice(STATUSES)
        batch.append(
            Video(
                owner=members[i % 20],
                # One in ten is another team's: invisible to the viewer, still in the table.
                team=other if i % 10 == 9 else crew,
                prompt=prompt(rng) + (" zeppelin" if i % 1000 == 50 else ""),
                model=rng.choice(("sora-2", "sora-2-pro")),
                size=rng.choice(SIZES),
                seconds=rng.choice(SECONDS),
                operation=rng.choice(OPERATIONS),
                status=status,
                progress=100 if status == "completed" else 40,
                review_state=rng.choice(REVIEWS),
                thumbnail_file=f"videos/v{i}/thumbnail.webp",
                spritesheet_file=f"videos/v{i}/spritesheet.jpg",
            )
        )
        if len(batch) == 5000 or i == total - 1:
            Video.objects.bulk_create(batch)
            batch = []
    # Creation times a year apart at most, in insertion order as in real use (auto_now_add
    # set them all to now); review times at random.
    step = 31_536_000 // total
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT max(rowid) FROM videos_app_video")
        (last,) = cursor.fetchone()
        cursor.execute(
            "UPDATE videos_app_video SET "
            "created_at = datetime('now', '-' || ((%s - rowid) * %s) || ' seconds'), "
            "review_changed_at = CASE WHEN review_state = 'draft' THEN NULL "
            "ELSE datetime('now', '-' || (abs(random()) % 31536000) || ' seconds') END",
            [last, step],
        )
    favorites = Video.objects.filter(team=crew).values_list("pk", flat=True)[::20]
    Favorite.objects.bulk_create([Favorite(user=viewer, video_id=pk) for pk in favorites])
    with connections[alias].cursor() as cursor:
        cursor.execute("ANALYZE")
    client = Client()
    client.force_login(viewer)
    return client


def timed(alias: str, client: Client, url: str, headers: dict[str, str]) -> Callable[[], Timing]:
    def run() -> Timing:
        ROUTER.current = alias
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(PER_ROUND):
            response = client.get(url, headers=headers)
            assert response.status_code == 200, response.status_code
        return (
            (time.perf_counter() - wall) / PER_ROUND,
            (time.process_time() - cpu) / PER_ROUND,
        )

    return run


def queries(alias: str, client: Client, url: str, headers: dict[str, str]) -> tuple[int, int]:
    """(queries, videos on the page) for one request."""
    ROUTER.current = alias
    with CaptureQueriesContext(connections[alias]) as ctx:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, response.status_code
    body = response.content.decode()
    return len(ctx), body.count('<article class="card')


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=100)
    args = parser.parse_args()

    settings.ALLOWED_HOSTS = ["testserver"]
    data = Path(os.environ["STUDIO_DATA_DIR"])
    settings.DATABASES["large"] = {**settings.DATABASES["default"], "NAME": str(data / "l.db")}
    connections.settings = connections.configure_settings(settings.DATABASES)
    router.routers = [ROUTER]
    call_command("collectstatic", verbosity=0, interactive=False)

    started = time.perf_counter()
    clients = {"default": fill("default", args.small), "large": fill("large", args.large)}
    print(
        f"filled {args.small:,} and {args.large:,} videos in {time.perf_counter() - started:.0f} s"
    )
    for alias, want in (("default", args.small), ("large", args.large)):
        ROUTER.current = alias
        assert Video.objects.count() == want, (alias, Video.objects.count())

    print(f"machine: {cpu_line()}; SQLite {connections['default'].Database.sqlite_version}")
    print(f"median of {REPS} interleaved rounds of {PER_ROUND} requests; ms per request\n")
    header = (
        f"| case | page | {args.small:,} videos | {args.large:,} videos | ratio | "
        "queries (small / large) | cards |"
    )
    print(header)
    print("|---|---|---|---|---|---|---|")
    same_queries = True
    ratios = []
    for name, query in CASES:
        url = "/?" + query if query else "/"
        for kind, headers in (("full", {}), ("htmx", {"HX-Request": "true"})):
            queries("default", clients["default"], url, headers)  # warm: session, user cache
            queries("large", clients["large"], url, headers)
            small_q, small_cards = queries("default", clients["default"], url, headers)
            large_q, large_cards = queries("large", clients["large"], url, headers)
            same_queries &= small_q == large_q
            (small_t, _), (large_t, _) = interleaved(
                REPS,
                timed("default", clients["default"], url, headers),
                timed("large", clients["large"], url, headers),
            )
            ratio = large_t / small_t
            ratios.append(ratio)
            print(
                f"| {name} | {kind} | {small_t * 1e3:.2f} | {large_t * 1e3:.2f} | "
                f"{ratio:.2f}x | {small_q} / {large_q} | {small_cards} / {large_cards} |",
                flush=True,
            )
    ratios.sort()
    print(
        f"\nratio large / small: median {ratios[len(ratios) // 2]:.2f}x, "
        f"max {ratios[-1]:.2f}x; queries constant: {'yes' if same_queries else 'NO'}"
    )
    return 0 if same_queries else 1


if __name__ == "__main__":
    sys.exit(main())
