"""A live studio whose jobs run on a second live studio (its /v1 is the upstream).

Both are real (gunicorn + django-q2 worker on loopback). The main studio's worker is
SIGKILLed while it polls; the job must still complete with exactly one create upstream
(counted in the upstream studio's own database) and one set of assets at home.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import ROOT, LiveStudio, live_studio
from videos_app.providers.openai_compatible import OpenAICompatibleProvider

pytestmark = pytest.mark.live

KEY_ENV = "STUDIO_TEST_UP_KEY"


def query(studio: LiveStudio, sql: str, *args: object) -> list[tuple[object, ...]]:
    """Read a live studio's database directly (cheaper than a manage.py shell): its
    SQLite file, or its PostgreSQL database when the suite runs on PostgreSQL."""
    url = studio.env.get("DATABASE_URL")
    if url:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            return conn.execute(sql.replace("?", "%s"), args).fetchall()  # type: ignore[arg-type]
    path = studio.data_dir / "studio.sqlite3"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=20) as conn:
        return conn.execute(sql, args).fetchall()


def video_row(studio: LiveStudio, video_id: str) -> dict[str, object]:
    rows = query(
        studio,
        "select status, provider_job_id, attempts, error_code, error_message, create_sent_at "
        "from videos_app_video where id = ?",
        video_id,
    )
    keys = ("status", "provider_job_id", "attempts", "error_code", "error_message",
            "create_sent_at")  # fmt: skip
    return dict(zip(keys, rows[0], strict=True))


def wait_for(
    studio: LiveStudio, video_id: str, check: str, timeout: float = 180
) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = video_row(studio, video_id)
        if check == "polling" and row["provider_job_id"] and row["status"] == "in_progress":
            return row
        if check == "finished" and row["status"] in ("completed", "failed"):
            return row
        time.sleep(0.2)
    raise AssertionError(f"{video_id} never got {check}: {row}\n{studio.tail()}")


def upstream_count(upstream: LiveStudio) -> int:
    return int(query(upstream, "select count(*) from videos_app_video")[0][0])  # type: ignore[arg-type]


def redis_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveStudio, str]]:
    for studio in live_studio(tmp_path_factory.mktemp("upstream")):
        key = studio.manage("createapikey", "admin", "--name", "main studio").strip()
        yield studio, key


def main_studio(tmp: Path, upstream: tuple[LiveStudio, str], **env: str) -> Iterator[LiveStudio]:
    up, key = upstream
    for studio in live_studio(tmp, STUDIO_HEARTBEAT_STALE="3", **{KEY_ENV: key}, **env):
        studio.manage(
            "shell", "--no-imports", "-c",
            "from videos_app.models import Provider; Provider.objects.update_or_create("
            f"name='upstudio', defaults=dict(kind='openai_compatible', base_url='{up.url}/v1', "
            f"api_key_env='{KEY_ENV}', max_concurrency=4))\n"
            "from videos_app.models import ModelRoute\n"
            "ModelRoute.objects.update_or_create(name='up-sora', defaults=dict("
            "provider=Provider.objects.get(name='upstudio'), upstream_model='sora-2'))",
        )  # fmt: skip
        yield studio


@pytest.fixture(scope="module")
def main(tmp_path_factory: pytest.TempPathFactory, upstream: tuple[LiveStudio, str]
         ) -> Iterator[LiveStudio]:  # fmt: skip
    yield from main_studio(tmp_path_factory.mktemp("main"), upstream)


def new_job(studio: LiveStudio, *, enqueue: bool = True, **fields: object) -> str:
    fields = {"prompt": "a paper boat on a stream", "size": "1280x720", "seconds": 4, **fields}
    assignments = ", ".join(f"{k}={v!r}" for k, v in fields.items())
    out = studio.manage(
        "shell", "--no-imports", "-c",
        "from django.contrib.auth import get_user_model\n"
        "from videos_app.models import Video\n"
        "from videos_app import services\n"
        "v = Video.objects.create(owner=get_user_model().objects.get(username='admin'), "
        f"provider='upstudio', provider_model='sora-2', model='sora-2', {assignments})\n"
        + ("services.video_enqueue(video_id=v.pk)\n" if enqueue else "")
        + "print(v.pk)",
    )  # fmt: skip
    return out.strip().splitlines()[-1]


def asset_names(studio: LiveStudio, video_id: str) -> list[str]:
    return sorted(p.name for p in (studio.data_dir / "media" / "videos" / video_id).iterdir())


def test_every_operation_runs_on_the_upstream_studio(
    main: LiveStudio, upstream: tuple[LiveStudio, str], tmp_path: Path
) -> None:
    up, key = upstream
    before = upstream_count(up)
    source = new_job(main)
    row = wait_for(main, source, "finished")
    assert row["status"] == "completed", (row, main.tail())
    assert asset_names(main, source) == ["spritesheet.jpg", "thumbnail.webp", "video.mp4"]
    derived = {
        "remix": new_job(main, operation="remix", source_id=source, prompt="a paper boat at dusk"),
        "edit": new_job(
            main, operation="edit", source_id=source, prompt="mirror it and add falling leaves"
        ),
        "extend": new_job(
            main,
            operation="extend",
            source_id=source,
            prompt="the boat sails on",
            seconds=8,
            segment_seconds=4,
        ),
    }
    for operation, video_id in derived.items():
        row = wait_for(main, video_id, "finished")
        assert row["status"] == "completed", (operation, row, main.tail())
        assert asset_names(main, video_id) == ["spritesheet.jpg", "thumbnail.webp", "video.mp4"]
    assert upstream_count(up) == before + 4
    source_upstream = video_row(main, source)["provider_job_id"]
    remixed = query(
        up,
        "select remixed_from_video_id, operation from videos_app_video where id = ?",
        video_row(main, derived["remix"])["provider_job_id"],
    )
    assert remixed == [(source_upstream, "remix")]
    extended = query(up, "select seconds, operation from videos_app_video where id = ?",
                     video_row(main, derived["extend"])["provider_job_id"])  # fmt: skip
    assert extended == [(8, "extend")]
    # Retrieve, list, download and delete straight from the client.
    client = OpenAICompatibleProvider(name="upstudio", base_url=f"{up.url}/v1",
                                      api_key=lambda: key)  # fmt: skip
    remix_upstream = str(video_row(main, derived["remix"])["provider_job_id"])
    assert client.retrieve(remix_upstream).status == "completed"
    assert remix_upstream in {v.id for v in client.list_recent(since=0)}
    assert client.download(remix_upstream, "spritesheet", tmp_path / "s.jpg") > 0
    assert client.delete(remix_upstream) is True
    assert upstream_count(up) == before + 3
    # The key is in no log of the main studio.
    assert key not in main.tail()


def kill_while_polling_then_recover(
    main: LiveStudio, up: LiveStudio, *, by_schedule: bool = False
) -> None:
    """SIGKILL the worker mid-poll; recover by ``recoverjobs`` or by the sweeper's own
    django-q2 schedule (``by_schedule``: nothing but the restarted cluster acts)."""
    before = upstream_count(up)
    video_id = new_job(main, seconds=12, prompt="slow dolly over a harbour at dawn")
    polling = wait_for(main, video_id, "polling", timeout=60)
    upstream_status = query(up, "select status from videos_app_video where id = ?",
                            polling["provider_job_id"])[0][0]  # fmt: skip
    assert upstream_status in ("queued", "in_progress"), "killed too late to prove anything"
    main.kill_worker()
    time.sleep(3.5)  # the heartbeat goes stale (STUDIO_HEARTBEAT_STALE=3)
    if not by_schedule:
        assert video_id in main.manage("recoverjobs")  # what the sweeper's schedule runs
    main.start_worker()
    row = wait_for(main, video_id, "finished", timeout=240)
    assert row["status"] == "completed", (row, main.tail())
    assert row["attempts"] == 2 and row["provider_job_id"] == polling["provider_job_id"]
    assert upstream_count(up) == before + 1  # exactly one create upstream
    assert asset_names(main, video_id) == ["spritesheet.jpg", "thumbnail.webp", "video.mp4"]
    assert main.leftover_work_folders() == []


def test_a_job_survives_its_worker_being_killed_while_polling(
    main: LiveStudio, upstream: tuple[LiveStudio, str]
) -> None:
    kill_while_polling_then_recover(main, upstream[0])


def test_with_the_redis_broker_a_lost_task_is_recovered_by_the_sweeper(
    tmp_path: Path, upstream: tuple[LiveStudio, str]
) -> None:
    if not redis_available():
        if os.environ.get("STUDIO_REQUIRE_SERVICES") == "1":
            pytest.fail(
                "Redis is required (STUDIO_REQUIRE_SERVICES=1) but 127.0.0.1:6379 is closed"
            )
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    for main in main_studio(tmp_path, upstream, REDIS_URL="redis://127.0.0.1:6379/11"):
        # The Redis broker dropped the killed worker's task: only the schedule brings
        # the job back.
        kill_while_polling_then_recover(main, upstream[0], by_schedule=True)
        log = (main.data_dir / "housekeeper.log").read_text()  # the sweep's cluster
        assert "requeueing video" in log, main.tail()


def test_the_same_task_run_twice_at_once_creates_once(
    main: LiveStudio, upstream: tuple[LiveStudio, str]
) -> None:
    up, _ = upstream
    before = upstream_count(up)
    video_id = new_job(main, enqueue=False, prompt="two workers, one boat")
    code = f"from videos_app.tasks import render_video; render_video('{video_id}')"
    command = [sys.executable, "manage.py", "shell", "--no-imports", "-c", code]
    results: list[subprocess.CompletedProcess[str]] = []

    def run() -> None:
        results.append(subprocess.run(command, cwd=ROOT, env=main.env, capture_output=True,
                                      text=True, timeout=240, check=False))  # fmt: skip

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.returncode for r in results] == [0, 0], [r.stderr[-2000:] for r in results]
    row = video_row(main, video_id)
    assert (row["status"], row["attempts"]) == ("completed", 1), row
    assert upstream_count(up) == before + 1
    assert asset_names(main, video_id) == ["spritesheet.jpg", "thumbnail.webp", "video.mp4"]


def test_queue_health_sees_a_dead_worker_cluster(
    main: LiveStudio, upstream: tuple[LiveStudio, str]
) -> None:
    ok = httpx.get(f"{main.url}/healthz/queue", timeout=10)
    assert ok.status_code == 200, ok.text
    assert ok.json()["queue"] == "ok" and ok.json()["clusters"] >= 1
    main.kill_worker()
    try:
        video_id = new_job(main, prompt="nobody is listening")
        deadline = time.monotonic() + 30
        while (stalled := httpx.get(f"{main.url}/healthz/queue", timeout=10)).status_code != 503:
            assert time.monotonic() < deadline, stalled.text  # cluster stats expire in seconds
            time.sleep(0.5)
        body = stalled.json()
        assert body["queue"] == "stalled" and body["clusters"] == 0 and body["waiting_tasks"] >= 1
        command = subprocess.run(
            [sys.executable, "manage.py", "queuehealth"], cwd=ROOT, env=main.env,
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert command.returncode == 1
        assert "no worker cluster is running" in command.stderr
    finally:
        main.start_worker()
    assert wait_for(main, video_id, "finished")["status"] == "completed"
    deadline = time.monotonic() + 30
    while httpx.get(f"{main.url}/healthz/queue", timeout=10).status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.5)


def test_a_model_routed_upstream_runs_there_through_the_api(
    main: LiveStudio, upstream: tuple[LiveStudio, str]
) -> None:
    up, _ = upstream
    before = upstream_count(up)
    key = main.manage("createapikey", "admin", "--name", "api test").strip()
    api = httpx.Client(base_url=f"{main.url}/v1", timeout=30,
                       headers={"Authorization": f"Bearer {key}"})  # fmt: skip
    fields = {"prompt": "a lantern drifting on a lake", "model": "up-sora",
              "size": "1280x720", "seconds": "4"}  # fmt: skip
    created = api.post("/videos", files={k: (None, v) for k, v in fields.items()})
    assert created.status_code == 200, created.text
    video_id = created.json()["id"]
    assert wait_for(main, video_id, "finished")["status"] == "completed", main.tail()
    row = query(main, "select provider, provider_model from videos_app_video where id = ?",
                video_id)  # fmt: skip
    assert row == [("upstudio", "sora-2")]
    assert upstream_count(up) == before + 1
    assert query(up, "select model, size, seconds, prompt from videos_app_video "
                 "order by created_at desc limit 1") == [
        ("sora-2", "1280x720", 4, "a lantern drifting on a lake")
    ]  # fmt: skip
    assert api.get(f"/videos/{video_id}").json()["status"] == "completed"
    content = api.get(f"/videos/{video_id}/content")
    assert content.status_code == 200 and content.content[4:8] == b"ftyp"


def test_the_providers_concurrency_limit_holds_across_workers(
    main: LiveStudio, upstream: tuple[LiveStudio, str]
) -> None:
    set_limit = (
        "from videos_app.models import Provider; "
        "Provider.objects.filter(name='upstudio').update(max_concurrency={})"
    )
    main.manage("shell", "--no-imports", "-c", set_limit.format(1))
    try:
        ids = [new_job(main, prompt=f"one at a time {i}") for i in range(2)]
        most = 0
        deadline = time.monotonic() + 240
        while True:
            rows = [video_row(main, video_id) for video_id in ids]
            most = max(most, sum(r["status"] == "in_progress" for r in rows))
            if all(r["status"] in ("completed", "failed") for r in rows):
                break
            assert time.monotonic() < deadline, (rows, main.tail())
            time.sleep(0.1)
        assert [r["status"] for r in rows] == ["completed", "completed"], rows
        assert most == 1
        # The one that waited spent no attempt while it waited.
        assert sorted(r["attempts"] for r in rows) == [1, 1]
    finally:
        main.manage("shell", "--no-imports", "-c", set_limit.format(4))
