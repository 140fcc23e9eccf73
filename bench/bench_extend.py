"""Benchmark the local renderer's extensions against rendering the new segment alone.

Run: ``.venv/bin/python bench/bench_extend.py [--reps N] [--quick]``.

1. Time (the target): ``LocalRenderer.run`` extending a 20 s 1280x720 studio video by
   20 s, against ``LocalRenderer.run`` creating a 20 s 1280x720 video (what the segment
   costs by itself). Interleaved repetitions, medians. Target: ratio <= 1.5.
2. Info rows: the same extension with a new prompt (a dissolve instead of a plain
   continuation); a 100 s source (made by chaining extensions) extended by 20 s, to show
   that the source's length costs little; an uploaded 20 s MP4 of another encoding (the
   fallback, which re-encodes the source).
3. Memory: peak RSS of the worker extending the 20 s source and the 100 s one, each in
   a fresh helper process. Target: within 10%.

Prints the table as Markdown, for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import Timing, cpu_line, interleaved  # noqa: E402  (bench/ is on sys.path)

from videos_app.providers.base import JobSpec  # noqa: E402
from videos_app.providers.local import LocalRenderer  # noqa: E402

PROMPT = "a calm ocean at sunset, slow drift"
NIGHT = "a calm ocean at night, slow drift"
WIDTH, HEIGHT = 1280, 720


def create_spec(seconds: int, prompt: str = PROMPT) -> JobSpec:
    return JobSpec(
        video_id="bench",
        prompt=prompt,
        model="sora-2",
        width=WIDTH,
        height=HEIGHT,
        seconds=seconds,
        seed=7,
    )


def extend_spec(source: Path, source_seconds: int, prompt: str, source_prompt: str) -> JobSpec:
    return JobSpec(
        video_id="bench",
        prompt=prompt,
        model="sora-2",
        width=WIDTH,
        height=HEIGHT,
        seconds=source_seconds + 20,
        seed=7,
        operation="extend",
        source_video=source,
        source_prompt=source_prompt,
        segment_seconds=20,
    )


def run_job(job: JobSpec, workdir: Path) -> None:
    LocalRenderer().run(job, workdir=workdir, on_progress=lambda percent: None)


def timed(job: JobSpec) -> Timing:
    """Wall time of one job, and the CPU time of the worker process it waited for."""
    with tempfile.TemporaryDirectory() as workdir:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        run_job(job, Path(workdir))
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def make_sources(folder: Path) -> dict[str, Path]:
    """The 20 s studio video, a 100 s one (four 20 s extensions of it), a 20 s upload."""
    sources: dict[str, Path] = {}
    out = folder / "s20"
    out.mkdir()
    run_job(create_spec(20), out)
    sources["20"] = out / "video.mp4"
    previous = sources["20"]
    for total in (40, 60, 80, 100):
        out = folder / f"s{total}"
        out.mkdir()
        run_job(extend_spec(previous, total - 20, PROMPT, PROMPT), out)
        previous = out / "video.mp4"
    sources["100"] = previous
    sources["upload"] = folder / "upload.mp4"
    make_upload(sources["upload"], seconds=20)
    return sources


def make_upload(path: Path, seconds: int) -> None:
    """A 1280x720 30 fps MP4 from another encoder setup (x264 "medium", 44.1 kHz sound)."""
    import av
    import numpy as np

    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=30, options={"preset": "medium"})
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        audio = out.add_stream("aac", rate=44_100, layout="stereo")
        yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
        for i in range(seconds * 30):
            rgb = np.stack([(xx + 4 * i) % 256, yy * 255 // HEIGHT, np.full_like(xx, 90)], -1)
            frame = av.VideoFrame.from_ndarray(rgb.astype(np.uint8), format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        t = np.arange(seconds * 44_100) / 44_100
        wave = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
        for k in range(0, len(wave), 1024):
            chunk = av.AudioFrame.from_ndarray(
                np.stack([wave[k : k + 1024]] * 2), format="fltp", layout="stereo"
            )
            chunk.sample_rate, chunk.pts = 44_100, k
            out.mux(audio.encode(chunk))
        out.mux(audio.encode(None))


def peak_rss_mib(job: JobSpec) -> float:
    """Peak RSS of one job's worker process, measured in a fresh helper process."""
    payload = json.dumps(
        {
            "source": str(job.source_video),
            "seconds": job.seconds - job.segment_seconds,
        }
    )
    out = subprocess.run(
        [sys.executable, __file__, "--measure-rss", payload],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip())


