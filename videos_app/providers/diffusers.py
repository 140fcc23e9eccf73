"""The ``diffusers`` engine: open-weights video models (Wan, LTX-Video) on this host's GPU.

The model side is ``videos_app.diffusion``, a Django-free child process
(``python -m videos_app.diffusion``) run by its own interpreter: the GPU virtual
environment's (``STUDIO_DIFFUSERS_PYTHON``, else ``.venv-gpu/bin/python`` when it exists),
which holds torch and diffusers. This module is the studio's side of it:

- one child per worker process, started on first use and **kept alive between jobs**, so
  that a pipeline stays loaded (the child keeps the last route's pipeline and unloads it
  when another route needs the GPU); a child that died is started again for the next job;
- a job is one ``run`` request on the child's stdin; its ``progress`` events are relayed,
  a cancelled job (``on_progress.owned`` turned False) sends ``cancel``, and a job that
  takes too long, or whose child says nothing for the stall time, gets the child's whole
  process group killed (a hung CUDA call cannot be interrupted any other way);
- an ``error`` event is the job's ``ProviderError``, in the child's code and words;
- an extension the child makes as a new segment only (``segment_only``) is stitched to
  its source here, as a vendor's (``jobs.finish.extension_assets``).

The protocol (one JSON object a line each way) is the child's; see
``videos_app/diffusion/__main__.py``. A route's settings (weights directory, steps,
guidance, memory options) are its ``ModelRoute.options``; its family is its upstream model.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import IO, Any

from .base import Assets, JobSpec, ProgressCallback, ProviderError
from .capabilities import Capabilities
from .limits import ALL_SECONDS, ALL_SIZES, parse_size
from .local import last_line

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
GPU_VENV_PYTHON = PROJECT_ROOT / ".venv-gpu" / "bin" / "python"
CHILD_MODULE = "videos_app.diffusion"
DTYPES = ("bfloat16", "float16", "float32")
DEVICES = ("auto", "cuda", "cpu")
SIMULATIONS = ("oom", "hang")
# How long a cancelled run may take to reach its next step boundary and say so before
# its child is killed (a real model's step takes seconds; the child is restarted).
CANCEL_GRACE = 30.0
# How often a run that sends nothing (a pipeline loading) still beats the job's heartbeat
# and reads whether it was cancelled.
BEAT_SECONDS = 5.0
# How long a child that reported an error is given to exit, if it is going to.
EXIT_GRACE = 0.5
# Starting the child imports torch and diffusers (seconds; a cold disk, more).
START_TIMEOUT = 120.0


# --- a route's settings -------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RouteSettings:
    """What the child is told about a route (the protocol's ROUTE; None: the family's
    default). ``width``/``height``/``fps`` and ``simulate`` are for tests' tiny models."""

    family: str
    weights: str
    steps: int | None = None
    guidance: float | None = None
    dtype: str | None = None
    cpu_offload: bool = False
    vae_tiling: bool = False
    device: str = "auto"
    width: int | None = None
    height: int | None = None
    fps: int | None = None
    simulate: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


OPTION_NAMES = tuple(f.name for f in fields(RouteSettings) if f.name != "family")


def route_settings(family: str, options: Mapping[str, Any]) -> RouteSettings:
    """A route's settings from its family and ``ModelRoute.options``; ValueError naming
    the first wrong option (the admin's and ``routes set``'s check)."""
    from videos_app.diffusion import families

    if family not in families.FAMILIES:
        known = ", ".join(families.FAMILIES)
        raise ValueError(
            f"Unknown model family {family!r} (the upstream model): use one of {known}."
        )
    unknown = sorted(set(options) - set(OPTION_NAMES))
    if unknown:
        raise ValueError(f"Unknown option {', '.join(unknown)}. Known: {', '.join(OPTION_NAMES)}.")
    weights = options.get("weights")
    if not isinstance(weights, str) or not os.path.isabs(weights):
        raise ValueError(
            "weights: give the absolute path of the directory of diffusers-format weights."
        )
    values: dict[str, Any] = {"family": family, "weights": weights}
    for name in ("steps", "width", "height", "fps"):
        values[name] = _positive_int(options.get(name), name)
    guidance = options.get("guidance")
    if guidance is not None and (
        isinstance(guidance, bool) or not isinstance(guidance, int | float)
    ):
        raise ValueError("guidance: give a number (e.g. 5.0), or leave it out for the family's.")
    values["guidance"] = None if guidance is None else float(guidance)
    for name in ("cpu_offload", "vae_tiling"):
        flag = options.get(name, False)
        if not isinstance(flag, bool):
            raise ValueError(f"{name}: give true or false.")
        values[name] = flag
    for name, allowed, default in (
        ("dtype", DTYPES, None),
        ("device", DEVICES, "auto"),
        ("simulate", SIMULATIONS, None),
    ):
        value = options.get(name, default)
        if value is not None and value not in allowed:
            raise ValueError(f"{name}: one of {', '.join(allowed)} (or leave it out).")
        values[name] = value
    return RouteSettings(**values)


