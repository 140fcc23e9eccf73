"""A tiny-pipeline job through the studio against the same pipeline called in one process.

    .venv/bin/python bench/bench_diffusers.py [--rounds 7] [--warmup 3] [--size 64] [--seconds 2]
                                              [--fps 8] [--steps 20]

The studio side: a live studio on loopback (tests/live.py: gunicorn, the workers, a GPU
worker) with a ``diffusers`` route on tiny random-weight Wan 2.2 weights
(tests/fakes/tiny_diffusers.py); each round times ``POST /v1/videos`` → ``completed``
(polled every 20 ms), everything included: the queue, the claim, the model child, the
encoder, storing the files. The direct side: one process of the GPU venv that loads the
same weights the same way (``videos_app.diffusion.pipelines.load``) and, per round, calls
the pipeline and encodes its frames with the same encoder (``diffusion.output.encode``).
Rounds alternate between the two, after warm-ups of each (the first load is not timed).
Memory: the peak resident size of the studio's model child against the direct process's.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
GPU_PYTHON = ROOT / ".venv-gpu" / "bin" / "python"
FAMILY = "wan2.2-ti2v-5b"


# --- the direct side (runs in the GPU venv) ----------------------------------------------


def direct(weights: str, size: int, seconds: int, fps: int, steps: int) -> None:
    """Serve ``run DIR`` lines: one job each, its seconds and peak RSS as a JSON line."""
    import resource

    import torch

    from videos_app.diffusion.output import encode
    from videos_app.diffusion.pipelines import load
    from videos_app.diffusion.protocol import Route
    from videos_app.diffusion.render import plan, shape_for
    from videos_app.providers.base import Assets, JobSpec

    route = Route(family=FAMILY, weights=weights, steps=steps, width=size, height=size,
                  fps=fps, device="cpu")  # fmt: skip
    loaded = load(route)
    for line in sys.stdin:
        workdir = Path(line.split(maxsplit=1)[1].strip())
        started = time.perf_counter()
        spec = JobSpec(video_id="direct", prompt="a red kite over a green hill", model=FAMILY,
                       width=1280, height=720, seconds=seconds, seed=7)  # fmt: skip
        shape = shape_for(route, spec)
        call = plan(route, spec, shape)
        output = loaded.pipeline(call.pipeline)(
            **call.kwargs, num_inference_steps=steps, guidance_scale=route.model.guidance,
            generator=torch.Generator("cpu").manual_seed(7), output_type="np",
        )  # fmt: skip
        frames = output.frames[0][call.first : call.first + call.frames]
        encode(frames, shape.fps, Assets.in_dir(workdir), lambda fraction: None)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"seconds": time.perf_counter() - started, "rss_kb": rss}), flush=True)


# --- the studio side -----------------------------------------------------------------------


def studio_job(api: Any, seconds: int) -> tuple[float, str]:
    """(seconds from the create to completed, the video's id)."""
    started = time.perf_counter()
    body = {"prompt": "a red kite over a green hill", "model": "tiny", "size": "1280x720",
            "seconds": str(seconds)}  # fmt: skip
    video_id = api.post("/videos", json=body).json()["id"]
    while True:
        status = api.get(f"/videos/{video_id}").json()["status"]
        if status == "completed":
            return time.perf_counter() - started, video_id
        if status == "failed":
            raise RuntimeError(api.get(f"/videos/{video_id}").json())
        time.sleep(0.02)


def pipeline_seconds(log: Path, video_id: str) -> float:
    """The model child's own time for a job (denoise, decode, encode), from the line the
    GPU worker logs for it: the same job's work, so its overhead is paired, whatever
    else the machine was doing meanwhile."""
    import ast

    for line in log.read_text().splitlines():
        if f"video {video_id} diffusers:" in line:
            timings = ast.literal_eval(line.split("timings ", 1)[1].split(", peak GPU")[0])
            return float(sum(timings[k] for k in ("load", "denoise", "decode", "encode")))
    raise LookupError(f"no timings logged for {video_id}")


def child_peak_rss_kb(data_dir: Path) -> int:
    """VmHWM of the studio's model child (found by its data folder in its environment)."""
    marker = f"STUDIO_DATA_DIR={data_dir}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
            status = (entry / "status").read_text()
        except OSError:
            continue
        if b"videos_app.diffusion" in cmdline and marker in environ.split(b"\0"):
            return int(next(x for x in status.splitlines() if x.startswith("VmHWM")).split()[1])
    return 0


def measure(
    studio: Any, args: argparse.Namespace, direct_job: Callable[[int], dict[str, Any]]
) -> tuple[list[float], list[float], list[float], int, int]:
    """Rounds alternating a studio job and a direct one, after a warm-up of each."""
    import httpx

    studio.wait_running("gpu-worker")
    key = studio.manage("createapikey", "admin", "--name", "bench").strip()
    api = httpx.Client(base_url=f"{studio.url}/v1", timeout=60,
                       headers={"Authorization": f"Bearer {key}"})  # fmt: skip
    # Warm-up: the child starts and loads the weights; torch's first calls of a shape are
    # slower (both sides alike).
    for n in range(args.warmup):
        studio_job(api, args.seconds)
        direct_job(-1 - n)
    through, alone, direct_rss, ids = [], [], 0, []
    for n in range(1, args.rounds + 1):
        elapsed, video_id = studio_job(api, args.seconds)
        through.append(elapsed)
        ids.append(video_id)
        result = direct_job(n)
        alone.append(result["seconds"])
        direct_rss = result["rss_kb"]
    log = studio.data_dir / "gpu-worker.log"
    own = [t - pipeline_seconds(log, i) for t, i in zip(through, ids, strict=True)]
    return through, alone, own, direct_rss, child_peak_rss_kb(studio.data_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--size", type=int, default=64, help="frame side, a multiple of 32")
    parser.add_argument("--seconds", type=int, default=2)
    parser.add_argument("--fps", type=int, default=8)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--direct", metavar="WEIGHTS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.direct:
        direct(args.direct, args.size, args.seconds, args.fps, args.steps)
        return

    from tests.live import live_studio

    tmp = Path(tempfile.mkdtemp(prefix="bench-diffusers-"))
    weights = tmp / "weights"
    subprocess.run([str(GPU_PYTHON), "-m", "tests.fakes.tiny_diffusers", FAMILY, str(weights)],
                   cwd=ROOT, check=True, capture_output=True)  # fmt: skip
    side = subprocess.Popen(
        [str(GPU_PYTHON), __file__, "--direct", str(weights), "--size", str(args.size),
         "--seconds", str(args.seconds), "--fps", str(args.fps), "--steps", str(args.steps)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert side.stdin is not None and side.stdout is not None

    def direct_job(n: int) -> dict[str, Any]:
        out = tmp / f"direct-{n}"
        out.mkdir()
        side.stdin.write(f"run {out}\n")  # type: ignore[union-attr]
        side.stdin.flush()  # type: ignore[union-attr]
        return json.loads(side.stdout.readline())  # type: ignore[union-attr]

    # Polled every 20 ms: past the API's per-key rate limit, which is not measured here.
    for studio in live_studio(tmp / "studio", STUDIO_API_RATE_LIMIT="0"):
        studio.manage("providers", "add", "gpu", "--kind", "diffusers")
        studio.manage("routes", "set", "tiny", "--provider", "gpu", "--upstream-model", FAMILY,
                      f"--option=weights={weights}", f"--option=steps={args.steps}",
                      f"--option=width={args.size}", f"--option=height={args.size}",
                      f"--option=fps={args.fps}", "--option=device=cpu")  # fmt: skip
        gpu = studio._spawn("gpu-worker", [sys.executable, "manage.py", "worker", "--gpu"])
        try:
            through, alone, own, direct_rss, child_rss = measure(studio, args, direct_job)
        finally:
            os.killpg(gpu.pid, signal.SIGKILL)  # its model child dies with it
            gpu.wait()
    side.stdin.close()
    side.wait()
    med_studio, med_direct = statistics.median(through), statistics.median(alone)
    print(f"tiny {FAMILY}, {args.size}x{args.size}, {args.seconds} s at {args.fps} fps, "
          f"{args.steps} steps, {args.rounds} rounds (medians)")  # fmt: skip
    print(f"  through the studio (/v1 create -> completed): {med_studio:.3f} s "
          f"[{', '.join(f'{t:.2f}' for t in through)}]")  # fmt: skip
    print(f"  the pipeline + encoder in one process:       {med_direct:.3f} s "
          f"[{', '.join(f'{t:.2f}' for t in alone)}]")  # fmt: skip
    print(f"  overhead: {med_studio - med_direct:+.3f} s ({(med_studio / med_direct - 1):+.1%})")
    med_own = statistics.median(own)
    print(f"  paired: the studio's own time per job (create -> completed less the child's "
          f"pipeline time in that job) {med_own:.3f} s [{', '.join(f'{t:.2f}' for t in own)}]"
          f" = {med_own / med_direct:.1%} of the direct job")  # fmt: skip
    print(f"  peak RSS: model child {child_rss / 1024:.0f} MiB, direct process "
          f"{direct_rss / 1024:.0f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
