"""The renderer's command line: ``python -m videos_app.renderer SPEC_JSON`` (or ``@FILE``).

``SPEC_JSON`` is one JSON object: ``JobSpec.to_dict()`` plus the output paths ``video``,
``thumbnail`` and ``spritesheet`` (see ``spec.read_spec``). On stdout the process writes
``progress N`` lines (integer percent, only when it changes) and a final ``done`` line;
on failure it writes ``error: <message>`` to stderr and exits with 2 for an invalid spec,
3 for a source video that cannot be decoded, 1 otherwise.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from videos_app.providers.base import Assets, JobSpec

from .create import render_create
from .edit import render_edit
from .extend import render_extend
from .spec import SOURCE_ERROR_STATUS, SPEC_ERROR_STATUS, SourceError, SpecError, read_spec


class Progress:
    def __init__(self, out: TextIO) -> None:
        self.out, self.last = out, -1

    def __call__(self, percent: int) -> None:
        if percent > self.last:
            self.last = percent
            self.out.write(f"progress {percent}\n")
            self.out.flush()


def run(spec: JobSpec, files: Assets, progress: Callable[[int], None]) -> None:
    if spec.operation == "extend":
        render_extend(spec, files, progress)
    elif spec.operation == "edit":
        render_edit(spec, files, progress)
    else:
        render_create(spec, files, progress)


PARENT_ENV = "STUDIO_RENDER_PARENT"


def die_with_parent() -> None:
    """Exit when the process that started us dies (a worker SIGKILLed mid-render).

    The renderer runs in its own session, so a signal to the worker's process group does
    not reach it; Linux's parent-death signal does. ``STUDIO_RENDER_PARENT`` holds the
    parent's pid, which closes the race of a parent that died before the call.
    """
    expected = os.environ.get(PARENT_ENV)
    if not expected:
        return
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass
    if os.getppid() != int(expected):
        os._exit(1)


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    die_with_parent()
    args = list(sys.argv[1:] if argv is None else argv)
    out = stdout or sys.stdout
    if len(args) != 1:
        print(
            "usage: python -m videos_app.renderer SPEC_JSON or @FILE",
            file=sys.stderr,
        )
        return SPEC_ERROR_STATUS
    try:
        # "@path" names a file holding the spec (the parent's way); or the JSON itself.
        text = Path(args[0][1:]).read_text() if args[0].startswith("@") else args[0]
        spec, files = read_spec(text)
        run(spec, files, Progress(out))
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return SPEC_ERROR_STATUS
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return SOURCE_ERROR_STATUS
    except Exception as exc:
        traceback.print_exc()
        message = " ".join(str(exc).split())[:300] or type(exc).__name__
        print(f"error: {message}", file=sys.stderr)
        return 1
    out.write("done\n")
    out.flush()
    return 0


if __name__ == "__main__":
    status = main()
    # The files are written and closed: skip the interpreter's teardown (freeing numpy's
    # and PyAV's objects one by one), which the parent would wait ~0.1 s for.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