def _positive_int(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name}: give a whole number above 0, or leave it out.")
    return value


# --- the child process ----------------------------------------------------------------


class ChildGone(Exception):
    """The child's stdout closed: it exited or was killed."""


def child_python() -> str:
    """The model side's interpreter: ``STUDIO_DIFFUSERS_PYTHON``, else the GPU venv's,
    else this one (a host whose own venv holds torch and diffusers)."""
    from django.conf import settings

    configured = getattr(settings, "DIFFUSERS_PYTHON", "")
    if configured:
        return str(configured)
    return str(GPU_VENV_PYTHON) if GPU_VENV_PYTHON.exists() else sys.executable


class Child:
    """One running model process and its line-buffered stdout."""

    def __init__(self, argv: Sequence[str], *, start_timeout: float) -> None:
        self.argv = tuple(argv)
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115  (closed in kill)
        self.process = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            cwd=PROJECT_ROOT,
            start_new_session=True,  # its own process group, killed as a whole
            # It exits when this process dies, even by SIGKILL (die_with_parent).
            env={**os.environ, "STUDIO_RENDER_PARENT": str(os.getpid())},
        )
        self.pending = b""
        self.lines: list[bytes] = []
        self.selector = selectors.DefaultSelector()
        assert self.process.stdout is not None
        self.selector.register(self.process.stdout.fileno(), selectors.EVENT_READ)
        self.ready = self._wait_ready(start_timeout)

    def _wait_ready(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                event = self.next_event(deadline - time.monotonic())
            except ChildGone:
                raise ProviderError(
                    "render_failed", f"The model process did not start. {self.last_error()}".strip()
                ) from None
            if event is None:
                self.kill()
                raise ProviderError(
                    "render_timeout", f"The model process did not start within {timeout:g} s."
                )
            if event.get("event") == "ready":
                logger.info("diffusers child %s ready: %s", self.process.pid, event)
                return event

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, request: Mapping[str, Any]) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError):
            raise ChildGone from None

    def next_event(self, timeout: float) -> dict[str, Any] | None:
        """The next event, or None after ``timeout`` seconds without one; ChildGone at EOF.
        A line that is not a JSON object (a library printing to stdout) is skipped."""
        deadline = time.monotonic() + max(0.0, timeout)
        while not self.lines:
            left = deadline - time.monotonic()
            if left <= 0 or not self.selector.select(left):
                return None
            assert self.process.stdout is not None
            chunk = os.read(self.process.stdout.fileno(), 65536)
            if not chunk:
                raise ChildGone
            *complete, self.pending = (self.pending + chunk).split(b"\n")
            self.lines.extend(line for line in complete if line.strip())
        line = self.lines.pop(0)
        try:
            event = json.loads(line)
        except ValueError:
            logger.info("diffusers child said: %s", line[:300].decode(errors="replace"))
            return self.next_event(max(0.0, deadline - time.monotonic()))
        return event if isinstance(event, dict) else None

    def kill(self) -> None:
        """SIGKILL its whole process group and reap it."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.selector.close()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def exit_reason(self) -> str:
        """How it ended (a signal's name or an exit status) and its last stderr line."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=2)
        status = self.process.returncode
        if status is None:
            how = "stopped answering"
        elif status < 0:
            how = f"was killed ({signal.Signals(-status).name})"
        else:
            how = f"exited with status {status}"
        return f"The model process {how}. {self.last_error()}".strip()

    def last_error(self) -> str:
        return last_line(self.stderr)


_lock = threading.Lock()
_child: Child | None = None


@contextlib.contextmanager
def kept_child(argv: Sequence[str], *, start_timeout: float) -> Iterator[Child]:
    """This process's child for ``argv``, started if there is none (or it died, or ran
    another command); held for one request at a time. A request that raises anything but
    a ``ProviderError`` the child itself reported leaves the child killed."""
    global _child
    with _lock:
        if _child is not None and (not _child.alive() or _child.argv != tuple(argv)):
            _child.kill()
            _child = None
        if _child is None:
            _child = Child(argv, start_timeout=start_timeout)
        child = _child
        try:
            yield child
        except ChildReported:
            # After a CUDA error the child reports it and exits (its context is unusable):
            # give it a moment, so that the next job sees it gone and starts a fresh one
            # rather than writing to a child on its way out.
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=EXIT_GRACE)
            raise
        except BaseException:
            child.kill()
            _child = None
            raise


