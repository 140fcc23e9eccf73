"""The embedded default provider: a procedural renderer run in a child process.

``LocalRenderer.run`` starts ``python -m videos_app.renderer @SPEC_FILE`` (the file holds
``JobSpec.to_dict()`` and the output paths as JSON) in its own session (a new process
group), reads its ``progress N`` lines, and enforces a total timeout and a stall timeout.
Whatever happens, it leaves no process behind (the whole group is SIGKILLed) and no
partial file in ``workdir`` (the child writes into a private staging folder that is moved
into place only on success).

A subprocess, not ``multiprocessing``: django-q2 workers are daemonic processes, which
may not have multiprocessing children.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from .base import Assets, JobSpec, ProgressCallback, ProviderError

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
WORKER_COMMAND = (sys.executable, "-m", "videos_app.renderer")
INVALID_SPEC_STATUS = 2  # the worker's exit status for a spec it refuses
SOURCE_UNREADABLE_STATUS = 3  # ... for a source video it cannot decode
REFERENCE_PIXELS = 1280 * 720
ENCODED_PERCENT = 97  # a create's progress once every frame is encoded (renderer.create)


def default_timeout(spec: JobSpec) -> float:
    """Generous, and growing with the work: a 12 s 720p clip renders in about 2 s on two
    cores. An extension renders its segment and copies (or, for a foreign source,
    re-encodes) the source; an edit decodes and encodes the whole source, twice over
    for parts of it when reversed. Larger frames cost proportionally more."""
    scale = max(1.0, spec.width * spec.height / REFERENCE_PIXELS)
    if spec.operation == "extend":
        work = 10.0 * spec.segment_seconds + 12.0 * (spec.seconds - spec.segment_seconds)
    elif spec.operation == "edit":
        work = 20.0 * spec.seconds
    else:
        work = 10.0 * spec.seconds
    return 60.0 + work * scale


class LocalRenderer:
    """Renders ``JobSpec`` s on this machine (see docs/renderer.md).

    ``timeout``: total seconds allowed per job (default ``default_timeout(spec)``, which
    grows with the work); ``max_timeout``: a cap on the default (a deployment's limit, kept
    under its task queue's own); ``stall_timeout``: seconds allowed without a progress
    line; ``command``: the child's argv, to which ``@SPEC_FILE`` is appended
    (tests substitute it); ``nice``: how much lower the child's CPU priority is than this
    process's (``STUDIO_RENDER_NICE``), so that a render does not slow the pages.
    """

    name = "local"

    def __init__(
        self,
        *,
        timeout: float | None = None,
        max_timeout: float | None = None,
        stall_timeout: float = 30.0,
        command: Sequence[str] | None = None,
        nice: int = 0,
    ) -> None:
        self.timeout = timeout
        self.nice = nice
        self.max_timeout = max_timeout
        self.stall_timeout = stall_timeout
        self.command = tuple(command or WORKER_COMMAND)

    def run(self, spec: JobSpec, *, workdir: Path, on_progress: ProgressCallback) -> Assets:
        staging = Path(tempfile.mkdtemp(prefix=".render-", dir=workdir))
        try:
            staged = Assets.in_dir(staging)
            payload = {**spec.to_dict(), **{k: str(v) for k, v in staged.by_variant().items()}}
            timeout = self.timeout_for(spec)
            # In a file, not on the command line: a 32,000-character prompt of CJK text is
            # larger than Linux allows one argument to be.
            spec_file = staging / "spec.json"
            spec_file.write_text(json.dumps(payload))
            marks = self._run_child([*self.command, f"@{spec_file}"], timeout, on_progress)
            missing = [path.name for path in staged.by_variant().values() if not path.is_file()]
            if missing:
                raise ProviderError(
                    "render_failed", f"The renderer finished without writing {', '.join(missing)}."
                )
            assets = Assets.in_dir(workdir)
            for source, target in zip(
                staged.by_variant().values(), assets.by_variant().values(), strict=True
            ):
                os.replace(source, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        on_progress(100)
        # Where the time went (bench/bench_time_to_video.py reads this line).
        logger.info("video %s child: %s", spec.video_id, _spans(marks))
        return assets

    def timeout_for(self, spec: JobSpec) -> float:
        if self.timeout is not None:
            return self.timeout
        timeout = default_timeout(spec)
        return min(timeout, self.max_timeout) if self.max_timeout is not None else timeout

    def _run_child(
        self, argv: list[str], timeout: float, on_progress: ProgressCallback
    ) -> dict[str, float]:
        """Run the child to its end, relaying progress (0..99; the caller reports 100).

        Returns when each stage began (``time.monotonic()``): ``spawn``, ``first`` (its
        first progress line: the interpreter and imports are done), ``encoded`` (97%:
        every frame encoded), ``done`` and ``exit``."""
        marks = {"spawn": time.monotonic()}
        with tempfile.TemporaryFile() as stderr:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                cwd=PROJECT_ROOT,
                start_new_session=True,  # its own process group, killed as a whole
                # The child dies with this process even if it is SIGKILLed (see
                # videos_app.renderer.__main__.die_with_parent).
                env={**os.environ, "STUDIO_RENDER_PARENT": str(os.getpid())},
            )
            try:
                if self.nice > 0:
                    # Set from here, just after the start: the child is one thread until
                    # its encoder starts its own, which inherit the priority. (preexec_fn
                    # is not safe in a process with threads.)
                    with contextlib.suppress(ProcessLookupError):
                        os.setpriority(
                            os.PRIO_PROCESS, process.pid, _niceness(process.pid, self.nice)
                        )
                done = self._follow(process, timeout, on_progress, marks)
            finally:
                _kill_group(process)
            marks["exit"] = time.monotonic()
            status = process.returncode
            if status == 0 and done:
                return marks
            reason = last_line(stderr)
            if status == INVALID_SPEC_STATUS:
                raise ProviderError("invalid_spec", reason or "The renderer refused this job.")
            if status == SOURCE_UNREADABLE_STATUS:
                raise ProviderError(
                    "source_unreadable", reason or "The source video could not be decoded."
                )
            if status < 0:
                name = signal.Signals(-status).name
                raise ProviderError(
                    "render_failed", f"The renderer crashed ({name}). {reason}".strip()
                )
            raise ProviderError(
                "render_failed", reason or f"The renderer stopped with exit status {status}."
            )

    def _follow(
        self,
        process: subprocess.Popen[bytes],
        timeout: float,
        on_progress: ProgressCallback,
        marks: dict[str, float],
    ) -> bool:
        """Read progress lines until the child closes stdout and exits; True if it said done.

        Raises ``ProviderError("render_timeout")`` past the total or the stall timeout.
        """
        assert process.stdout is not None
        start = last_sign = time.monotonic()
        deadline = start + timeout
        reported, done, pending = -1, False, b""
        fd = process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while True:
                now = time.monotonic()
                if now >= deadline:
                    raise ProviderError(
                        "render_timeout", f"The render took longer than {timeout:g} s; stopped."
                    )
                if now - last_sign >= self.stall_timeout:
                    raise ProviderError(
                        "render_timeout",
                        f"The renderer made no progress for {self.stall_timeout:g} s; stopped.",
                    )
                if not selector.select(min(deadline, last_sign + self.stall_timeout) - now):
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    word, _, value = line.decode(errors="replace").strip().partition(" ")
                    if word == "progress" and value.isdigit():
                        last_sign = time.monotonic()
                        marks.setdefault("first", last_sign)
                        if int(value) >= ENCODED_PERCENT:
                            marks.setdefault("encoded", last_sign)
                        percent = min(99, int(value))
                        if percent > reported:
                            reported = percent
                            on_progress(percent)
                            if getattr(on_progress, "owned", True) is False:
                                # Cancelled (or taken over): the render stops here.
                                raise ProviderError("cancelled", "The render was stopped.")
                    elif word == "done":
                        marks["done"] = time.monotonic()
                        done = True
        # stdout is closed: the child is exiting. Wait for it without reaping, so its
        # process group id stays reserved until _kill_group has used it.
        while not _has_exited(process):
            if time.monotonic() >= deadline:
                raise ProviderError(
                    "render_timeout", f"The render took longer than {timeout:g} s; stopped."
                )
            time.sleep(0.01)
        return done


def _niceness(pid: int, more: int) -> int:
    return min(19, os.getpriority(os.PRIO_PROCESS, pid) + more)


def _spans(marks: dict[str, float]) -> str:
    """``start=0.21s render=1.30s previews=0.05s exit=0.02s``: the stages' lengths."""
    names = ("spawn", "first", "encoded", "done", "exit")
    labels = ("start", "render", "previews", "exit")
    present = [(n, marks[n]) for n in names if n in marks]
    spans: dict[str, float] = {}
    for (name, t), (_, t_next) in itertools.pairwise(present):
        spans[labels[names.index(name)]] = t_next - t
    return " ".join(f"{k}={v:.3f}s" for k, v in spans.items())


def _has_exited(process: subprocess.Popen[bytes]) -> bool:
    try:
        return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:  # already reaped
        return True


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child's whole process group (it leads it), then reap the child."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    if process.stdout is not None:
        process.stdout.close()


def last_line(stream: IO[bytes], limit: int = 300) -> str:
    """A child's last stderr line (of its captured stderr file), without an ``error:``
    prefix, shortened: what a failed job says of it."""
    stream.seek(0, os.SEEK_END)
    stream.seek(max(0, stream.tell() - 4096))
    lines = [line.strip() for line in stream.read().decode(errors="replace").splitlines()]
    last = next((line for line in reversed(lines) if line), "")
    last = last.removeprefix("error:").strip()
    return last if len(last) <= limit else last[: limit - 1] + "…"
