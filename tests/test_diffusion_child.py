"""The diffusers child (``python -m videos_app.diffusion``) over its protocol, with tiny
random-weight pipelines of each family, in the GPU venv, with the network blocked.

The families table and the weights check run here without torch; the rest starts the
child with the GPU venv's python (skipped without ``.venv-gpu``, failed under
``STUDIO_REQUIRE_SERVICES=1``). ``STUDIO_TEST_CHILD_LOG=1`` shows the children's stderr.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from tests.diffusers_fixtures import (
    ROOT,
    TinyWeights,
    listening_port,
    network_probe,
    offline_python,
)
from videos_app.diffusion import families

# No database or broker here: the PostgreSQL + Redis leg of make test would only repeat it.
pytestmark = pytest.mark.embedded_only

WAN22, WAN21, LTX = "wan2.2-ti2v-5b", "wan2.1-t2v-1.3b", "ltx-video-2b-distilled"
SIZE, FPS, SECONDS, STEPS = 32, 8, 2, 2
FRAMES = FPS * SECONDS
TIMEOUT = 240.0


# ---------------------------------------------------------------------------- the table


def test_frames_for_keeps_the_duration_under_each_rule() -> None:
    assert families.frames_for(WAN22, 5) == 121  # 4k + 1 holding 120 frames and one more
    assert families.frames_for(WAN21, 5) == 81
    assert families.frames_for(LTX, 2) == 49  # 8k + 1
    assert families.frames_for(LTX, 2, fps=10) == 25  # 20 frames -> the next 8k + 1


def test_nearest_size_picks_the_family_resolution_of_that_shape() -> None:
    assert families.nearest_size(WAN22, 720, 1280) == (704, 1280)
    assert families.nearest_size(WAN22, 1920, 1080) == (1280, 704)
    assert families.nearest_size(WAN21, 1280, 720) == (832, 480)
    assert families.nearest_size(LTX, 1280, 720) == (1216, 704)


def test_operations_follow_the_pipelines_each_family_has() -> None:
    assert families.operations(WAN22) == ("create", "remix", "first_frame", "extend", "edit")
    assert families.operations(WAN21) == ("create", "remix", "edit")
    assert families.operations(LTX) == ("create", "remix", "first_frame", "extend")
    assert families.FAMILIES[WAN22].expand_timesteps
    assert not families.FAMILIES[LTX].osi and families.FAMILIES[WAN22].osi


def fake_weights(root: Path, index: dict[str, Any]) -> Path:
    """A weights directory of JSON and empty weight files, shaped as ``index`` says."""
    root.mkdir(parents=True)
    (root / "model_index.json").write_text(json.dumps(index))
    configs = {"scheduler": "scheduler_config.json", "tokenizer": "tokenizer_config.json"}
    for name, value in index.items():
        if name.startswith("_") or None in value:
            continue
        (root / name).mkdir()
        (root / name / configs.get(name, "config.json")).write_text("{}")
        if name not in configs:
            (root / name / "model.safetensors").write_bytes(b"")
    return root


WAN_INDEX = {
    "_class_name": "WanPipeline",
    "scheduler": ["diffusers", "UniPCMultistepScheduler"],
    "text_encoder": ["transformers", "UMT5EncoderModel"],
    "tokenizer": ["transformers", "T5TokenizerFast"],
    "transformer": ["diffusers", "WanTransformer3DModel"],
    "transformer_2": [None, None],
    "vae": ["diffusers", "AutoencoderKLWan"],
}


def test_check_weights_passes_a_complete_directory(tmp_path: Path) -> None:
    assert families.check_weights(WAN22, fake_weights(tmp_path / "w", WAN_INDEX)) == []


def test_check_weights_names_each_missing_part(tmp_path: Path) -> None:
    root = fake_weights(tmp_path / "w", WAN_INDEX)
    shutil.rmtree(root / "transformer")
    (root / "vae" / "model.safetensors").unlink()
    (root / "text_encoder" / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"a": "model-00002-of-00002.safetensors"}})
    )
    missing = families.check_weights(WAN22, root)
    assert "transformer/ (the folder of the transformer component)" in missing
    assert "vae/ has no weight files (*.safetensors)" in missing
    assert "text_encoder/model-00002-of-00002.safetensors" in missing
    assert len(missing) == 3


def test_check_weights_says_what_is_not_a_pipeline_or_another_family(tmp_path: Path) -> None:
    assert families.check_weights(WAN22, tmp_path / "nowhere") == [
        f"the directory {tmp_path / 'nowhere'} does not exist"
    ]
    assert families.check_weights(WAN22, tmp_path) == [
        "model_index.json (not a diffusers-format pipeline directory)"
    ]
    ltx = fake_weights(tmp_path / "ltx", {**WAN_INDEX, "_class_name": "LTXPipeline"})
    assert families.check_weights(WAN22, ltx) == [
        "model_index.json names 'LTXPipeline', not WanPipeline (Wan 2.2 TI2V-5B weights)"
    ]


# ---------------------------------------------------------------------------- the child


class Child:
    """The child process, its events read on a thread into a queue."""

    def __init__(self, python: Path, env: dict[str, str] | None = None) -> None:
        self.stderr = open(os.devnull, "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [str(python), "-m", "videos_app.diffusion"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None if os.environ.get("STUDIO_TEST_CHILD_LOG") else self.stderr,
            text=True,
            cwd=ROOT,
            start_new_session=True,
            env={**os.environ, "STUDIO_RENDER_PARENT": str(os.getpid()), **(env or {})},
        )
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.ready = self.next(TIMEOUT)
        self.count = 0

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.put(json.loads(line))
        self.events.put(None)

    def next(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        event = self.events.get(timeout=timeout)
        assert event is not None, "the child exited"
        return event

    def send(self, **request: Any) -> str:
        self.count += 1
        request.setdefault("id", f"r{self.count}")
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return str(request["id"])

    def until_end(self, rid: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The request's final event (done, error, checked) and the events before it."""
        seen = []
        while True:
            event = self.next()
            assert event["id"] == rid, event
            if event["event"] in ("done", "error", "checked"):
                return event, seen
            seen.append(event)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.stderr.close()


