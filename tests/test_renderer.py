"""The local renderer: real renders, decoded back with PyAV and Pillow; and its child control.

No database: these tests drive ``LocalRenderer`` and its worker process directly.
"""

from __future__ import annotations

import struct
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw

from videos_app.providers.base import Assets, JobSpec, ProviderError
from videos_app.providers.local import PROJECT_ROOT, LocalRenderer
from videos_app.renderer.encode import sheet_frame_index
from videos_app.renderer.prompt import parse_prompt

FPS = 24


def make_spec(**overrides: object) -> JobSpec:
    fields: dict[str, object] = {
        "video_id": "video_test",
        "prompt": "a calm ocean at sunset, slow drift",
        "model": "sora-2",
        "width": 1280,
        "height": 720,
        "seconds": 1,
        "seed": 7,
    }
    fields.update(overrides)
    return JobSpec(**fields)  # type: ignore[arg-type]


@dataclass
class Render:
    assets: Assets
    progress: list[int] = field(default_factory=list)


def render(workdir: Path, renderer: LocalRenderer | None = None, **overrides: object) -> Render:
    workdir.mkdir(parents=True, exist_ok=True)
    seen: list[int] = []
    assets = (renderer or LocalRenderer()).run(
        make_spec(**overrides), workdir=workdir, on_progress=seen.append
    )
    return Render(assets, seen)


