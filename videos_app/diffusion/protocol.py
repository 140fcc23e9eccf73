"""The child's side of the protocol: requests read, events written, failures named.

One JSON object a line, UTF-8, both ways (the package docstring lists them). Events go
to a file descriptor of their own, so that nothing else a library prints reaches the
parent as a protocol line; every write is one line, flushed, under a lock (the stdin
reader thread and the render both write).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, fields
from typing import IO, Any, Final

from .families import Family, family

ERROR_CODES: Final = (
    "weights_missing",
    "gpu_out_of_memory",
    "cancelled",
    "unsupported_operation",
    "invalid_spec",
    "source_unreadable",
    "render_failed",
)
SIMULATIONS: Final = ("oom", "hang")
DTYPES: Final = ("bfloat16", "float16", "float32")
DEVICES: Final = ("auto", "cuda", "cpu")


class Failure(Exception):
    """A request that ends in an ``error`` event with this code and message.

    ``fatal``: the process cannot go on (a CUDA error leaves its context unusable): the
    child exits after the event, and the parent starts a fresh one for the next job.
    """

    def __init__(self, code: str, message: str, *, fatal: bool = False) -> None:
        assert code in ERROR_CODES, code
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.fatal = code, message, fatal


@dataclass(frozen=True, kw_only=True)
class Route:
    """How a route runs its family: ``None`` takes the family's default.

    ``width``, ``height`` and ``fps`` replace the family's sizes and rate (tests ask tiny
    pipelines for 64x64 at a low rate); ``simulate`` is for tests only.
    """

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

    @classmethod
    def from_dict(cls, raw: Any) -> Route:
        """The route of a request; ``Failure("invalid_spec")`` for anything malformed."""
        if not isinstance(raw, dict):
            raise Failure("invalid_spec", "the route must be a JSON object")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in raw.items() if k in known and v is not None}
        try:
            family(str(values.get("family")))
        except KeyError as exc:
            raise Failure("invalid_spec", str(exc.args[0])) from None
        if not values.get("weights"):
            raise Failure("invalid_spec", "the route names no weights directory")
        route = cls(**values)
        route._check()
        return route

    def _check(self) -> None:
        if self.dtype is not None and self.dtype not in DTYPES:
            raise Failure("invalid_spec", f"dtype must be one of {', '.join(DTYPES)}")
        if self.device not in DEVICES:
            raise Failure("invalid_spec", f"device must be one of {', '.join(DEVICES)}")
        if self.simulate is not None and self.simulate not in SIMULATIONS:
            raise Failure("invalid_spec", f"simulate must be one of {', '.join(SIMULATIONS)}")
        for name in ("steps", "width", "height", "fps"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise Failure("invalid_spec", f"{name} must be a positive whole number")

    @property
    def model(self) -> Family:
        return family(self.family)

    def cache_key(self) -> tuple[Any, ...]:
        """What a loaded pipeline depends on (not the per-call settings)."""
        return (self.family, self.weights, self.dtype, self.cpu_offload, self.vae_tiling,
                self.device)  # fmt: skip


class Events:
    """Writes events, one JSON line each, flushed, from any thread."""

    def __init__(self, out: IO[str]) -> None:
        self.out, self.lock = out, threading.Lock()

    def send(self, event: str, request: str | None, **fields: Any) -> None:
        line = json.dumps({"event": event, "id": request, **fields}, ensure_ascii=False)
        with self.lock:
            self.out.write(line + "\n")
            self.out.flush()

    def error(self, request: str | None, failure: Failure) -> None:
        self.send("error", request, code=failure.code, message=failure.message)


class Progress:
    """A run's progress events: percent only increasing, 0..99, and a ``stage`` event at
    each stage's start. The stages' spans follow their cost: loading the first few
    percent, denoising most, then decoding and encoding."""

    SPANS: Final = {"load": (0, 5), "denoise": (5, 88), "decode": (88, 93), "encode": (93, 99)}

    def __init__(self, events: Events, request: str) -> None:
        self.events, self.request, self.last = events, request, -1
        self.stage = ""

    def start(self, stage: str) -> None:
        self.stage = stage
        self.events.send("stage", self.request, stage=stage)
        self.fraction(0.0)

    def fraction(self, done: float) -> None:
        """``done`` (0..1) of the current stage is done."""
        lo, hi = self.SPANS[self.stage]
        percent = min(99, int(lo + (hi - lo) * min(1.0, max(0.0, done))))
        if percent > self.last:
            self.last = percent
            self.events.send("progress", self.request, percent=percent)