def route(weights: Path, family: str, **options: Any) -> dict[str, Any]:
    return {
        "family": family,
        "weights": str(weights),
        "steps": STEPS,
        "dtype": "float32",
        "device": "cpu",
        "width": SIZE,
        "height": SIZE,
        "fps": FPS,
        **options,
    }


def job(out: Path, **fields: Any) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    return {
        "video_id": out.name,
        "prompt": "a red fox runs across the snow",
        "model": "tiny",
        "width": 1280,
        "height": 720,
        "seconds": SECONDS,
        "seed": 1234,
        "video": str(out / "video.mp4"),
        "thumbnail": str(out / "thumbnail.webp"),
        "spritesheet": str(out / "spritesheet.jpg"),
        **fields,
    }


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> TinyWeights:
    return TinyWeights(tmp_path_factory.mktemp("tiny-weights"))


@pytest.fixture(scope="module")
def python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The GPU venv's python, offline (the child's interpreter in every test here)."""
    return offline_python(tmp_path_factory.mktemp("offline"))


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the shared child wrote what its connect to a listening port gave."""
    return tmp_path_factory.mktemp("probe") / "result"


@pytest.fixture(scope="module")
def child(python: Path, probe: Path) -> Iterator[Child]:
    with listening_port() as port:
        with socket.create_connection(("127.0.0.1", port), timeout=3):
            pass  # reachable from here
        started = Child(python, env=network_probe(probe, port))
    yield started
    assert started.proc.stdin is not None
    started.proc.stdin.close()  # the parent is done: the child exits
    assert started.proc.wait(timeout=60) == 0
    started.stop()


@pytest.fixture
def render(
    child: Child,
    tiny_weights: TinyWeights,
    tmp_path: Path,
) -> Callable[..., dict[str, Any]]:
    """Run one job on the shared child: ``render(family, name, route=..., **job)``."""

    def go(family: str, name: str, route_options: dict[str, Any] | None = None, **fields: Any):
        rid = child.send(
            op="run",
            route=route(tiny_weights(family), family, **(route_options or {})),
            job=job(tmp_path / name, **fields),
        )
        event, before = child.until_end(rid)
        event["before"], event["dir"] = before, tmp_path / name
        return event

    return go


