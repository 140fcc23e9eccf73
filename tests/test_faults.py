"""Outages with real processes: the services stop and start, the worker is killed.

Every job that was waiting runs again within a minute of the service coming back, and
each completes exactly once (one set of files). The database and broker outages need
PostgreSQL and Redis (the suite's second pass); the killed worker runs on both passes.
These tests stop and start the machine's own PostgreSQL and Redis, as an operator's
restart would, and always start them again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import LiveStudio, free_port, live_studio
from tests.test_live import create_video

pytestmark = pytest.mark.live

ON_SERVICES = bool(os.environ.get("DATABASE_URL")) and bool(os.environ.get("REDIS_URL"))
needs_services = pytest.mark.skipif(
    not ON_SERVICES or os.geteuid() != 0 or shutil.which("pg_ctlcluster") is None,
    reason="stops and starts the machine's PostgreSQL and Redis (the services pass, as root)",
)
OUTAGE_SECONDS = 20
# The sweep runs every minute; a job then renders in a few seconds.
WITHIN_SECONDS = 60 + 30


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[LiveStudio]:
    for studio in live_studio(tmp_path, STUDIO_HEARTBEAT_STALE="5"):
        # An outage starts only once both clusters run (one starting in an outage is
        # the worker command's own test).
        studio.wait_running("worker")
        studio.wait_running("housekeeper")
        yield studio


def statuses(studio: LiveStudio, ids: list[str]) -> dict[str, tuple[str, int]]:
    rows = f"Video.objects.filter(pk__in={ids!r})"
    code = (
        "from videos_app.models import Video; "
        f"print(';'.join(f'{{v.pk}},{{v.status}},{{v.attempts}}' for v in {rows}))"
    )
    out = studio.manage("shell", "--no-imports", "-c", code).strip().splitlines()[-1]
    rows = [row.split(",") for row in out.split(";") if row]
    return {pk: (status, int(attempts)) for pk, status, attempts in rows}


def wait_all_completed(studio: LiveStudio, ids: list[str], within: float) -> float:
    """Seconds until every job completed (fails after ``within``)."""
    start = time.monotonic()
    while time.monotonic() - start < within:
        try:
            seen = statuses(studio, ids)
        except subprocess.CalledProcessError:
            seen = {}
        if len(seen) == len(ids) and all(s == "completed" for s, _ in seen.values()):
            return time.monotonic() - start
        time.sleep(1)
    raise AssertionError(f"not all completed within {within} s: {seen}\n{studio.tail()}")


def assert_each_completed_once(studio: LiveStudio, ids: list[str]) -> None:
    for video_id in ids:
        files = sorted(p.name for p in (studio.data_dir / "media" / "videos" / video_id).iterdir())
        assert files == ["spritesheet.jpg", "thumbnail.webp", "video.mp4"], (video_id, files)
    assert studio.leftover_work_folders() == []


def create_jobs(studio: LiveStudio, n: int) -> list[str]:
    client = studio.client()
    return [create_video(client, prompt=f"a calm sea, take {i}") for i in range(n)]


def postgresql(action: str) -> None:
    version = sorted(os.listdir("/etc/postgresql"))[0]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action, "-m", "fast"]
        if action == "stop"
        else ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action],
        check=True,
    )


def pg_up() -> bool:
    return subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode == 0


def redis_stop() -> None:
    subprocess.run(["redis-cli", "-p", "6379", "shutdown", "nosave"], check=False)


def redis_start() -> None:
    os.makedirs("/var/lib/redis", exist_ok=True)
    os.makedirs("/var/log/redis", exist_ok=True)
    subprocess.run(
        ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379",
         "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis",
         "--logfile", "/var/log/redis/ci.log"],
        check=True,
    )  # fmt: skip


def redis_up() -> bool:
    ping = subprocess.run(["redis-cli", "-p", "6379", "ping"], capture_output=True, check=False)
    return ping.stdout.strip() == b"PONG"


def wait_for(check: object, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{check} did not come back"
        time.sleep(0.5)


@pytest.fixture
def restores_services() -> Iterator[None]:
    yield
    if not pg_up():
        postgresql("start")
        wait_for(pg_up)
    if not redis_up():
        redis_start()
        wait_for(redis_up)
    from django.db import connections

    connections.close_all()  # this process's connections died with the server


@needs_services
@pytest.mark.exclusive  # stops the services everything beside it uses: run alone
def test_jobs_waiting_through_a_database_outage_all_run_once(
    studio: LiveStudio, restores_services: None
) -> None:
    ids = create_jobs(studio, 4)
    postgresql("stop")
    time.sleep(OUTAGE_SECONDS)
    postgresql("start")
    wait_for(pg_up)
    took = wait_all_completed(studio, ids, within=WITHIN_SECONDS)
    print(f"all {len(ids)} completed {took:.1f} s after the database came back")
    assert_each_completed_once(studio, ids)
    assert httpx.get(f"{studio.url}/healthz/ready").status_code == 200


@needs_services
@pytest.mark.exclusive  # stops the services everything beside it uses: run alone
def test_jobs_waiting_through_a_broker_outage_all_run_once(
    studio: LiveStudio, restores_services: None
) -> None:
    studio.stop_worker()
    ids = create_jobs(studio, 4)  # queued in Redis, which then loses them
    redis_stop()
    assert httpx.get(f"{studio.url}/healthz/ready").status_code == 503
    studio.start_worker()  # started in the outage, it waits for the broker
    time.sleep(OUTAGE_SECONDS)
    assert studio.worker is not None and studio.worker.poll() is None, studio.tail()
    assert "Waiting for the broker" in (studio.data_dir / "worker.log").read_text()
    redis_start()
    wait_for(redis_up)
    took = wait_all_completed(studio, ids, within=WITHIN_SECONDS)
    print(f"all {len(ids)} completed {took:.1f} s after the broker came back")
    assert_each_completed_once(studio, ids)


def test_jobs_waiting_and_rendering_survive_a_killed_worker(studio: LiveStudio) -> None:
    client = studio.client()
    ids = [
        create_video(client, seconds="12", size="1792x1024", prompt=f"slow zoom over dunes {i}")
        for i in range(4)
    ]
    deadline = time.monotonic() + 60
    while not any(s == "in_progress" for s, _ in statuses(studio, ids).values()):
        assert time.monotonic() < deadline, studio.tail()
        time.sleep(0.5)
    studio.kill_worker()
    studio.start_worker()
    took = wait_all_completed(studio, ids, within=WITHIN_SECONDS + 60)
    print(f"all {len(ids)} completed {took:.1f} s after the worker was started again")
    assert_each_completed_once(studio, ids)
    assert all(attempts <= 2 for _, attempts in statuses(studio, ids).values())


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_workers_started_before_their_broker_wait_for_it_then_run_jobs(tmp_path: Path) -> None:
    port = free_port()
    for studio in live_studio(tmp_path, REDIS_URL=f"redis://127.0.0.1:{port}/0"):
        # Both clusters come up while nothing listens on the port, and wait.
        for name, proc in (("worker", studio.worker), ("housekeeper", studio.housekeeper)):
            log = studio.data_dir / f"{name}.log"
            wait_for(lambda log=log: "Waiting for the broker" in log.read_text())
            assert proc is not None and proc.poll() is None, studio.tail()
        redis = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            studio.wait_running("worker")
            studio.wait_running("housekeeper")
            ids = create_jobs(studio, 1)
            wait_all_completed(studio, ids, within=60)
            assert_each_completed_once(studio, ids)
        finally:
            redis.terminate()
            redis.wait(timeout=10)
