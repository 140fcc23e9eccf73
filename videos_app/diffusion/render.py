"""One run: a job's operation as a pipeline call, its steps watched, its frames encoded.

- create (and remix: a create with the source's seed): text-to-video, or image-to-video
  from ``reference_image`` where the family has that pipeline;
- extend: ONLY the new segment of ``segment_seconds`` (the studio stitches it after the
  source): Wan starts an image-to-video from the source's last frame, LTX conditions on
  the source's last frames; the frames that repeat the source are dropped;
- edit: video-to-video over the source's frames (Wan);
- anything a family has no pipeline for: ``unsupported_operation``.

The step callback reports progress, ends a cancelled run between steps, and plays the
tests' simulations. Seeds drive a CPU generator, so a seed gives the same noise on any
device: a remix with the same prompt makes the same frames.
"""

from __future__ import annotations

import inspect
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Final

from videos_app.providers.base import Assets, JobSpec

from .families import CONDITION_FRAMES, Family, check_weights, count_for, nearest_size
from .output import encode
from .pipelines import Cache, free_memory, weights_failure
from .protocol import Failure, Progress, Route

EDIT_STRENGTH: Final = 0.7  # how much of the source's noise an edit replaces
OOM_ADVICE: Final = (
    "Turn on the route's memory options: cpu_offload (model CPU offload), vae_tiling, "
    "or a smaller dtype (bfloat16 or float16); or ask for a smaller size or a shorter video."
)


class Cancelled(Exception):
    """The parent cancelled this run (raised from the step callback)."""


@dataclass
class Call:
    """A pipeline call, and which of its output frames the video keeps."""

    pipeline: str  # the diffusers class name
    kwargs: dict[str, Any]
    first: int  # the first kept frame
    frames: int  # how many are kept
    segment_only: bool = False


@dataclass
class Shape:
    width: int
    height: int
    fps: int


def shape_for(route: Route, spec: JobSpec) -> Shape:
    """The size and rate to make: the route's overrides, else the family's resolution
    nearest the job's size and the family's rate."""
    f = route.model
    if route.width or route.height:
        width, height = route.width or spec.width, route.height or spec.height
    else:
        width, height = nearest_size(f.key, spec.width, spec.height)
    if width % f.align or height % f.align:
        raise Failure("invalid_spec", f"{f.label} needs sides that are multiples of {f.align} px")
    return Shape(width, height, route.fps or f.fps)


def plan(route: Route, spec: JobSpec, shape: Shape) -> Call:
    """The pipeline call for the job's operation; refusals and bounds raise ``Failure``."""
    f = route.model
    base = {"prompt": spec.prompt, "width": shape.width, "height": shape.height}
    if spec.operation in ("create", "remix"):
        frames = _frames(f, spec.seconds, shape)
        if spec.reference_image is None:
            return Call(
                f.text_to_video, {**base, "num_frames": count_for(f, frames + 1)}, 0, frames
            )
        if not f.image_to_video:
            raise _unsupported(f, "start from a first frame (it has no image-to-video pipeline)")
        image = _image(spec, shape)
        kwargs = {**base, "image": image, "num_frames": count_for(f, frames + 1)}
        return Call(f.image_to_video, kwargs, 0, frames)
    if spec.operation == "extend":
        return _extend(f, spec, shape, base)
    if spec.operation == "edit":
        if not f.video_to_video:
            raise _unsupported(f, "edit a video (it has no video-to-video pipeline)")
        frames = _frames(f, spec.seconds, shape)
        times = [i / shape.fps for i in range(count_for(f, frames + 1))]
        video = _source_frames(spec, shape, times)
        return Call(
            f.video_to_video, {**base, "video": video, "strength": EDIT_STRENGTH}, 0, frames
        )
    raise Failure("invalid_spec", f"unknown operation {spec.operation!r}")


