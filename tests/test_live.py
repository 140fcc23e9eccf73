"""The studio as it runs for real: gunicorn + the django-q2 worker on loopback."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import ROOT, LiveStudio, free_port, live_studio

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStudio]:
    yield from live_studio(
        tmp_path_factory.mktemp("studio"),
        STUDIO_HEARTBEAT_STALE="3",
        TMPDIR=str(tmp_path_factory.mktemp("web-tmp")),  # where uploads would spool
    )


def create_video(client: httpx.Client, **fields: str) -> str:
    data = {
        "prompt": "neon city at night, fast pan",
        "model": "sora-2",
        "size": "720x1280",
        "seconds": "4",
    }
    data.update(fields)
    response = client.post("/videos/new", data=data, files={"reference_image": ("", b"")})
    assert response.status_code == 302, response.text[:2000]
    match = re.match(r"/videos/(video_[0-9a-f]+)$", response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


def progress_of(client: httpx.Client, video_id: str) -> tuple[int, int]:
    response = client.get(f"/videos/{video_id}/status", headers={"HX-Request": "true"})
    value = re.search(r'<progress id="job-progress"[^>]*value="(\d+)"', response.text)
    return response.status_code, int(value.group(1)) if value else -1


def wait_until_done(client: httpx.Client, video_id: str, timeout: float = 120) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get(f"/videos/{video_id}/status", headers={"HX-Request": "true"})
        if response.status_code == 286:
            return response
        assert response.status_code == 200
        time.sleep(0.3)
    raise AssertionError(f"{video_id} did not finish")


def render_processes(studio: LiveStudio) -> list[int]:
    """Render processes started by this studio (by its data folder in their environment)."""
    marker = f"STUDIO_DATA_DIR={studio.data_dir}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if b"videos_app.renderer" in cmdline and marker in environ.split(b"\0"):
                pids.append(int(entry.name))
    return pids


def test_a_video_created_in_the_form_is_rendered_by_the_worker(studio: LiveStudio) -> None:
    client = studio.client()
    video_id = create_video(client)
    seen = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status, value = progress_of(client, video_id)
        seen.append(value)
        if status == 286:
            break
        time.sleep(0.1)
    done = wait_until_done(client, video_id)
    assert "<video" in done.text and "load delay:" not in done.text  # no poll left
    assert any(0 < v < 100 for v in seen), seen  # the bar moved through real progress
    video = client.get(f"/videos/{video_id}/media/video")
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"
    assert video.headers["content-type"] == "video/mp4"
    part = client.get(f"/videos/{video_id}/media/video", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == video.content[100:200]
    for variant, magic in (("thumbnail", b"RIFF"), ("spritesheet", b"\xff\xd8")):
        assert client.get(f"/videos/{video_id}/media/{variant}").content.startswith(magic)


def test_a_job_survives_its_worker_being_killed(studio: LiveStudio) -> None:
    client = studio.client()
    video_id = create_video(
        client, seconds="20", size="1792x1024", prompt="slow zoom over a desert"
    )
    deadline = time.monotonic() + 60
    while progress_of(client, video_id)[1] < 5:
        assert time.monotonic() < deadline, studio.tail()
        time.sleep(0.1)

    assert render_processes(studio), "no render process to orphan"
    studio.kill_worker()
    time.sleep(1)
    assert render_processes(studio) == [], "the render process outlived its worker"

    time.sleep(3)  # the heartbeat goes stale (STUDIO_HEARTBEAT_STALE=3)
    assert video_id in studio.manage("recoverjobs")
    studio.start_worker()
    wait_until_done(client, video_id, timeout=180)

    shell = studio.manage(
        "shell", "--no-imports", "-c",
        f"from videos_app.models import Video; v = Video.objects.get(pk='{video_id}'); "
        "print(v.status, v.attempts)",
    )  # fmt: skip
    assert shell.split() == ["completed", "2"]
    files = sorted(p.name for p in (studio.data_dir / "media" / "videos" / video_id).iterdir())
    assert files == ["spritesheet.jpg", "thumbnail.webp", "video.mp4"]
    assert studio.leftover_work_folders() == []


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def is_watchdog(pid: int) -> bool:
    return b"--watch" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")


def umask_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^Umask:\s+(\d+)$", status, re.MULTILINE).group(1), 8)


def serve_env(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    home = tmp_path / "home"
    home.mkdir()
    env.update(STUDIO_DATA_DIR=str(tmp_path), PORT=str(port), STUDIO_QUEUE_NAME=f"serve-{port}",
               HOME=str(home), **extra)  # fmt: skip
    if env.get("DATABASE_URL"):
        env.pop("DATABASE_URL")  # migrating a shared database is not this test's business
        env.pop("REDIS_URL", None)
    return env


def wait_for_health(port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline
        time.sleep(0.2)


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM])
def test_serve_runs_web_and_worker_and_stops_both(tmp_path: Path, how: signal.Signals) -> None:
    port = free_port()
    tmp_path.chmod(0o755)  # as a studio made before the data directory was closed
    env = serve_env(tmp_path, port)
    home = Path(env["HOME"])
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    serve = subprocess.Popen([sys.executable, "-m", "studio.serve"], cwd=ROOT, env=env)
    try:
        wait_for_health(port)
        children = [pid for pid in children_of(serve.pid) if not is_watchdog(pid)]
        assert len(children) == 3  # web, worker, housekeeping worker
        # Private to its user: the data directory, and what the processes write.
        assert tmp_path.stat().st_mode & 0o777 == 0o700
        assert {umask_of(pid) for pid in children} == {0o077}
        # Nothing shared with other studios on the machine (gunicorn's control socket).
        assert list(home.iterdir()) == []
        descendants = children + [g for c in children for g in children_of(c)]
        assert len(descendants) > 2  # gunicorn workers and django-q2 processes
        serve.send_signal(how)
        assert serve.wait(timeout=40) == 0
        time.sleep(0.5)
        assert [pid for pid in descendants if alive(pid)] == []
    finally:
        if serve.poll() is None:
            serve.kill()


def test_a_hung_worker_does_not_outlive_a_killed_supervisor(tmp_path: Path) -> None:
    port = free_port()
    env = serve_env(tmp_path, port, STUDIO_STOP_GRACE="3")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    serve = subprocess.Popen([sys.executable, "-m", "studio.serve"], cwd=ROOT, env=env)
    groups: list[int] = []
    try:
        wait_for_health(port)
        children = children_of(serve.pid)
        (watchdog,) = [pid for pid in children if is_watchdog(pid)]
        groups = [pid for pid in children if pid != watchdog]
        (worker,) = [
            pid
            for pid in groups
            if Path(f"/proc/{pid}/cmdline").read_bytes().endswith(b"manage.py\0worker\0")
        ]
        descendants = [*groups, *(g for c in groups for g in children_of(c))]
        # A stopped cluster cannot act on the SIGTERM its death signal sends: it hangs,
        # as a django-q2 cluster stuck while stopping does.
        os.killpg(worker, signal.SIGSTOP)
        serve.kill()
        serve.wait()
        deadline = time.monotonic() + 15
        while [pid for pid in descendants if alive(pid)] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [pid for pid in descendants if alive(pid)] == []
        deadline = time.monotonic() + 5
        while alive(watchdog) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive(watchdog)  # and it does not linger either
    finally:
        if serve.poll() is None:
            serve.kill()
        for pgid in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)


def read_response(conn: socket.socket) -> bytes:
    """One whole HTTP/1.1 response (headers and a Content-Length body) off a raw socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?im)^content-length:\s*(\d+)", head).group(1))
    while len(body) < length:
        body += conn.recv(65536)
    return head + b"\r\n\r\n" + body