def stop_child() -> None:
    """Kill this process's child, if any (tests; a worker's child otherwise dies with it)."""
    global _child
    with _lock:
        if _child is not None:
            _child.kill()
            _child = None


class ChildReported(ProviderError):
    """An ``error`` event: the child failed the request and goes on serving."""


# --- the engine -----------------------------------------------------------------------


class DiffusersEngine:
    """Runs jobs of the routes of one ``diffusers`` Provider row (see the module's docstring).

    ``routes``: public model name -> its settings; ``timeout``: total seconds a job may
    take; ``stall_timeout``: seconds allowed without an event from the child;
    ``command``: the child's argv (tests substitute a fake child).
    """

    name = "diffusers"

    def __init__(
        self,
        *,
        routes: Mapping[str, RouteSettings | ValueError],
        timeout: float,
        stall_timeout: float,
        command: Sequence[str] | None = None,
    ) -> None:
        self.routes = dict(routes)
        self.timeout = timeout
        self.stall_timeout = stall_timeout
        self.command = tuple(command) if command else (child_python(), "-m", CHILD_MODULE)

    @classmethod
    def from_row(cls, row: Any) -> DiffusersEngine:
        from django.conf import settings

        routes: dict[str, RouteSettings | ValueError] = {}
        for route in row.routes.all():
            try:
                routes[route.name] = route_settings(
                    route.upstream_model or route.name, route.options
                )
            except ValueError as exc:  # saved around the admin's check: fails its jobs
                routes[route.name] = exc
        return cls(
            routes=routes,
            timeout=settings.GPU_RENDER_TIMEOUT,
            stall_timeout=settings.GPU_STALL_TIMEOUT,
        )

    @classmethod
    def capabilities_for(cls, model: str) -> Capabilities | None:
        """What a family makes (``model`` is the route's upstream model: the family)."""
        from videos_app.diffusion import families

        family = families.FAMILIES.get(model)
        return family_capabilities(family) if family is not None else None

    def settings_for(self, model: str) -> RouteSettings:
        found = self.routes.get(model)
        if found is None:
            raise ProviderError("invalid_spec", f"No diffusers route is named {model!r}.")
        if isinstance(found, ValueError):
            raise ProviderError("invalid_spec", f"The route {model!r} is misconfigured: {found}")
        return found

    # --- a job ------------------------------------------------------------------------

    def run(self, spec: JobSpec, *, workdir: Path, on_progress: ProgressCallback) -> Assets:
        route = self.settings_for(spec.model)
        staging = Path(tempfile.mkdtemp(prefix=".diffusers-", dir=workdir))
        try:
            staged = Assets.in_dir(staging)
            job = {**spec.to_dict(), **{k: str(v) for k, v in staged.by_variant().items()}}
            done = self.request({"op": "run", "route": route.to_json(), "job": job}, on_progress)
            missing = [p.name for p in staged.by_variant().values() if not p.is_file()]
            if missing:
                raise ProviderError(
                    "render_failed", f"The model finished without writing {', '.join(missing)}."
                )
            assets = Assets.in_dir(workdir)
            if done.get("segment_only") and spec.source_video is not None:
                # The child made the new segment; the whole extension is made here, at
                # the segment's own size (the route's, which its source has too).
                size = (int(done["width"]), int(done["height"]))
                from videos_app.jobs.finish import extension_assets

                extension_assets(spec.source_video, staged.video, assets, size=size)
            else:
                for source, target in zip(
                    staged.by_variant().values(), assets.by_variant().values(), strict=True
                ):
                    os.replace(source, target)
        finally:
            _remove_tree(staging)
        on_progress(100)
        logger.info(
            "video %s diffusers: %s s/step, timings %s, peak GPU %s bytes",
            spec.video_id, done.get("seconds_per_step"), done.get("timings"),
            done.get("peak_gpu_bytes"),
        )  # fmt: skip
        return assets

    def check(self, route: RouteSettings, *, load: bool) -> dict[str, Any]:
        """The child's ``checked`` answer for a route's weights (``models check``)."""
        return self.request({"op": "check", "route": route.to_json(), "load": load}, None)

    def request(
        self, request: dict[str, Any], on_progress: ProgressCallback | None
    ) -> dict[str, Any]:
        """Send one request and follow it to its ``done`` or ``checked`` event."""
        request_id = uuid.uuid4().hex
        start_timeout = max(START_TIMEOUT, self.stall_timeout)
        with kept_child(self.command, start_timeout=start_timeout) as child:
            try:
                child.send({**request, "id": request_id})
                return _follow(child, request_id, self.timeout, self.stall_timeout, on_progress)
            except ChildGone:
                raise ProviderError("render_failed", child.exit_reason()) from None