def _extend(f: Family, spec: JobSpec, shape: Shape, base: dict[str, Any]) -> Call:
    frames = _frames(f, spec.segment_seconds, shape)
    if spec.source_video is None:
        raise Failure("invalid_spec", "an extend needs a source_video")
    end = _source_duration(spec)
    if f.condition:
        # LTX: the source's last frames lead the new clip; the video keeps what follows.
        times = [
            max(0.0, end - (CONDITION_FRAMES - i) / shape.fps) for i in range(CONDITION_FRAMES)
        ]
        from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

        condition = LTXVideoCondition(video=_source_frames(spec, shape, times), frame_index=0)
        total = count_for(f, CONDITION_FRAMES + frames)
        if total > f.max_frames:
            limit = (f.max_frames - CONDITION_FRAMES) // shape.fps
            raise Failure("invalid_spec", f"{f.label} extends by at most {limit} s at a time")
        kwargs = {**base, "conditions": [condition], "num_frames": total}
        return Call(f.condition, kwargs, CONDITION_FRAMES, frames, segment_only=True)
    if f.image_to_video:
        # Wan: the source's last frame is the segment's first (dropped: it repeats it).
        (last,) = _source_frames(spec, shape, [max(0.0, end - 0.5 / shape.fps)])
        kwargs = {**base, "image": last, "num_frames": count_for(f, frames + 1)}
        return Call(f.image_to_video, kwargs, 1, frames, segment_only=True)
    raise _unsupported(f, "extend a video (it has no image-to-video or condition pipeline)")


def _frames(f: Family, seconds: int, shape: Shape) -> int:
    """``seconds`` at the shape's rate, in frames; refused past what the model makes."""
    if seconds < 1:
        raise Failure("invalid_spec", "seconds must be at least 1")
    frames = seconds * shape.fps
    if count_for(f, frames + 1) > f.max_frames:
        limit = (f.max_frames - 1) // shape.fps
        raise Failure(
            "invalid_spec", f"{f.label} makes at most {limit} s at {shape.fps} fps, not {seconds} s"
        )
    return frames


def _unsupported(f: Family, what: str) -> Failure:
    return Failure("unsupported_operation", f"{f.label} cannot {what}.")


def _image(spec: JobSpec, shape: Shape) -> Any:
    from PIL import Image, ImageOps

    assert spec.reference_image is not None
    try:
        with Image.open(spec.reference_image) as image:
            return ImageOps.fit(image.convert("RGB"), (shape.width, shape.height))
    except OSError as exc:
        raise Failure("invalid_spec", f"the reference image cannot be read ({exc})") from exc


def _source_duration(spec: JobSpec) -> float:
    from videos_app.renderer.source import SourceVideo
    from videos_app.renderer.spec import SourceError

    assert spec.source_video is not None
    try:
        with SourceVideo(spec.source_video) as source:
            return float(source.duration)
    except SourceError as exc:
        raise Failure("source_unreadable", str(exc)) from exc


def _source_frames(spec: JobSpec, shape: Shape, times: list[float]) -> list[Any]:
    """The source's frames shown at ``times`` (seconds), fitted to the shape, as images."""
    from PIL import ImageOps

    from videos_app.renderer.source import SourceVideo
    from videos_app.renderer.spec import SourceError

    if spec.source_video is None:
        raise Failure("invalid_spec", f"an {spec.operation} needs a source_video")
    size = (shape.width, shape.height)
    try:
        with SourceVideo(spec.source_video) as source:
            return list(source.frames_at(times, lambda frame: ImageOps.fit(frame.to_image(), size)))
    except SourceError as exc:
        raise Failure("source_unreadable", str(exc)) from exc


# ---------------------------------------------------------------------------- the run


