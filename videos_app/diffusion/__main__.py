"""The child: ``python -m videos_app.diffusion`` serves requests until stdin closes.

Events go to the stdout the parent gave; the process's own file descriptor 1 is pointed
at stderr first, so whatever a library prints (C code included) lands in the log, never
among the events. A thread reads stdin: a ``cancel`` takes effect at once (the running
request's step callback sees it); ``run`` and ``check`` requests queue up and are served
one at a time. The child exits when stdin closes (a run in progress is cancelled), when
its parent dies (``STUDIO_RENDER_PARENT``, as the local renderer), and with status 1
after a CUDA error's ``error`` event (its CUDA context is unusable: the parent starts a
fresh child for the next job).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import queue
import sys
import threading
import traceback
from pathlib import Path
from typing import IO, Any

from videos_app.providers.base import Assets, JobSpec

# Set before diffusers, transformers or huggingface_hub are imported: jobs never fetch.
for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ[_name] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

from .families import check_weights  # noqa: E402
from .pipelines import Cache, weights_failure  # noqa: E402
from .protocol import Events, Failure, Progress, Route  # noqa: E402


class Requests:
    """Reads stdin on a thread: cancels are applied at once, the rest queued in order."""

    def __init__(self, stdin: IO[str], events: Events) -> None:
        self.stdin, self.events = stdin, events
        self.queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.lock = threading.Lock()
        self.cancels: dict[str, threading.Event] = {}

    def start(self) -> None:
        threading.Thread(target=self._read, name="stdin", daemon=True).start()

    def flag(self, request: str) -> threading.Event:
        """The cancel flag of a queued or running request."""
        with self.lock:
            return self.cancels.setdefault(request, threading.Event())

    def cancel(self, request: str) -> None:
        """Cancel a queued or running request; one that ended or never came is let be."""
        with self.lock:
            if request in self.cancels:
                self.cancels[request].set()

    def forget(self, request: str) -> None:
        with self.lock:
            self.cancels.pop(request, None)

    def _read(self) -> None:
        for line in self.stdin:
            if not line.strip():
                continue
            try:
                request = json.loads(line)
                if not isinstance(request, dict):
                    raise ValueError("a request is a JSON object")
            except ValueError as exc:
                self.events.error(None, Failure("invalid_spec", f"unreadable request: {exc}"))
                continue
            if request.get("op") == "cancel":
                self.cancel(str(request.get("id")))
            else:
                self.flag(str(request.get("id") or ""))
                self.queue.put(request)
        # The parent is gone or done: end what runs, then exit.
        with self.lock:
            for flag in self.cancels.values():
                flag.set()
        self.queue.put(None)


def serve(requests: Requests, events: Events) -> int:
    """Answer requests until stdin closes (0), or a fatal failure (1)."""
    cache = Cache()
    while (request := requests.queue.get()) is not None:
        rid = str(request.get("id") or "")
        try:
            if request.get("op") == "run":
                done = run(request, rid, cache, requests)
                events.send("done", rid, **done)
            elif request.get("op") == "check":
                events.send("checked", rid, **check(request, cache))
            else:
                raise Failure("invalid_spec", f"unknown op {request.get('op')!r}")
        except Failure as failure:
            events.error(rid, failure)
            if failure.fatal:
                return 1
        except Exception as exc:
            traceback.print_exc()
            message = " ".join(str(exc).split())[:300] or type(exc).__name__
            events.error(rid, Failure("render_failed", message))
        finally:
            requests.forget(rid)
    return 0


def run(request: dict[str, Any], rid: str, cache: Cache, requests: Requests) -> dict[str, Any]:
    from .render import run as render

    route = Route.from_dict(request.get("route"))
    spec, files = job(request.get("job"))
    flag = requests.flag(rid)
    return render(route, spec, files, cache, Progress(requests.events, rid), flag)


def job(raw: Any) -> tuple[JobSpec, Assets]:
    """The request's job: ``JobSpec.to_dict()`` plus the three output paths."""
    try:
        spec = JobSpec.from_dict(raw)
        files = Assets(
            video=Path(raw["video"]),
            thumbnail=Path(raw["thumbnail"]),
            spritesheet=Path(raw["spritesheet"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise Failure("invalid_spec", f"malformed job: {exc!r}") from None
    return spec, files


def check(request: dict[str, Any], cache: Cache) -> dict[str, Any]:
    """A route's weights: what is missing, and (with ``load``) whether they load."""
    route = Route.from_dict(request.get("route"))
    missing = check_weights(route.family, route.weights)
    if missing:
        return {"ok": False, "missing": missing, "message": weights_failure(route, missing).message}
    if request.get("load"):
        try:
            cache.get(route)
        except Failure as failure:
            return {"ok": False, "missing": [], "message": failure.message}
        return {"ok": True, "missing": [], "message": f"{route.model.label} weights load."}
    return {"ok": True, "missing": [], "message": f"{route.model.label} weights are complete."}


def ready(events: Events) -> None:
    import diffusers
    import torch

    cuda = torch.cuda.is_available()
    events.send(
        "ready",
        None,
        python=platform.python_version(),
        torch=torch.__version__.split("+")[0],
        diffusers=diffusers.__version__,
        cuda=cuda,
        device="cuda" if cuda else "cpu",
        pid=os.getpid(),
    )


def main() -> int:
    from videos_app.renderer.__main__ import die_with_parent

    die_with_parent()
    # Events on a copy of the stdout we were given; fd 1 (print, C libraries) to stderr.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    events = Events(out)
    ready(events)
    requests = Requests(sys.stdin, events)
    requests.start()
    with contextlib.suppress(BrokenPipeError):  # the parent went away
        return serve(requests, events)
    return 0


if __name__ == "__main__":
    status = main()
    sys.stderr.flush()
    # Skip the interpreter's teardown of torch's objects: nothing is left to write.
    os._exit(status)
