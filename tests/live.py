"""A real studio on loopback for integration and browser tests.

gunicorn and the django-q2 cluster run as separate processes (so a test can kill and
restart the worker), with their own data folder, and on PostgreSQL + Redis when the
suite runs with DATABASE_URL / REDIS_URL (a fresh database per studio).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from studio.serve import web_command

ROOT = Path(__file__).resolve().parent.parent
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "live-studio-password-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveStudio:
    data_dir: Path
    port: int
    env: dict[str, str]
    web: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    housekeeper: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def seed(self, module: str) -> str:
        """Run ``<module>.seed()`` with the studio's own settings and database; its output."""
        return self.manage("shell", "--no-imports", "-c", f"from {module} import seed; seed()")

    def render(
        self, *prompts: str, team: str = "", size: str = "1280x720", within: float = 180
    ) -> list[str]:
        """Make a 4 s video of each prompt through /v1 (with a new API key of the admin's),
        all queued at once, and wait until every one is finished; their ids, in order."""
        key = self.manage("createapikey", ADMIN_USERNAME, "--name", "tests").strip()
        api = httpx.Client(
            base_url=f"{self.url}/v1", headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
        ids = []
        for prompt in prompts:
            fields = {"prompt": prompt, "model": "sora-2", "size": size, "seconds": "4"}
            if team:
                fields["team"] = team
            response = api.post("/videos", files={k: (None, v) for k, v in fields.items()})
            assert response.status_code == 200, response.text
            ids.append(str(response.json()["id"]))
        deadline = time.monotonic() + within
        for video in ids:
            while (status := api.get(f"/videos/{video}").json()["status"]) != "completed":
                assert status != "failed" and time.monotonic() < deadline, self.tail()
                time.sleep(0.3)
        return ids

    def _spawn(self, name: str, cmd: list[str]) -> subprocess.Popen[bytes]:
        log = self.data_dir / f"{name}.log"
        self.logs.append(log)
        return subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=self.env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed whole
        )

    def start_web(self) -> None:
        self.web = self._spawn(
            "web",
            web_command(host="127.0.0.1", port=str(self.port), workers="2", threads="4"),
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError("the studio did not start:\n" + self.tail())

    def start_worker(self) -> None:
        self.worker = self._spawn("worker", [sys.executable, "manage.py", "worker"])

    def start_housekeeper(self) -> None:
        """The housekeeping cluster: webhook deliveries and the stale-job sweep."""
        self.housekeeper = self._spawn(
            "housekeeper", [sys.executable, "manage.py", "worker", "--housekeeping"]
        )

    def wait_running(self, name: str, within: float = 60.0) -> None:
        """Wait until the cluster logging to ``<name>.log`` says it is running."""
        log = self.data_dir / f"{name}.log"
        deadline = time.monotonic() + within
        while "] running." not in (log.read_text() if log.exists() else ""):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {name} cluster did not start:\n" + self.tail())
            time.sleep(0.2)

    def kill_worker(self) -> None:
        """SIGKILL the worker's whole process group, as an OOM kill or a crash would."""
        assert self.worker is not None
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait(timeout=10)

    def stop_worker(self) -> None:
        """Stop the worker as an operator would (SIGTERM to its main process)."""
        assert self.worker is not None
        _stop([self.worker], within=30)

    def stop(self) -> None:
        """Stop the three at once, each as an operator would (SIGTERM to its main
        process: a SIGTERM to a django-q2 cluster's whole group kills its processes
        outright and leaves the main one waiting forever), then kill what is left."""
        _stop([p for p in (self.worker, self.housekeeper, self.web) if p is not None], within=15)

    def leftover_work_folders(self, within: float = 15.0) -> list[Path]:
        """What is left in the studio's scratch folder once the workers have tidied up.

        A worker removes an attempt's folder just after it marks the row finished, so a
        test that has seen the row finish gives it a moment before calling a file stray.
        """
        tmp = self.data_dir / "tmp"
        deadline = time.monotonic() + within
        while True:
            left = sorted(tmp.iterdir()) if tmp.exists() else []
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.2)

    def tail(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in self.logs if p.exists())

    def client(self) -> httpx.Client:
        """An httpx client signed in as the admin through the real login form."""
        client = httpx.Client(base_url=self.url, timeout=30, follow_redirects=False)
        page = client.get("/login/")
        token = page.cookies["csrftoken"]
        response = client.post(
            "/login/",
            data={
                "username": ADMIN_USERNAME,
                "password": ADMIN_PASSWORD,
                "csrfmiddlewaretoken": token,
            },
        )
        assert response.status_code == 302, response.text[:500]
        client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
        return client


def _stop(processes: list[subprocess.Popen[bytes]], *, within: float) -> None:
    """SIGTERM each process (each leads its own group), wait for all of them for at most
    ``within`` seconds in all, then SIGKILL each group, whatever of it is left."""
    running = [p for p in processes if p.poll() is None]
    for proc in running:
        proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + within
    for proc in running:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    for proc in processes:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _fresh_database(url: str) -> tuple[str, str]:
    """Create an empty PostgreSQL database next to the one in ``url``; return (url, name)."""
    import psycopg

    parts = urlsplit(url)
    name = f"studio_live_{secrets.token_hex(4)}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}")), name


def _drop_database(url: str, name: str) -> None:
    import psycopg

    admin_url = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def live_studio(tmp_dir: Path, **extra_env: str) -> Iterator[LiveStudio]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PYTEST_"))
    }
    env.update(
        STUDIO_DATA_DIR=str(tmp_dir),
        STUDIO_ADMIN_USERNAME=ADMIN_USERNAME,
        STUDIO_ADMIN_PASSWORD=ADMIN_PASSWORD,
        STUDIO_QUEUE_NAME=f"studio-test-{secrets.token_hex(4)}",
        DJANGO_SETTINGS_MODULE="studio.settings",
        PYTHONUNBUFFERED="1",
        **extra_env,
    )
    database = None
    if env.get("DATABASE_URL"):
        env["DATABASE_URL"], database = _fresh_database(env["DATABASE_URL"])
    studio = LiveStudio(data_dir=tmp_dir, port=free_port(), env=env)
    try:
        studio.manage("migrate", "--noinput")
        studio.manage("collectstatic", "--noinput")
        studio.manage("ensureadmin")
        studio.start_web()
        studio.start_worker()
        studio.start_housekeeper()
        yield studio
    finally:
        studio.stop()
        if database:
            _drop_database(os.environ["DATABASE_URL"], database)