def decoded_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def audio_samples(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        chunks = [frame.to_ndarray() for frame in container.decode(audio=0)]
    return np.concatenate(chunks, axis=1)


def top_level_boxes(path: Path) -> list[str]:
    """The MP4's top-level box types, in file order."""
    boxes, data = [], path.read_bytes()
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        elif size == 0:
            size = len(data) - offset
        boxes.append(kind.decode("latin-1"))
        offset += size
    return boxes


def process_gone(pid: int) -> bool:
    """No such process, or only a zombie (dead, waiting for its parent to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


# ---------------------------------------------------------------------------- a real render


@pytest.fixture(scope="module")
def portrait(tmp_path_factory: pytest.TempPathFactory) -> Render:
    """One full-size render shared by the format tests: 720x1280, 4 s."""
    workdir = tmp_path_factory.mktemp("portrait")
    return render(
        workdir, prompt="paper hearts floating over a neon city", width=720, height=1280, seconds=4
    )


def test_it_writes_the_three_assets_into_workdir_and_nothing_else(portrait: Render) -> None:
    workdir = portrait.assets.video.parent
    assert sorted(p.name for p in workdir.iterdir()) == [
        "spritesheet.jpg",
        "thumbnail.webp",
        "video.mp4",
    ]


def test_the_video_is_h264_yuv420p_at_the_requested_size_and_duration(portrait: Render) -> None:
    with av.open(str(portrait.assets.video)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.width, stream.height) == (720, 1280)
        assert stream.average_rate == FPS
        duration = float(stream.duration * stream.time_base)
        assert abs(duration - 4.0) <= 1 / FPS
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == 4 * FPS


def test_the_video_has_a_full_length_audible_aac_track(portrait: Render) -> None:
    with av.open(str(portrait.assets.video)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "aac"
        assert stream.sample_rate == 48_000
        assert stream.channels == 2
    samples = audio_samples(portrait.assets.video)
    assert abs(samples.shape[1] / 48_000 - 4.0) < 0.05
    rms = float(np.sqrt(np.mean(samples[:, 24_000:-48_000] ** 2)))
    assert 0.005 < rms < 0.5


def test_the_mp4_is_faststart_with_moov_before_mdat(portrait: Render) -> None:
    boxes = top_level_boxes(portrait.assets.video)
    assert boxes[0] == "ftyp"
    assert boxes.index("moov") < boxes.index("mdat")


def test_the_thumbnail_is_a_webp_with_a_640_px_long_side(portrait: Render) -> None:
    with Image.open(portrait.assets.thumbnail) as image:
        assert image.format == "WEBP"
        assert image.size == (360, 640)


def test_the_spritesheet_is_a_5x5_row_major_grid_of_frames(portrait: Render) -> None:
    frames = decoded_frames(portrait.assets.video)
    with Image.open(portrait.assets.spritesheet) as sheet:
        assert sheet.format == "JPEG"
        assert sheet.size == (450, 800)  # tiles of 90x160
        grid = np.asarray(sheet.convert("RGB"), np.float32)
    for tile in (0, 7, 12, 18, 24):
        row, col = divmod(tile, 5)
        cell = grid[row * 160 : (row + 1) * 160, col * 90 : (col + 1) * 90]
        diffs = []
        for index in range(len(frames)):
            small = Image.fromarray(frames[index]).resize((90, 160), Image.Resampling.BOX)
            diffs.append(float(np.abs(np.asarray(small, np.float32) - cell).mean()))
        # The tile is the frame shown at (tile + 0.5) * duration / 25, or one right next to it.
        assert abs(int(np.argmin(diffs)) - sheet_frame_index(tile, 4)) <= 1
        assert min(diffs) < 6


def test_progress_rises_monotonically_to_100(portrait: Render) -> None:
    progress = portrait.progress
    assert progress == sorted(set(progress))
    assert progress[-1] == 100
    assert all(0 <= p <= 100 for p in progress)
    assert len(progress) > 20  # real per-frame progress, not just start and end


# ---------------------------------------------------------------------------- the scene


def test_the_same_spec_renders_the_same_frames(tmp_path: Path) -> None:
    first = decoded_frames(render(tmp_path / "a").assets.video)
    second = decoded_frames(render(tmp_path / "b").assets.video)
    assert np.array_equal(first[0], second[0])
    assert np.array_equal(first[-1], second[-1])


def test_the_scene_moves(tmp_path: Path) -> None:
    frames = decoded_frames(render(tmp_path, seconds=2).assets.video)
    changed = np.abs(frames[0].astype(int) - frames[-1].astype(int)).max(axis=2) > 10
    assert changed.mean() > 0.02  # birds fly, the wave rolls, the sky drifts


def test_prompt_words_pick_the_palette(tmp_path: Path) -> None:
    ocean = decoded_frames(render(tmp_path / "o", prompt="the ocean").assets.video)[12]
    sunset = decoded_frames(render(tmp_path / "s", prompt="a sunset").assets.video)[12]
    r_ocean, _, b_ocean = ocean.reshape(-1, 3).mean(axis=0)
    r_sunset, _, b_sunset = sunset.reshape(-1, 3).mean(axis=0)
    assert b_ocean > r_ocean + 20  # mostly blue
    assert r_sunset > b_sunset + 20  # mostly red and orange
    assert b_ocean - r_ocean > b_sunset - r_sunset


def test_the_prompt_vocabulary() -> None:
    style = parse_prompt("Fast neon city, zoom in, spinning cubes", 1)
    assert (style.sky_name, style.ground, style.speed) == ("neon", "city", 2.0)
    assert (style.camera, style.spin, style.particles) == ("zoom_in", True, ("square",))
    calm = parse_prompt("a calm forest at night with fireflies", 1)
    assert (calm.sky_name, calm.ground, calm.speed) == ("night", "forest", 0.5)
    assert calm.particles == ("firefly",)
    unnamed = parse_prompt("something", 3)
    assert unnamed.sky_name == "seed"  # a palette of its own, from the seed


def test_a_reference_image_is_the_first_frame(tmp_path: Path) -> None:
    width, height = 1792, 1024
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for x in range(0, width, 64):
        draw.rectangle((x, 0, x + 63, height), fill=(x * 255 // width, 90, 255 - x * 255 // width))
    draw.ellipse((600, 300, 1200, 800), fill=(250, 220, 40))
    path = tmp_path / "reference.png"
    image.save(path)
    result = render(tmp_path / "out", width=width, height=height, seconds=2, reference_image=path)
    frames = decoded_frames(result.assets.video)
    assert frames[0].shape == (height, width, 3)
    reference = np.asarray(image, np.int16)
    assert np.abs(frames[0].astype(np.int16) - reference).mean() < 3
    assert np.abs(frames[-1].astype(np.int16) - reference).mean() > 8  # then it moves


def test_a_20_second_render_has_20_seconds_of_video_and_audio(tmp_path: Path) -> None:
    result = render(tmp_path, width=720, height=1280, seconds=20, prompt="snow falling")
    with av.open(str(result.assets.video)) as container:
        stream = container.streams.video[0]
        assert abs(float(stream.duration * stream.time_base) - 20.0) <= 1 / FPS
        assert stream.frames == 20 * FPS
    assert abs(audio_samples(result.assets.video).shape[1] / 48_000 - 20.0) < 0.05


def test_a_tall_render_has_matching_previews(tmp_path: Path) -> None:
    result = render(tmp_path, width=1024, height=1792, prompt="balloons rising, zoom")
    with Image.open(result.assets.thumbnail) as thumbnail:
        assert thumbnail.size == (366, 640)
    with Image.open(result.assets.spritesheet) as sheet:
        assert sheet.size == (5 * 91, 5 * 160)


# ---------------------------------------------------------------------------- failures


def fake_worker(tmp_path: Path, body: str) -> list[str]:
    """A child command that records its pid in tmp_path/pids, then runs ``body``."""
    script = textwrap.dedent(
        f"""
        import os, subprocess, sys, time
        def record(pid):
            with open({str(tmp_path / "pids")!r}, "a") as f:
                f.write(f"{{pid}}\\n")
        record(os.getpid())
        """
    ) + textwrap.dedent(body)
    return [sys.executable, "-c", script]


def recorded_pids(tmp_path: Path) -> list[int]:
    return [int(line) for line in (tmp_path / "pids").read_text().split()]


def expect_failure(
    tmp_path: Path, renderer: LocalRenderer, code: str
) -> tuple[ProviderError, float]:
    workdir = tmp_path / "work"
    workdir.mkdir()
    start = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        renderer.run(make_spec(), workdir=workdir, on_progress=lambda percent: None)
    elapsed = time.monotonic() - start
    assert caught.value.code == code
    assert list(workdir.iterdir()) == []  # nothing partial left behind
    return caught.value, elapsed


def test_a_hung_worker_and_its_children_are_killed_after_the_stall_timeout(tmp_path: Path) -> None:
    command = fake_worker(
        tmp_path,
        """
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        record(child.pid)
        print("progress 3", flush=True)
        time.sleep(600)
        """,
    )
    renderer = LocalRenderer(stall_timeout=1.0, timeout=30, command=command)
    error, elapsed = expect_failure(tmp_path, renderer, "render_timeout")
    assert elapsed < 5
    assert "no progress" in error.message
    pids = recorded_pids(tmp_path)
    assert len(pids) == 2
    deadline = time.monotonic() + 2  # the orphaned grandchild is reaped by init
    while not all(process_gone(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(process_gone(pid) for pid in pids)


def test_a_worker_that_keeps_reporting_is_killed_at_the_total_timeout(tmp_path: Path) -> None:
    command = fake_worker(
        tmp_path,
        """
        for n in range(10_000):
            print(f"progress {n % 50}", flush=True)
            time.sleep(0.05)
        """,
    )
    renderer = LocalRenderer(stall_timeout=1.0, timeout=1.5, command=command)
    error, elapsed = expect_failure(tmp_path, renderer, "render_timeout")
    assert 1.4 < elapsed < 4
    assert "longer than 1.5 s" in error.message
    assert all(process_gone(pid) for pid in recorded_pids(tmp_path))


def test_a_crashing_worker_is_a_render_failure(tmp_path: Path) -> None:
    command = fake_worker(
        tmp_path,
        """
        print("progress 10", flush=True)
        spec = __import__("json").loads(open(sys.argv[-1].removeprefix("@")).read())
        with open(os.path.join(os.path.dirname(spec["video"]), "video.mp4"), "wb") as f:
            f.write(b"half a file")
        os.kill(os.getpid(), 9)
        """,
    )
    error, _ = expect_failure(tmp_path, LocalRenderer(command=command), "render_failed")
    assert "SIGKILL" in error.message


def test_a_worker_error_reports_its_last_stderr_line(tmp_path: Path) -> None:
    command = fake_worker(
        tmp_path,
        """
        print("Traceback (most recent call last): ...", file=sys.stderr)
        print("error: reference image could not be read", file=sys.stderr)
        sys.exit(1)
        """,
    )
    error, _ = expect_failure(tmp_path, LocalRenderer(command=command), "render_failed")
    assert error.message == "reference image could not be read"


def test_a_worker_that_exits_without_finishing_is_a_render_failure(tmp_path: Path) -> None:
    command = fake_worker(tmp_path, 'print("progress 50", flush=True)')
    expect_failure(tmp_path, LocalRenderer(command=command), "render_failed")


def test_an_invalid_spec_is_refused_by_the_worker(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    with pytest.raises(ProviderError) as caught:
        LocalRenderer().run(make_spec(seconds=21), workdir=workdir, on_progress=lambda p: None)
    assert caught.value.code == "invalid_spec"
    assert "seconds" in caught.value.message
    assert list(workdir.iterdir()) == []


def test_an_error_in_the_progress_callback_stops_the_render(tmp_path: Path) -> None:
    command = fake_worker(
        tmp_path,
        """
        import runpy
        sys.argv = ["videos_app.renderer", *sys.argv[1:]]
        runpy.run_module("videos_app.renderer", run_name="__main__")
        """,
    )
    workdir = tmp_path / "work"
    workdir.mkdir()

    def cancel(percent: int) -> None:
        if percent >= 20:
            raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError, match="cancelled"):
        LocalRenderer(command=command).run(
            make_spec(seconds=4), workdir=workdir, on_progress=cancel
        )
    assert list(workdir.iterdir()) == []
    assert all(process_gone(pid) for pid in recorded_pids(tmp_path))


def test_the_renderer_package_does_not_import_django() -> None:
    code = textwrap.dedent(
        """
        import importlib, pkgutil, sys
        import videos_app.renderer as package
        for found in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{found.name}")
        assert "videos_app.renderer.__main__" in sys.modules
        print(sorted(name for name in sys.modules if name.split(".")[0] == "django"))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


class _CountingFont:
    """Wraps a font and counts measurements (the cost of wrapping, without a clock)."""

    def __init__(self, font: object) -> None:
        self.font = font
        self.size = font.size  # type: ignore[attr-defined]
        self.calls = 0

    def getlength(self, text: str) -> float:
        self.calls += 1
        return float(self.font.getlength(text))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "text",
    [
        "a" * 32_000,
        "word " * 6_400,
        "日本語のテキスト" * 4_000,
        "https://example.com/" + "x" * 5_000,
    ],
)
def test_captions_of_the_longest_prompts_cost_a_bounded_number_of_measurements(text: str) -> None:
    from PIL import ImageFont

    from videos_app.renderer.text import _wrap

    font = _CountingFont(ImageFont.load_default(size=40))
    lines = _wrap(text, font, 600, 3)  # type: ignore[arg-type]
    assert len(lines) == 3 and lines[-1].endswith("…")
    assert all(font.font.getlength(line) <= 600 for line in lines)
    assert font.calls < 400, font.calls


def test_the_longest_prompt_renders_whatever_its_script(tmp_path: Path) -> None:
    # 32,000 CJK characters are 96 KB of UTF-8: more than one command-line argument holds.
    result = render(tmp_path, prompt="日本語" * 10_667)
    assert result.assets.video.stat().st_size > 0
    assert result.progress[-1] == 100
