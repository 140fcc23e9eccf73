"""The gallery with version stacks at 100 and at 100,000 videos in stacks of 1-7 versions:
queries per page, the page's median time and their ratio, and the page's SQLite plan.

Run: .venv/bin/python bench/bench_stacks.py [--large N] [--requests 30]

Each size gets its own SQLite database (a temporary STUDIO_DATA_DIR, migrated), filled by
a child process with bulk_create: stacks of 1 to 7 versions (drawn evenly, so about a
quarter of the videos are a stack's latest), numbered and flagged as the studio's
receivers would. The child then reads each case through Django's test client (no HTTP, so
the time is the view's, queries and template), signed in as a team member, warm, and
times ``--requests`` reads; the two sizes' cases are read alternately, child by child.
Exits non-zero when a case's queries differ between the sizes, or when the large page's
plan sorts (``TEMP B-TREE``) or scans the video table.
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import cpu_line  # noqa: E402

CASES = [
    ("gallery", "/", False),
    ("gallery (htmx)", "/", True),
    ("every version", "/?versions=1", True),
    ("filter: status", "/?status=completed", True),
    ("filter: operation", "/?operation=remix", True),
    ("search a common word", "/?q=lighthouse", True),
]
WORDS = ("lighthouse", "cliff", "dusk", "neon", "city", "pine", "forest", "harbour", "storm")
OPERATIONS = ("remix", "extend", "edit")


def seed(total: int) -> None:
    """Migrate and fill this process's database with ``total`` videos in stacks."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from videos_app.models import Membership, Team, Video

    call_command("migrate", verbosity=0)
    User = get_user_model()
    viewer = User.objects.create_user("bench", password="bench-stacks-pw-1")
    User.objects.bulk_create([User(username=f"member{i}", password="!") for i in range(20)])
    members = list(User.objects.filter(username__startswith="member"))
    crew = Team.objects.create(name="Crew", slug="crew")
    Membership.objects.bulk_create(
        [Membership(team=crew, user=u, role="editor") for u in [*members, viewer]]
    )
    rng = random.Random(7)
    batch: list[Video] = []
    made = 0
    while made < total:
        size = min(rng.randint(1, 7), total - made)
        root = None
        for n in range(1, size + 1):
            video = Video(
                owner=members[made % 20],
                team=crew,
                prompt="A " + " ".join(rng.choice(WORDS) for _ in range(8)),
                operation="create" if n == 1 else rng.choice(OPERATIONS),
                status="completed" if rng.random() < 0.85 else "failed",
                progress=100,
                provider="gateway",
                thumbnail_file=f"videos/v{made}/thumbnail.webp",
            )
            root = root or video
            video.source_id = None if n == 1 else batch[-1].pk
            video.stack_root_id, video.stack_version = root.pk, n
            video.stack_latest = n == size
            batch.append(video)
            made += 1
        if len(batch) >= 2000 or made == total:
            Video.objects.bulk_create(batch)  # bulk_create sends no pre_save: set above
            batch = []
    # Creation times in insertion order, a year apart at most (auto_now_add made them equal).
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE videos_app_video SET created_at = "
            "datetime('now', '-' || ((%s - rowid) * %s) || ' seconds')",
            [total, 31_536_000 // max(total, 1)],
        )
        cursor.execute("ANALYZE")


def child(total: int, requests: int) -> None:
    """Seed, then print each case's queries, cards, median milliseconds and page plan."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from videos_app import selectors

    seed(total)
    settings.ALLOWED_HOSTS = ["testserver"]
    # Unhashed static names: the bench runs without collectstatic's manifest.
    static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    settings.STORAGES = {**settings.STORAGES, "staticfiles": static}
    user = get_user_model().objects.get(username="bench")
    client = Client()
    client.force_login(user)
    out: dict[str, dict[str, object]] = {}
    for name, path, htmx in CASES:
        headers = {"HX-Request": "true"} if htmx else {}
        client.get(path, headers=headers)  # warm: the session, the user cache
        with CaptureQueriesContext(connection) as ctx:
            body = client.get(path, headers=headers).content.decode()
        queries = len(ctx)  # now: each request's start empties the log it reads
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            client.get(path, headers=headers)
            times.append(time.perf_counter() - started)
        out[name] = {
            "queries": queries,
            "cards": body.count('<article class="card'),
            "ms": statistics.median(times) * 1000,
        }
    plans = {}
    for every in (False, True):
        with CaptureQueriesContext(connection) as ctx:
            filters = {"versions": every}
            selectors.gallery_page(selectors.video_gallery(user=user, filters=filters))
        for what, query in zip(("count", "page"), ctx.captured_queries[-2:], strict=True):
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN QUERY PLAN " + query["sql"])
                plans[f"{what}, {'every version' if every else 'latest'}"] = " | ".join(
                    row[3] for row in cursor.fetchall()
                )
    print(json.dumps({"cases": out, "plans": plans}))


def run_child(total: int, requests: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench-stacks-") as data:
        env = {**os.environ, "STUDIO_DATA_DIR": data}
        env.pop("DATABASE_URL", None)  # SQLite: the plan check reads SQLite's EXPLAIN
        args = [sys.executable, __file__, "--child", str(total), "--requests", str(requests)]
        result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
        if result.returncode:
            sys.exit(result.stderr[-4000:])
        return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--child", type=int)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.requests)
        return
    small, large = run_child(100, args.requests), run_child(args.large, args.requests)
    print(f"SQLite, {cpu_line()}; median of {args.requests} reads, test client")
    big = f"ms @{args.large}"
    print(f"{'case':24} {'queries':>9} {'cards':>9} {'ms @100':>9} {big:>10} ratio")
    failed = False
    for name, *_ in CASES:
        s, b = small["cases"][name], large["cases"][name]  # type: ignore[index]
        same = s["queries"] == b["queries"]
        failed |= not same
        ratio = b["ms"] / s["ms"]
        queries = f"{s['queries']}/{b['queries']}"
        cards = f"{s['cards']}/{b['cards']}"
        print(f"{name:24} {queries:>9} {cards:>9} {s['ms']:9.1f} {b['ms']:10.1f} {ratio:.2f}x")
    plans: dict[str, str] = large["plans"]  # type: ignore[assignment]
    for name, plan in plans.items():
        print(f"plan @{args.large}, {name}: {plan}")
    for what in ("count", "page"):
        # One card per stack adds no sort and no scan to the plan of every version.
        latest, every = plans[f"{what}, latest"], plans[f"{what}, every version"]
        failed |= "TEMP B-TREE" in latest and "TEMP B-TREE" not in every
        failed |= "AUTOMATIC" in latest or latest.count("SCAN") > every.count("SCAN")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
