"""Run the web server and the job worker together in the foreground.

``python -m studio.serve`` starts gunicorn (WSGI) and the django-q2 cluster as child
processes. Ctrl-C or SIGTERM stops both; if either exits, the other is stopped too, and
the children are told to die with this process even if it is killed outright.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from types import FrameType

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this child when its parent dies (no orphans after a kill -9)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def commands() -> list[list[str]]:
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    python = sys.executable
    web = [
        python, "-m", "gunicorn", "studio.wsgi:application",
        "--bind", f"{host}:{port}",
        "--workers", os.environ.get("WEB_CONCURRENCY", "2"),
        "--worker-class", "gthread",
        "--threads", os.environ.get("WEB_THREADS", "4"),
        "--timeout", "120",
        "--graceful-timeout", "10",
        "--access-logfile", os.environ.get("ACCESS_LOG", "-") or "-",
        "--forwarded-allow-ips", os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        # Unused, and by default one per user at ~/.gunicorn/gunicorn.ctl: a second
        # studio on the machine would take it over from the first.
        "--no-control-socket",
    ]  # fmt: skip
    worker = [python, "manage.py", "qcluster"]
    return [web, worker]


def main() -> int:
    # Each child gets its own process group, so a Ctrl-C in the terminal reaches only
    # this process, which stops each child once (the django-q2 cluster hangs when its
    # worker processes are interrupted behind its back).
    children = [
        subprocess.Popen(cmd, preexec_fn=_die_with_parent, process_group=0) for cmd in commands()
    ]
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
    deadline = time.monotonic() + 30
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
    sys.exit(main())