class Steps:
    """The pipeline's step callback: progress, cancel between steps, and simulations."""

    def __init__(self, progress: Progress, cancel: threading.Event, simulate: str | None) -> None:
        self.progress, self.cancel, self.simulate = progress, cancel, simulate
        self.done = 0
        self.decode_at: float | None = None  # when the last step ended

    def __call__(
        self, pipe: Any, step: int, timestep: Any, tensors: dict[str, Any]
    ) -> dict[str, Any]:
        if self.simulate == "oom":
            import torch

            raise torch.OutOfMemoryError("CUDA out of memory (simulated by the route)")
        while self.simulate == "hang":
            time.sleep(3600)
        if self.cancel.is_set():
            raise Cancelled
        self.done = step + 1
        total = max(1, int(getattr(pipe, "num_timesteps", 0) or 1))
        self.progress.fraction(self.done / total)
        if self.done >= total:
            # The pipeline decodes the latents once the last step's callback returns.
            self.decode_at = time.perf_counter()
            self.progress.start("decode")
        return tensors


def run(
    route: Route,
    spec: JobSpec,
    files: Assets,
    cache: Cache,
    progress: Progress,
    cancel: threading.Event,
) -> dict[str, Any]:
    """Make the job's video; the ``done`` event's fields. Failures raise ``Failure``."""
    import torch

    try:
        return _run(route, spec, files, cache, progress, cancel)
    except torch.OutOfMemoryError as exc:
        print(f"out of memory: {exc}", file=sys.stderr)
        raise Failure(
            "gpu_out_of_memory",
            f"The GPU ran out of memory running {route.model.label}. {OOM_ADVICE}",
        ) from None
    except Cancelled:
        raise Failure("cancelled", "The run was cancelled.") from None
    finally:
        free_memory()


def _run(
    route: Route,
    spec: JobSpec,
    files: Assets,
    cache: Cache,
    progress: Progress,
    cancel: threading.Event,
) -> dict[str, Any]:
    import torch

    missing = check_weights(route.family, route.weights)
    if missing:  # at once, before a source is read or anything heavy is loaded
        raise weights_failure(route, missing)
    shape = shape_for(route, spec)
    call = plan(route, spec, shape)
    progress.start("load")
    loaded, load_seconds = cache.get(route)
    if cancel.is_set():
        raise Cancelled
    pipe = loaded.pipeline(call.pipeline)
    if loaded.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    steps = route.steps or route.model.steps
    callback = Steps(progress, cancel, route.simulate)
    kwargs = {
        **call.kwargs,
        **dict(route.model.extra),
        "num_inference_steps": steps,
        "guidance_scale": route.guidance if route.guidance is not None else route.model.guidance,
        "generator": torch.Generator("cpu").manual_seed(spec.seed % 2**63),
        "output_type": "np",
        "callback_on_step_end": callback,
        "frame_rate": shape.fps,
    }
    accepted = inspect.signature(pipe.__call__).parameters
    progress.start("denoise")
    started = time.perf_counter()
    try:
        output = pipe(**{k: v for k, v in kwargs.items() if k in accepted})
    except (Cancelled, torch.OutOfMemoryError, Failure):
        raise
    except Exception as exc:
        print(f"the pipeline failed: {exc!r}", file=sys.stderr)
        text = " ".join(str(exc).split())
        if "out of memory" in text.lower():  # a kernel's own allocation failure
            raise torch.OutOfMemoryError(text) from exc
        raise Failure(
            "render_failed", f"The pipeline failed: {text[:300]}", fatal="CUDA error" in text
        ) from exc
    decoded = time.perf_counter()
    denoised = callback.decode_at or decoded
    frames = output.frames[0][call.first : call.first + call.frames]
    if len(frames) != call.frames:
        raise Failure("render_failed", f"the pipeline made {len(frames)} frames, not {call.frames}")
    progress.start("encode")
    encode(frames, shape.fps, files, progress.fraction)
    timings = {
        "load": load_seconds,
        "denoise": denoised - started,
        "decode": decoded - denoised,
        "encode": time.perf_counter() - decoded,
    }
    return {
        "segment_only": call.segment_only,
        "frames": call.frames,
        "fps": shape.fps,
        "width": shape.width,
        "height": shape.height,
        "seconds_per_step": timings["denoise"] / max(1, callback.done),
        "timings": timings,
        "loads": cache.loads,
        "peak_gpu_bytes": torch.cuda.max_memory_allocated() if loaded.device == "cuda" else None,
    }
