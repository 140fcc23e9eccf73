"""Run the web server and the job worker together in the foreground.

``python -m studio.serve`` starts gunicorn (WSGI) and the django-q2 cluster as child
processes. Ctrl-C or SIGTERM stops both; if either exits, the other is stopped too, and
the children are told to die with this process even if it is killed outright.
"""

from __future__ import annotations

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
    stopping = False

    def stop(signum: int, frame: FrameType | None = None) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    port = os.environ.get("PORT", "8000")
    print(f"studio is running at http://127.0.0.1:{port}/ (Ctrl-C stops it)", flush=True)

    # Wait until one child exits, then stop the other.
    while all(child.poll() is None for child in children):
        time.sleep(0.2)
    if not stopping:
        print("a studio process exited; stopping the other", file=sys.stderr, flush=True)
        stop(signal.SIGTERM)
    deadline = time.monotonic() + 30
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    codes = [child.returncode for child in children]
    return 0 if stopping else max(abs(code or 0) for code in codes) or 1


if __name__ == "__main__":
    sys.exit(main())
