"""One real-weights job on this host's GPU, through the studio's model child: how fast is it?

    .venv/bin/python bench/gpu_run.py --family wan2.2-ti2v-5b \
        --weights /srv/weights/wan2.2-ti2v-5b [--seconds 5] [--size 1280x720] [--steps N] \
        [--dtype bfloat16] [--cpu-offload] [--vae-tiling] [--runs 2] [--frame WxH]

Runs the job as a GPU worker would (the same child, ``python -m videos_app.diffusion`` on
the GPU venv's interpreter, the same protocol and encoder), without the queue or a
database, and prints per run: seconds per denoising step, each stage's time, peak GPU
memory and the time to the video (the first run includes starting the child and loading
the weights; later runs reuse the loaded pipeline, as a worker does between jobs).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from videos_app.providers.base import Assets, JobSpec  # noqa: E402
from videos_app.providers.diffusers import (  # noqa: E402
    CHILD_MODULE,
    GPU_VENV_PYTHON,
    DiffusersEngine,
    RouteSettings,
    stop_child,
)

PROMPT = "a red kite over a green hill at golden hour, the camera slowly follows it"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--family", default="wan2.2-ti2v-5b")
    parser.add_argument("--weights", required=True)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument(
        "--size", default="1280x720", help="the studio's size (mapped to the model's)"
    )
    parser.add_argument("--steps", type=int)
    parser.add_argument("--dtype", choices=("bfloat16", "float16", "float32"))
    parser.add_argument("--cpu-offload", action="store_true")
    parser.add_argument("--vae-tiling", action="store_true")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--python", default=str(GPU_VENV_PYTHON), help="the GPU venv's Python")
    parser.add_argument("--frame", help="WxH: render at this size, not the family's (tiny weights)")
    args = parser.parse_args()
    frame = [int(n) for n in args.frame.split("x")] if args.frame else [None, None]
    route = RouteSettings(
        family=args.family, weights=str(Path(args.weights).resolve()), steps=args.steps,
        dtype=args.dtype, cpu_offload=args.cpu_offload, vae_tiling=args.vae_tiling,
        width=frame[0], height=frame[1],
    )  # fmt: skip
    engine = DiffusersEngine(
        routes={"bench": route}, timeout=7200, stall_timeout=1800,
        command=(args.python, "-m", CHILD_MODULE),
    )  # fmt: skip
    width, height = (int(n) for n in args.size.split("x"))
    try:
        for run in range(1, args.runs + 1):
            with tempfile.TemporaryDirectory() as tmp:
                files = Assets.in_dir(Path(tmp))
                spec = JobSpec(
                    video_id=f"bench-{run}", prompt=PROMPT, model="bench", width=width,
                    height=height, seconds=args.seconds, seed=run,
                )  # fmt: skip
                job = {**spec.to_dict(), **{k: str(v) for k, v in files.by_variant().items()}}
                started = time.perf_counter()
                done = engine.request({"op": "run", "route": route.to_json(), "job": job}, None)
                elapsed = time.perf_counter() - started
            report(run, done, elapsed)
    finally:
        stop_child()


def report(run: int, done: dict[str, object], elapsed: float) -> None:
    timings = done.get("timings") or {}
    assert isinstance(timings, dict)
    peak = done.get("peak_gpu_bytes")
    gpu = f"{int(peak) / 2**30:.1f} GiB" if isinstance(peak, int) else "n/a (no CUDA)"
    stages = ", ".join(f"{k} {float(v):.1f} s" for k, v in timings.items())
    print(
        f"run {run}: {done.get('width')}x{done.get('height')}, {done.get('frames')} frames at "
        f"{done.get('fps')} fps; {float(done.get('seconds_per_step') or 0):.2f} s/step; "  # type: ignore[arg-type]
        f"{stages}; peak GPU memory {gpu}; time to video {elapsed:.1f} s"
    )


if __name__ == "__main__":
    main()