def measure_rss(args: str) -> None:
    raw = json.loads(args)
    with tempfile.TemporaryDirectory() as workdir:
        run_job(extend_spec(Path(raw["source"]), raw["seconds"], PROMPT, PROMPT), Path(workdir))
    # ru_maxrss is in KiB on Linux; the worker is this process's only child.
    print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def machine() -> str:
    cpu = cpu_line()
    import av

    return f"{cpu}; PyAV {av.__version__} (FFmpeg {av.ffmpeg_version_info})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="only the target row")
    parser.add_argument("--measure-rss", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_rss:
        measure_rss(args.measure_rss)
        return
    # Like a deployed worker, let the child use cached bytecode; warm the caches once.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    folder = Path(tempfile.mkdtemp(prefix="bench-extend-"))
    try:
        print("making the sources ...", flush=True)
        sources = make_sources(folder)
        timed(create_spec(1))
        load_before = os.getloadavg()[0]
        rows: list[str] = []
        segment = create_spec(20)

        def compare(label: str, job: JobSpec, reps: int, target: float | None) -> None:
            (ext, ext_cpu), (alone, alone_cpu) = interleaved(
                reps, lambda: timed(job), lambda: timed(segment)
            )
            ratio, cpu_ratio = ext / alone, ext_cpu / alone_cpu
            verdict = ("PASS" if ratio <= target else "FAIL") if target else "info"
            rows.append(
                f"| {label} | {ext:.2f} s | {alone:.2f} s | **{ratio:.2f}** {verdict} "
                f"| {ext_cpu:.2f} s | {alone_cpu:.2f} s | {cpu_ratio:.2f} |"
            )
            print(
                f"{label:<58} wall: extend {ext:5.2f} s segment {alone:5.2f} s ratio "
                f"{ratio:.2f} {verdict} | cpu: {ext_cpu:5.2f} s {alone_cpu:5.2f} s "
                f"ratio {cpu_ratio:.2f}",
                flush=True,
            )

        compare(
            "20 s studio video + 20 s, same prompt (continues)",
            extend_spec(sources["20"], 20, PROMPT, PROMPT),
            args.reps,
            1.5,
        )
        rss: tuple[float, float] | None = None
        if not args.quick:
            extra = max(3, args.reps // 2)
            compare(
                "20 s studio video + 20 s, a new prompt (dissolve)",
                extend_spec(sources["20"], 20, NIGHT, PROMPT),
                extra,
                None,
            )
            compare(
                "100 s studio video + 20 s, same prompt",
                extend_spec(sources["100"], 100, PROMPT, PROMPT),
                extra,
                None,
            )
            compare(
                "20 s upload (x264 medium, 30 fps) + 20 s: fallback",
                extend_spec(sources["upload"], 20, PROMPT, ""),
                extra,
                None,
            )
            small = max(
                peak_rss_mib(extend_spec(sources["20"], 20, PROMPT, PROMPT)) for _ in range(2)
            )
            large = max(
                peak_rss_mib(extend_spec(sources["100"], 100, PROMPT, PROMPT)) for _ in range(2)
            )
            rss = (small, large)
            print(f"peak RSS of the worker: 20+20 s {small:.0f} MiB, 100+20 s {large:.0f} MiB")
        load = f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
        write_results(rows, rss, args.reps, load)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def write_results(rows: list[str], rss: tuple[float, float] | None, reps: int, load: str) -> None:
    lines = [
        "# Extension benchmark",
        "",
        f"Run: `.venv/bin/python bench/bench_extend.py` ({time.strftime('%Y-%m-%d')}; "
        f"{machine()}; {load}). Wall-clock medians of {reps} interleaved runs (rows marked "
        f"*info*: {max(3, reps // 2)} runs). Other jobs may share the machine: compare the "
        "ratios, which pair runs made moments apart, more than the absolute times.",
        "",
        'Extend = `LocalRenderer().run(...)` with `operation="extend"`, '
        "`segment_seconds=20`, 1280x720: the worker copies the source's packets, decodes "
        "the source frames the spritesheet needs and its last frame, renders and encodes "
        "the 20 s segment, writes the MP4 (+faststart), thumbnail and spritesheet. "
        "Segment alone = `LocalRenderer().run(...)` creating the same 20 s 1280x720 video "
        "(`" + PROMPT + "`). Both spawn the worker process.",
        "",
        "| case | wall, extend | wall, segment alone | wall ratio (target <= 1.5) "
        "| CPU, extend | CPU, segment alone | CPU ratio |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    if rss is not None:
        growth = rss[1] / rss[0] - 1
        verdict = "PASS" if growth <= 0.10 else "FAIL"
        lines += [
            "| peak RSS of the worker (max of 2 fresh runs) | 20 s + 20 s | 100 s + 20 s "
            "| growth (target <= 10%) |",
            "|---|---|---|---|",
            f"| `getrusage(RUSAGE_CHILDREN)` in a fresh helper | {rss[0]:.0f} MiB "
            f"| {rss[1]:.0f} MiB | {growth:+.1%} {verdict} |",
            "",
        ]
    lines += [
        "Notes. The extension's extra cost over the segment: copying the source's packets "
        "(milliseconds); decoding the source frames its part of the spritesheet needs and "
        "its last frame, from the keyframe before each and skipping on the way the frames "
        "no other frame refers to (with x264's default GOP of 250 frames that is about two "
        "thirds of a short source's frames, 0.2 s for 20 s of 720p); its last second of "
        "sound; and one render of the old prompt's scene to recognise a studio video's "
        "last frame. A long source adds only that decoding (the 100 s row). The fallback "
        "re-encodes the source, so it costs about as much as rendering it. Wall times "
        "depend on what else the machine runs; the CPU columns are steadier.",
        "",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
