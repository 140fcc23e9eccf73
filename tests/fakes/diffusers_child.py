"""A stand-in for the diffusers child (``python -m videos_app.diffusion``) that speaks its
protocol without torch: tests of the studio's side (providers/diffusers.py) run it with
the suite's own interpreter, fast.

``python -m tests.fakes.diffusers_child``. A run request takes ``steps`` (the route's,
default 4) steps of ``FAKE_STEP_SECONDS`` each and writes three small placeholder files;
the job's prompt picks a misbehaviour: ``crash`` (SIGKILLs itself after the first step),
``noise`` (prints lines that are not JSON first). The route's ``simulate`` works as the
real child's: ``oom`` fails the run with ``gpu_out_of_memory`` (and exits, as the real one
does after a CUDA error), ``hang`` sleeps.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

STEP_SECONDS = float(os.environ.get("FAKE_STEP_SECONDS", "0.05"))
cancelled: set[str] = set()
requests: list[dict[str, Any]] = []
arrived = threading.Condition()
out_lock = threading.Lock()


def emit(**event: Any) -> None:
    with out_lock:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()


def read_stdin() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        with arrived:
            if request.get("op") == "cancel":
                cancelled.add(request["id"])
            else:
                requests.append(request)
            arrived.notify()
    os._exit(0)  # stdin closed: the parent is gone or done with us


def run(request: dict[str, Any]) -> None:
    rid, route, job = request["id"], request["route"], request["job"]
    if not Path(route["weights"]).is_dir():
        emit(event="error", id=rid, code="weights_missing", message=f"{route['weights']}: missing")
        return
    if job["prompt"] == "noise":
        print("a library talking on stdout", flush=True)
    emit(event="stage", id=rid, stage="denoise")
    steps = route.get("steps") or 4
    for step in range(steps):
        if route.get("simulate") == "oom":
            # As the real child after a CUDA error: it reports it, then exits.
            emit(event="error", id=rid, code="gpu_out_of_memory", message="CUDA out of memory.")
            os._exit(1)
        if route.get("simulate") == "hang":
            time.sleep(3600)
        if rid in cancelled:
            emit(event="error", id=rid, code="cancelled", message="Stopped between steps.")
            return
        time.sleep(STEP_SECONDS)
        emit(event="progress", id=rid, percent=5 + 90 * (step + 1) // steps)
        if job["prompt"] == "crash":
            os.kill(os.getpid(), signal.SIGKILL)
    for variant in ("video", "thumbnail", "spritesheet"):
        Path(job[variant]).write_bytes(b"fake " + variant.encode())
    emit(
        event="done", id=rid, segment_only=False, frames=9, fps=8, width=64, height=64,
        seconds_per_step=STEP_SECONDS, timings={}, peak_gpu_bytes=None, pid=os.getpid(),
    )  # fmt: skip


def main() -> None:
    emit(event="ready", id=None, python=sys.version.split()[0], torch=None, cuda=False)
    threading.Thread(target=read_stdin, daemon=True).start()
    while True:
        with arrived:
            while not requests:
                arrived.wait()
            request = requests.pop(0)
        if request["op"] == "check":
            ok = Path(request["route"]["weights"]).is_dir()
            missing = [] if ok else ["model_index.json"]
            emit(event="checked", id=request["id"], ok=ok, missing=missing, message="")
        else:
            run(request)


if __name__ == "__main__":
    main()
