"""Run the web server and the job worker together in the foreground.

``python -m studio.serve`` starts gunicorn (WSGI), the job worker and the housekeeping
worker (two django-q2 clusters) as child processes; ``--queues render,housekeeping,gpu``
names the workers (``gpu``: a GPU worker, ``manage.py worker --gpu``). Ctrl-C or SIGTERM
stops them all; if one exits, the others are stopped too, and
the children are told to die with this process even if it is killed outright, and a
watchdog kills any that does not stop within its grace (``STUDIO_STOP_GRACE``, 30 s),
even when this process was killed before that grace ended.

Everything the studio writes is private to its user: the data directory is made 0700
and the process umask 077, so the database (password hashes, sessions, webhook
secrets), the secret key and the media are not readable by other local users.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

PR_SET_PDEATHSIG = 1
DEFAULT_STOP_GRACE = 30.0


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this child when its parent dies (no orphans after a kill -9)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def web_command(*, host: str, port: str, workers: str, threads: str) -> list[str]:
    """The gunicorn command line (the live tests start the same one)."""
    return [
        sys.executable, "-m", "gunicorn", "studio.wsgi:application",
        "--config", "python:studio.gunicorn_conf",
        "--bind", f"{host}:{port}",
        "--workers", workers,
        "--worker-class", "gthread",
        "--threads", threads,
        "--keep-alive", os.environ.get("WEB_KEEPALIVE", "75"),
        "--timeout", "120",
        "--graceful-timeout", "10",
        "--access-logfile", os.environ.get("ACCESS_LOG", "-") or "-",
        "--forwarded-allow-ips", os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        # Unused, and by default one per user at ~/.gunicorn/gunicorn.ctl: a second
        # studio on the machine would take it over from the first.
        "--no-control-socket",
    ]  # fmt: skip


# The workers ``--queues`` can name (default: the two every studio needs somewhere).
QUEUES = {"render": [], "housekeeping": ["--housekeeping"], "gpu": ["--gpu"]}
DEFAULT_QUEUES = ("render", "housekeeping")


def commands(queues: tuple[str, ...] = DEFAULT_QUEUES) -> list[list[str]]:
    """The web server and one worker per queue (``gpu``: a GPU worker, for a host that
    runs the diffusers engine's jobs)."""
    web = web_command(
        host=os.environ.get("HOST", "127.0.0.1"),
        port=os.environ.get("PORT", "8000"),
        workers=os.environ.get("WEB_CONCURRENCY", "2"),
        threads=os.environ.get("WEB_THREADS", "4"),
    )
    worker = [sys.executable, "manage.py", "worker"]
    return [web, *([*worker, *QUEUES[queue]] for queue in queues)]


def queues_from(argv: list[str]) -> tuple[str, ...]:
    """``--queues render,housekeeping,gpu`` (default: render and housekeeping)."""
    if argv[:1] != ["--queues"]:
        return DEFAULT_QUEUES
    names = tuple(name.strip() for name in (argv[1] if len(argv) > 1 else "").split(",") if name)
    unknown = [name for name in names if name not in QUEUES]
    if unknown or not names:
        raise SystemExit(f"--queues: a comma-separated list of {', '.join(QUEUES)}")
    return names


def stop_grace() -> float:
    return float(os.environ.get("STUDIO_STOP_GRACE") or DEFAULT_STOP_GRACE)


def make_private() -> None:
    """New files 0600 and directories 0700; a data directory made before is closed to others."""
    os.umask(0o077)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    from django.conf import settings  # the watchdog's start needs no Django

    Path(settings.DATA_DIR).chmod(0o700)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def watch(supervisor: int, grace: float, groups: list[int]) -> None:
    """Outlive the supervisor: once it is gone, give its children ``grace`` seconds, then kill.

    The children's death signal (SIGTERM) asks them to stop when the supervisor dies,
    but a django-q2 cluster can hang while stopping; nothing else would escalate.
    """
    try:
        pidfd = os.pidfd_open(supervisor)
    except ProcessLookupError:
        pass
    else:
        select.select([pidfd], [], [])  # readable once the supervisor has exited
        os.close(pidfd)
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(_group_alive(g) for g in groups) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)


def start_watchdog(children: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    args = [str(os.getpid()), str(stop_grace()), *(str(c.pid) for c in children)]
    # Its own process group (a Ctrl-C is not for it) and no death signal: it must
    # outlive this process to do its job.
    return subprocess.Popen(
        [sys.executable, "-m", "studio.serve", "--watch", *args], process_group=0
    )


def main(queues: tuple[str, ...] = DEFAULT_QUEUES) -> int:
    make_private()
    # Each child gets its own process group, so a Ctrl-C in the terminal reaches only
    # this process, which stops each child once (the django-q2 cluster hangs when its
    # worker processes are interrupted behind its back).
    children = [
        subprocess.Popen(cmd, preexec_fn=_die_with_parent, process_group=0)
        for cmd in commands(queues)
    ]
    start_watchdog(children)  # leaves on its own once this process and the children are gone
    asked_to_stop = False

    def terminate() -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    def on_signal(signum: int, frame: FrameType | None = None) -> None:
        nonlocal asked_to_stop
        asked_to_stop = True
        terminate()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    port = os.environ.get("PORT", "8000")
    print(f"studio is running at http://127.0.0.1:{port}/ (Ctrl-C stops it)", flush=True)

    # Wait until one child exits, then stop the other.
    while all(child.poll() is None for child in children):
        time.sleep(0.2)
    if not asked_to_stop:
        print("a studio process exited; stopping the other", file=sys.stderr, flush=True)
        terminate()
    deadline = time.monotonic() + stop_grace()
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
    for child in children:
        # A child that did not stop in time, and whatever it left in its process group
        # (gunicorn's or django-q2's workers), is killed: nothing outlives `make run`.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    if asked_to_stop:
        return 0
    # One of them stopped on its own: that is a failure, whatever its exit status.
    return max(abs(child.returncode or 0) for child in children) or 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--watch"]:
        supervisor, grace, *groups = sys.argv[2:]
        watch(int(supervisor), float(grace), [int(g) for g in groups])
        sys.exit(0)
    sys.exit(main(queues_from(sys.argv[1:])))