def _follow(
    child: Child,
    request_id: str,
    timeout: float,
    stall_timeout: float,
    on_progress: ProgressCallback | None,
) -> dict[str, Any]:
    """Relay one request's events until it ends; ProviderError past a timeout (the caller
    kills the child), on a cancel, or for the child's own ``error``."""
    start = last_event = last_beat = time.monotonic()
    deadline = start + timeout
    reported = 0
    cancel_sent_at: float | None = None
    while True:
        now = time.monotonic()
        if cancel_sent_at is not None and now - cancel_sent_at >= CANCEL_GRACE:
            raise ProviderError("cancelled", "The render was stopped.")
        if now >= deadline:
            raise ProviderError(
                "render_timeout", f"The render took longer than {timeout:g} s; stopped."
            )
        if cancel_sent_at is None and now - last_event >= stall_timeout:
            raise ProviderError(
                "render_timeout", f"The model made no progress for {stall_timeout:g} s; stopped."
            )
        wait = min(deadline, last_event + stall_timeout, now + BEAT_SECONDS) - now
        event = child.next_event(wait)
        now = time.monotonic()
        if event is not None and event.get("id") == request_id:
            last_event = now
            kind = event.get("event")
            if kind == "error":
                code = str(event.get("code") or "render_failed")
                raise ChildReported(code, str(event.get("message") or "The render failed."))
            if kind in ("done", "checked"):
                return event
            if kind == "progress" and isinstance(event.get("percent"), int):
                reported = max(reported, min(99, event["percent"]))
        if on_progress is None or cancel_sent_at is not None:
            continue
        if event is not None or now - last_beat >= BEAT_SECONDS:
            last_beat = now
            on_progress(reported)  # also the job's heartbeat, while the child loads
            if getattr(on_progress, "owned", True) is False:
                # Cancelled (or taken over): the child stops at its next step.
                child.send({"op": "cancel", "id": request_id})
                cancel_sent_at = now


def family_capabilities(family: Any) -> Capabilities:
    """What a family's pipelines make, as the create form and /v1 offer it: the studio's
    sizes close to one of the family's resolutions (the child renders the nearest one),
    and the whole seconds it makes; first frames, extensions and edits where it has the
    pipeline."""
    from videos_app.diffusion import families

    ops = families.operations(family.key)
    seconds = tuple(s for s in ALL_SECONDS if s in family.seconds)
    return Capabilities(
        sizes=tuple(s for s in ALL_SIZES if _makes(family, s)),
        seconds=seconds,
        first_frame="first_frame" in ops,
        seed=True,
        extend="extend" in ops,
        extend_seconds=seconds if "extend" in ops else (),
        edit="edit" in ops,
        remix=True,
    )


def _makes(family: Any, size: str) -> bool:
    """Whether the family's nearest resolution to ``size`` is close to it: the same shape
    (within 5%) and within a factor of two in pixels."""
    from videos_app.diffusion import families

    width, height = parse_size(size)
    near_w, near_h = families.nearest_size(family.key, width, height)
    shape = abs((near_w / near_h) / (width / height) - 1)
    pixels = (near_w * near_h) / (width * height)
    return shape <= 0.05 and 0.5 <= pixels <= 2


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


# --- licences -------------------------------------------------------------------------


def licence_warning(family_key: str) -> str:
    """What an admin must know before enabling a family whose licence is not OSI-approved
    ("" for an open-source one, or an unknown family)."""
    from videos_app.diffusion import families

    family = families.FAMILIES.get(family_key)
    if family is None or family.osi:
        return ""
    return (
        f"{family.label}'s weights are under the {family.licence}, which is not an "
        "OSI-approved open-source licence: read its terms (use restrictions, commercial use) "
        "before offering it to your team."
    )


def licence_text(family_key: str, *, enabled: bool) -> str:
    """The admin's line: the family's licence, and the warning while the route is enabled."""
    from videos_app.diffusion import families

    family = families.FAMILIES.get(family_key)
    if family is None:
        return f"Unknown family {family_key!r}."
    warning = licence_warning(family_key) if enabled else ""
    osi = (
        ""
        if "OSI" in family.licence
        else (" (OSI-approved)" if family.osi else " (not OSI-approved)")
    )
    return f"{family.licence}{osi}. {warning}".strip()