def test_idle_connections_are_kept_longer_than_clients_reuse_them(studio: LiveStudio) -> None:
    with socket.create_connection(("127.0.0.1", studio.port)) as conn:
        request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        conn.sendall(request)
        first = read_response(conn)
        assert first.startswith(b"HTTP/1.1 200")
        assert b"\r\nKeep-Alive: timeout=75\r\n" in first
        time.sleep(5)  # longer than gunicorn's default of 2 s, as Node's fetch waits 4 s
        conn.sendall(request)
        assert read_response(conn).startswith(b"HTTP/1.1 200")


def spooled_bytes(studio: LiveStudio) -> int:
    tmp = Path(studio.env["TMPDIR"])
    return sum(f.stat().st_size for f in tmp.rglob("*") if f.is_file())


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_huge_anonymous_post_is_refused_before_it_is_written_anywhere(
    studio: LiveStudio, framing: str
) -> None:
    size, chunk = 500 * 2**20, b"x" * 2**20
    peak = 0
    head = (
        b'--b\r\nContent-Disposition: form-data; name="f"; filename="f.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n"
    )
    tail = b"\r\n--b--\r\n"
    chunks = (size - len(head) - len(tail)) // len(chunk)

    def body() -> Iterator[bytes]:
        nonlocal peak
        yield head
        for _ in range(chunks):
            peak = max(peak, spooled_bytes(studio))
            yield chunk
        yield tail

    headers = {"Content-Type": "multipart/form-data; boundary=b"}
    if framing == "content-length":
        headers["Content-Length"] = str(len(head) + chunks * len(chunk) + len(tail))
    with httpx.Client(base_url=studio.url, timeout=60) as client:
        try:
            response = client.post("/login/", content=body(), headers=headers)
        except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError) as error:
            pytest.fail(f"the server hung up instead of answering: {error!r}")
    peak = max(peak, spooled_bytes(studio))
    assert response.status_code == (413 if framing == "content-length" else 411), response.text
    assert peak <= 2**20, peak  # at most the anonymous limit ever reached the disk
