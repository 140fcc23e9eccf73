"""Hosts that share nothing but PostgreSQL, Redis and the bucket (docs/deploy.md).

The web server (gunicorn, as ``make run`` starts it) runs with one data directory and
the worker (``manage.py worker``) with another, as two hosts would: a job created
through ``/v1`` is rendered by the worker, and its content is read back from the web
process with Range. Neither directory holds a media file, and the web's never held any
of the worker's.
"""

from __future__ import annotations

import io
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import av
import httpx
import pytest
from openai import OpenAI

from tests.fakes.s3 import S3Server
from tests.live import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    LiveStudio,
    _drop_database,
    _fresh_database,
    free_port,
)

pytestmark = [pytest.mark.s3, pytest.mark.services_only, pytest.mark.live]

MEDIA_SUFFIXES = {".mp4", ".webp", ".jpg", ".jpeg", ".png"}


def host_env(data_dir: Path, shared: dict[str, str]) -> dict[str, str]:
    """One host's environment: its own data directory, everything else as every host's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env.update(shared, STUDIO_DATA_DIR=str(data_dir))
    return env


def files_under(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


@pytest.fixture
def hosts(tmp_path: Path, s3_server: S3Server) -> Iterator[tuple[LiveStudio, LiveStudio]]:
    """A web host (data directory A) and a worker host (B) of one studio."""
    database_url, database = _fresh_database(os.environ["DATABASE_URL"])
    shared = {
        "SECRET_KEY": secrets.token_urlsafe(50),  # the same on every host, from the environment
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ["REDIS_URL"],
        "STUDIO_QUEUE_NAME": f"studio-test-{secrets.token_hex(4)}",
        "STUDIO_S3_BUCKET": s3_server.bucket,
        "STUDIO_S3_ENDPOINT_URL": s3_server.endpoint_url,
        "STUDIO_S3_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": s3_server.access_key,
        "AWS_SECRET_ACCESS_KEY": s3_server.secret_key,
        "STUDIO_ADMIN_USERNAME": ADMIN_USERNAME,
        "STUDIO_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "STUDIO_WORKERS": "1",
        "DJANGO_SETTINGS_MODULE": "studio.settings",
        "PYTHONUNBUFFERED": "1",
    }
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    web = LiveStudio(data_dir=a, port=free_port(), env=host_env(a, shared))
    worker = LiveStudio(data_dir=b, port=0, env=host_env(b, shared))
    try:
        web.manage("migrate", "--noinput")
        web.manage("collectstatic", "--noinput")
        web.manage("ensureadmin")
        web.start_web()
        worker.start_worker()
        yield web, worker
    finally:
        if worker.worker is not None and worker.worker.poll() is None:
            worker.kill_worker()  # its job is done; a cluster's graceful stop takes seconds
        web.stop()
        _drop_database(os.environ["DATABASE_URL"], database)


def test_a_job_completes_and_plays_with_no_disk_in_common(
    hosts: tuple[LiveStudio, LiveStudio], s3_server: S3Server
) -> None:
    web, worker = hosts
    key = web.manage("createapikey", ADMIN_USERNAME).strip()
    client = OpenAI(base_url=f"{web.url}/v1", api_key=key, max_retries=0, timeout=30)
    video = client.videos.create(prompt="a paper boat on a rainy street", seconds="4")
    deadline = time.monotonic() + 45
    while video.status in {"queued", "in_progress"} and time.monotonic() < deadline:
        time.sleep(0.5)
        video = client.videos.retrieve(video.id)
    assert video.status == "completed", (video.error, worker.tail())

    # The content, from the web host, read from the bucket: whole (as a player's first
    # request) and a slice from the middle (a seek).
    content = f"{web.url}/v1/videos/{video.id}/content"
    auth = {"Authorization": f"Bearer {key}"}
    whole = httpx.get(content, headers={**auth, "Range": "bytes=0-"}, timeout=30)
    assert whole.status_code == 206, whole.text[:300]
    data = whole.content
    middle = len(data) // 2
    part = httpx.get(content, headers={**auth, "Range": f"bytes={middle}-{middle + 999}"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes {middle}-{middle + 999}/{len(data)}"
    assert part.content == data[middle : middle + 1000]
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        assert (stream.width, stream.height) == (720, 1280)
    assert frames >= 4 * 24

    # The files are objects in the bucket, where the worker put them.
    client_s3 = s3_server.client()
    stored = [k for k in s3_server.keys("videos/") if k.endswith(".mp4")]
    bodies = [client_s3.get_object(Bucket=s3_server.bucket, Key=k)["Body"].read() for k in stored]
    assert data in bodies

    # Neither host keeps a media file, nor a generated secret key; the job's working
    # folder was on the worker's disk (and is gone), never on the web's.
    assert (worker.data_dir / "tmp").is_dir()
    assert worker.leftover_work_folders() == []
    for host in (web, worker):
        files = [f for f in files_under(host.data_dir) if f.parts[0] != "static"]
        assert [f for f in files if f.suffix in MEDIA_SUFFIXES] == [], host.data_dir
        assert not (host.data_dir / "media").exists()
        assert not (host.data_dir / "secret_key").exists()
    assert not (web.data_dir / "tmp").exists()
    outside_static = [f for f in files_under(web.data_dir) if f.parts[0] != "static"]
    assert [f.name for f in outside_static] == ["web.log"]