def decoded(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def assert_studio_video(out: Path, frames: int, fps: int = FPS, size: int = SIZE) -> None:
    """H.264 yuv420p of that size, frame count and duration, with an AAC track; and the
    WebP thumbnail and JPEG spritesheet beside it."""
    with av.open(str(out / "video.mp4")) as container:
        video = container.streams.video[0]
        assert video.codec_context.name == "h264"
        assert video.codec_context.pix_fmt == "yuv420p"
        assert (video.width, video.height) == (size, size)
        assert video.average_rate == fps
        assert [a.codec_context.name for a in container.streams.audio] == ["aac"]
        assert container.duration is not None
        assert abs(container.duration / av.time_base - frames / fps) < 0.05
        assert sum(1 for _ in container.decode(video=0)) == frames
    assert Image.open(out / "thumbnail.webp").format == "WEBP"
    assert Image.open(out / "spritesheet.jpg").format == "JPEG"
    assert sorted(p.name for p in out.iterdir()) == [
        "spritesheet.jpg",
        "thumbnail.webp",
        "video.mp4",
    ]


def test_ready_says_which_interpreter_and_libraries(child: Child) -> None:
    ready = child.ready
    assert ready["event"] == "ready" and ready["id"] is None
    assert ready["python"].startswith("3.")
    assert ready["diffusers"] == "0.42.1" and ready["torch"] == "2.13.0"
    assert ready["cuda"] is False and ready["device"] == "cpu"


@pytest.mark.parametrize("family", [WAN22, WAN21, LTX])
def test_create_makes_a_studio_video(render: Callable[..., dict[str, Any]], family: str) -> None:
    done = render(family, "create")
    assert done["event"] == "done", done
    assert done["segment_only"] is False
    assert (done["frames"], done["fps"], done["width"], done["height"]) == (FRAMES, FPS, SIZE, SIZE)
    assert set(done["timings"]) == {"load", "denoise", "decode", "encode"}
    assert done["seconds_per_step"] > 0 and done["peak_gpu_bytes"] is None
    assert_studio_video(done["dir"], FRAMES)
    stages = [e["stage"] for e in done["before"] if e["event"] == "stage"]
    assert stages == ["load", "denoise", "decode", "encode"]
    percents = [e["percent"] for e in done["before"] if e["event"] == "progress"]
    assert percents == sorted(set(percents)) and percents[0] == 0 and percents[-1] == 99


def first_frame(path: Path) -> Path:
    image = Image.new("RGB", (SIZE, SIZE), (250, 40, 20))
    image.save(path)
    return path


@pytest.mark.parametrize("family", [WAN22, LTX])
def test_create_from_a_first_frame(
    render: Callable[..., dict[str, Any]], family: str, tmp_path: Path
) -> None:
    image = first_frame(tmp_path / "first.png")
    done = render(family, "image", reference_image=str(image))
    assert done["event"] == "done", done
    assert_studio_video(done["dir"], FRAMES)
    text = render(family, "text")
    assert not np.array_equal(
        decoded(done["dir"] / "video.mp4"), decoded(text["dir"] / "video.mp4")
    )


def test_a_first_frame_is_refused_by_a_family_without_an_image_pipeline(
    render: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    error = render(WAN21, "image", reference_image=str(first_frame(tmp_path / "first.png")))
    assert error["event"] == "error" and error["code"] == "unsupported_operation"
    assert "Wan 2.1 T2V-1.3B cannot start from a first frame" in error["message"]


@pytest.mark.parametrize("family", [WAN22, LTX])
def test_remix_with_the_same_seed_and_prompt_makes_the_same_frames(
    render: Callable[..., dict[str, Any]], family: str
) -> None:
    first = render(family, "first")
    again = render(
        family, "again", operation="remix", source_prompt="a red fox runs across the snow"
    )
    other = render(family, "other", operation="remix", prompt="a blue whale sings at dusk")
    a, b, c = (decoded(e["dir"] / "video.mp4") for e in (first, again, other))
    assert np.array_equal(a, b)
    assert np.abs(a.astype(int) - c.astype(int)).mean() > 0.5


@pytest.mark.parametrize("family", [WAN22, LTX])
def test_extend_writes_only_the_new_segment(
    render: Callable[..., dict[str, Any]], family: str
) -> None:
    source = render(family, "source")
    done = render(
        family,
        "extended",
        operation="extend",
        source_video=str(source["dir"] / "video.mp4"),
        segment_seconds=1,
        seconds=SECONDS + 1,
    )
    assert done["event"] == "done", done
    assert done["segment_only"] is True and done["frames"] == FPS
    assert_studio_video(done["dir"], FPS)


def test_extend_and_edit_are_refused_where_the_family_has_no_pipeline(
    render: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    source = render(WAN21, "source")
    path = str(source["dir"] / "video.mp4")
    error = render(WAN21, "x", operation="extend", source_video=path, segment_seconds=1, seconds=3)
    assert error["code"] == "unsupported_operation"
    assert "Wan 2.1 T2V-1.3B cannot extend a video" in error["message"]
    error = render(LTX, "y", operation="edit", source_video=path)
    assert error["code"] == "unsupported_operation"
    assert "LTX-Video 2B distilled cannot edit a video" in error["message"]


@pytest.mark.parametrize("family", [WAN22, WAN21])
def test_edit_remakes_the_source_with_the_prompt(
    render: Callable[..., dict[str, Any]], family: str
) -> None:
    source = render(family, "source")
    done = render(
        family,
        "edited",
        operation="edit",
        prompt="make it night",
        source_video=str(source["dir"] / "video.mp4"),
    )
    assert done["event"] == "done", done
    assert done["segment_only"] is False
    assert_studio_video(done["dir"], FRAMES)


def test_an_unreadable_source_fails_as_such(
    render: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    (tmp_path / "junk.mp4").write_bytes(b"not a video")
    error = render(WAN22, "x", operation="edit", source_video=str(tmp_path / "junk.mp4"))
    assert error["code"] == "source_unreadable"


def test_cancel_stops_between_steps_and_the_child_goes_on(
    child: Child,
    tiny_weights: TinyWeights,
    tmp_path: Path,
) -> None:
    weights = tiny_weights(WAN21)
    rid = child.send(op="run", route=route(weights, WAN21, steps=200), job=job(tmp_path / "c"))
    while (event := child.next())["event"] != "progress" or event["percent"] <= 5:
        assert event["event"] in ("stage", "progress"), event
    child.send(op="cancel", id=rid)
    error, before = child.until_end(rid)
    assert error["code"] == "cancelled", error
    assert all(e["event"] in ("stage", "progress") for e in before)
    assert [e["stage"] for e in before if e["event"] == "stage"] == []  # still denoising
    assert sorted((tmp_path / "c").iterdir()) == []
    after = child.send(op="run", route=route(weights, WAN21), job=job(tmp_path / "d"))
    assert child.until_end(after)[0]["event"] == "done"


def test_missing_weights_fail_at_once_naming_the_path_and_what_is_missing(
    child: Child,
    tiny_weights: TinyWeights,
    tmp_path: Path,
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_weights(LTX), broken)
    shutil.rmtree(broken / "transformer")
    started = time.monotonic()
    rid = child.send(op="run", route=route(broken, LTX), job=job(tmp_path / "m"))
    error, _ = child.until_end(rid)
    assert time.monotonic() - started < 5
    assert error["code"] == "weights_missing"
    assert str(broken) in error["message"] and "transformer/" in error["message"]
    rid = child.send(op="check", route=route(broken, LTX), load=False)
    checked, _ = child.until_end(rid)
    assert checked["ok"] is False
    assert checked["missing"] == ["transformer/ (the folder of the transformer component)"]
    rid = child.send(op="check", route=route(tiny_weights(LTX), LTX), load=True)
    assert child.until_end(rid)[0]["ok"] is True


def test_malformed_requests_fail_as_invalid_specs(
    child: Child, tiny_weights: TinyWeights, tmp_path: Path
) -> None:
    bad_family = {**route(tiny_weights(WAN21), WAN21), "family": "sora-9"}
    rid = child.send(op="run", route=bad_family, job=job(tmp_path / "a"))
    error, _ = child.until_end(rid)
    assert error["code"] == "invalid_spec" and "unknown model family 'sora-9'" in error["message"]
    rid = child.send(op="run", route=route(tiny_weights(WAN21), WAN21), job={"prompt": "x"})
    assert child.until_end(rid)[0]["code"] == "invalid_spec"
    rid = child.send(
        op="run", route=route(tiny_weights(WAN21), WAN21, width=40), job=job(tmp_path / "b")
    )
    error, _ = child.until_end(rid)
    assert "multiples of 16 px" in error["message"]
    rid = child.send(op="render", route={})
    assert child.until_end(rid)[0]["message"] == "unknown op 'render'"
    long = job(tmp_path / "c", seconds=30)
    rid = child.send(op="run", route=route(tiny_weights(WAN21), WAN21), job=long)
    error, _ = child.until_end(rid)
    assert error["message"] == "Wan 2.1 T2V-1.3B makes at most 10 s at 8 fps, not 30 s"


def test_an_out_of_memory_error_names_the_memory_options_and_the_child_goes_on(
    render: Callable[..., dict[str, Any]],
) -> None:
    error = render(WAN22, "oom", route_options={"simulate": "oom"})
    assert error["code"] == "gpu_out_of_memory"
    for option in ("cpu_offload", "vae_tiling", "dtype"):
        assert option in error["message"]
    assert sorted(error["dir"].iterdir()) == []
    assert render(WAN22, "after")["event"] == "done"


def test_a_hang_sends_nothing_more_until_its_group_is_killed(
    python: Path,
    tiny_weights: TinyWeights,
    tmp_path: Path,
) -> None:
    # Its own child: the parent's stall timeout kills a hung child's process group.
    hung = Child(python)
    try:
        options = route(tiny_weights(WAN21), WAN21, simulate="hang")
        hung.send(op="run", route=options, job=job(tmp_path / "h"))
        stages = []
        while len(stages) < 2:
            event = hung.next()
            stages += [event["stage"]] if event["event"] == "stage" else []
        assert stages == ["load", "denoise"]
        assert hung.next()["percent"] == 5  # the denoising stage's start, then silence
        with pytest.raises(queue.Empty):
            hung.next(timeout=3)
    finally:
        hung.stop()
    assert hung.proc.returncode == -signal.SIGKILL
    assert sorted((tmp_path / "h").iterdir()) == []


@pytest.mark.parametrize("family", [WAN21, LTX])
def test_the_memory_options_load_and_render(
    render: Callable[..., dict[str, Any]], family: str
) -> None:
    # VAE tiling on; CPU offload asked for, which on the CPU is said to be ignored.
    done = render(family, "memory", route_options={"vae_tiling": True, "cpu_offload": True})
    assert done["event"] == "done", done
    assert done["timings"]["load"] > 0  # other settings: a pipeline of their own
    assert_studio_video(done["dir"], FRAMES)


def test_half_precision_keeps_wans_vae_in_float32(render: Callable[..., dict[str, Any]]) -> None:
    # A GPU's default: the family's bfloat16, Wan's VAE loaded apart in float32.
    done = render(WAN21, "bf16", route_options={"dtype": "bfloat16"})
    assert done["event"] == "done", done
    assert_studio_video(done["dir"], FRAMES)


def test_the_pipeline_stays_loaded_for_its_route_and_is_replaced_for_another(
    render: Callable[..., dict[str, Any]],
) -> None:
    first = render(LTX, "a")
    second = render(LTX, "b")
    assert second["loads"] == first["loads"] and second["timings"]["load"] == 0.0
    other = render(WAN21, "c")
    assert other["loads"] == first["loads"] + 1 and other["timings"]["load"] > 0
    back = render(LTX, "d")
    assert back["loads"] == first["loads"] + 2 and back["timings"]["load"] > 0


def test_the_child_has_no_network(child: Child, probe: Path) -> None:
    # The same connect that worked from this process, made inside the child at its start.
    assert child.ready["event"] == "ready"
    assert probe.read_text().startswith("blocked: ")


def test_the_child_dies_with_its_parent(python: Path) -> None:
    # A shell starts the child as its parent would (STUDIO_RENDER_PARENT) and is then
    # SIGKILLed: the child goes too, though its stdin (our pipe, on fd 3: sh gives a
    # background job /dev/null for its own) is still open. Without the variable it stays.
    command = f'exec 3<&0; STUDIO_RENDER_PARENT=$$ "{python}" -m videos_app.diffusion <&3 & wait'
    shell = subprocess.Popen(
        ["sh", "-c", command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        start_new_session=True,
        env={k: v for k, v in os.environ.items() if k != "STUDIO_RENDER_PARENT"},
    )
    try:
        assert shell.stdout is not None
        pid = json.loads(shell.stdout.readline())["pid"]
        os.kill(shell.pid, signal.SIGKILL)
        shell.wait()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and alive(pid):
            time.sleep(0.1)
        assert not alive(pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie waiting for its reaper does not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status
