"""Open-weights models through a live studio: route → GPU queue → GPU worker → the diffusers
child (the GPU venv's interpreter) → a tiny random-weight pipeline built in code → the
studio's MP4, decoded and checked → the gallery and /v1.

The tiny pipelines (tests/fakes/tiny_diffusers.py) are saved with ``save_pretrained`` and
loaded by the child exactly as real weights are. The child runs with the network blocked
(tests/diffusers_fixtures.py: in a network namespace of its own, else with sockets that
refuse to connect), which a test proves from inside it. One studio for the module: first
without a GPU worker (a GPU job waits and its page says so; the CPU worker never takes
it), then with one.

Needs the GPU venv (``make .venv-gpu/.installed``): skipped without it, except in CI
(``STUDIO_REQUIRE_SERVICES=1``), where its absence fails.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from PIL import Image

from tests.diffusers_fixtures import TinyWeights, network_probe, offline_python
from tests.live import LiveStudio, live_studio

pytestmark = pytest.mark.live

FAMILIES = ("wan2.2-ti2v-5b", "wan2.1-t2v-1.3b", "ltx-video-2b-distilled")
# The tiny pipelines' frames: 64x64 at 8 fps (the route's test-only overrides).
TINY = {"width": 64, "height": 64, "fps": 8, "steps": 2, "device": "cpu"}
SIZE = {"wan2.2-ti2v-5b": "1280x720", "wan2.1-t2v-1.3b": "640x360"}


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny weights of each family (one build, in the GPU venv), and an incomplete copy
    (model_index.json alone)."""
    tiny = TinyWeights(tmp_path_factory.mktemp("weights"))
    built = {family: tiny(family) for family in FAMILIES}
    incomplete = tiny.root / "incomplete"
    incomplete.mkdir()
    shutil.copy(built["wan2.2-ti2v-5b"] / "model_index.json", incomplete)
    return {**built, "incomplete": incomplete}


@pytest.fixture(scope="module")
def studio(
    tmp_path_factory: pytest.TempPathFactory, weights: dict[str, Path]
) -> Iterator[LiveStudio]:
    # The model child runs offline (its own network namespace, else refused sockets).
    offline = offline_python(tmp_path_factory.mktemp("offline"))
    for live in live_studio(
        tmp_path_factory.mktemp("gpu-studio"),
        STUDIO_HEARTBEAT_STALE="3",
        STUDIO_DIFFUSERS_PYTHON=str(offline),
    ):
        live.manage("providers", "add", "gpu", "--kind", "diffusers")
        for family in FAMILIES:
            add_route(live, family, family, weights[family])
        add_route(live, "tiny-slow", "wan2.2-ti2v-5b", weights["wan2.2-ti2v-5b"], steps=200)
        add_route(live, "tiny-oom", "wan2.2-ti2v-5b", weights["wan2.2-ti2v-5b"], simulate="oom")
        add_route(live, "tiny-incomplete", "wan2.2-ti2v-5b", weights["incomplete"])
        yield live


def add_route(live: LiveStudio, name: str, family: str, weights: Path, **more: Any) -> None:
    options = {**TINY, **more, "weights": str(weights)}
    args = [f"--option={key}={value}" for key, value in options.items()]
    live.manage("routes", "set", name, "--provider", "gpu", "--upstream-model", family, *args)


@pytest.fixture(scope="module")
def api(studio: LiveStudio) -> httpx.Client:
    key = studio.manage("createapikey", "admin", "--name", "gpu").strip()
    return httpx.Client(
        base_url=f"{studio.url}/v1", headers={"Authorization": f"Bearer {key}"}, timeout=30
    )


@pytest.fixture(scope="module")
def gpu_worker(
    studio: LiveStudio, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    """A GPU worker (``manage.py worker --gpu``), started once the no-worker test ran; its
    model child tries to reach the studio's port as it starts, and writes what happened."""
    studio.probe = tmp_path_factory.mktemp("probe") / "result"  # type: ignore[attr-defined]
    studio.env.update(network_probe(studio.probe, studio.port))  # type: ignore[attr-defined]
    studio.worker_gpu = start_gpu_worker(studio)  # type: ignore[attr-defined]
    yield studio.worker_gpu  # type: ignore[attr-defined]
    stop(studio.worker_gpu)  # type: ignore[attr-defined]


def start_gpu_worker(studio: LiveStudio) -> subprocess.Popen[bytes]:
    process = studio._spawn("gpu-worker", [sys.executable, "manage.py", "worker", "--gpu"])
    studio.wait_running("gpu-worker")
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    import signal

    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def create(api: httpx.Client, model: str, **fields: Any) -> dict[str, Any]:
    data = {"prompt": "a red kite over a green hill", "model": model, "seconds": "2",
            "size": SIZE.get(model, "1280x720"), **fields}  # fmt: skip
    image = data.pop("image", None)
    if image is not None:
        response = api.post("/videos", data=data, files={"input_reference": image})
    else:
        response = api.post("/videos", json=data)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def finished(api: httpx.Client, video_id: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = api.get(f"/videos/{video_id}").json()
        if body["status"] in ("completed", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"{video_id} did not finish: {body}")


def decoded(api: httpx.Client, video_id: str) -> dict[str, Any]:
    """What the stored MP4 is, read back through /v1's content endpoint."""
    content = api.get(f"/videos/{video_id}/content")
    assert content.status_code == 200
    with av.open(io.BytesIO(content.content)) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video))
        return {
            "codec": video.codec_context.name,
            "pix_fmt": video.codec_context.pix_fmt,
            "size": (video.codec_context.width, video.codec_context.height),
            "frames": frames,
            "seconds": round(float(video.duration * video.time_base), 2),
            "audio": [a.codec_context.name for a in container.streams.audio],
        }


def png(width: int, height: int) -> tuple[str, bytes, str]:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(buffer, "PNG")
    return ("first.png", buffer.getvalue(), "image/png")


def video_row(studio: LiveStudio, video_id: str, *fields: str) -> list[str]:
    code = (f"from videos_app.models import Video; v = Video.objects.get(pk='{video_id}'); "
            f"print(*(getattr(v, f) for f in {fields!r}))")  # fmt: skip
    return studio.manage("shell", "--no-imports", "-c", code).split()


# --- without a GPU worker ---------------------------------------------------------------


def test_without_a_gpu_worker_a_gpu_job_waits_and_its_page_says_so(
    studio: LiveStudio, api: httpx.Client
) -> None:
    video = create(api, "wan2.2-ti2v-5b")
    time.sleep(3)  # the CPU worker polls every 100 ms: it would have taken it by now
    assert api.get(f"/videos/{video['id']}").json()["status"] == "queued"
    page = studio.client().get(f"/videos/{video['id']}")
    assert "Queued \N{EM DASH} no GPU worker is running" in page.text
    assert api.post(f"/videos/{video['id']}/cancel").status_code == 200


# --- with one -----------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_a_create_runs_on_the_gpu_worker_and_lands_in_the_gallery_and_v1(
    studio: LiveStudio, api: httpx.Client, gpu_worker: Any, family: str
) -> None:
    video = finished(api, create(api, family)["id"])
    assert video["status"] == "completed", video
    assert decoded(api, video["id"]) == {
        "codec": "h264", "pix_fmt": "yuv420p", "size": (64, 64), "frames": 16, "seconds": 2.0,
        "audio": ["aac"],
    }  # fmt: skip
    assert video_row(studio, video["id"], "provider", "attempts") == ["gpu", "1"]
    assert video["id"] in studio.client().get("/").text
    listed = [v["id"] for v in api.get("/videos", params={"limit": 50}).json()["data"]]
    assert video["id"] in listed


def test_the_model_child_could_not_reach_the_network(studio: LiveStudio, gpu_worker: Any) -> None:
    # The child that made the videos above tried the studio's own port (which answers
    # any other process) when it started.
    assert studio.probe.read_text().startswith("blocked"), studio.tail()  # type: ignore[attr-defined]


@pytest.mark.parametrize("family", FAMILIES)
def test_first_frame_remix_and_extend_or_a_clear_refusal(
    api: httpx.Client, gpu_worker: Any, family: str
) -> None:
    takes_images = family != "wan2.1-t2v-1.3b"
    size = SIZE.get(family, "1280x720")
    width, height = (int(n) for n in size.split("x"))
    if takes_images:
        first = finished(api, create(api, family, image=png(width, height))["id"])
        assert first["status"] == "completed", first
        assert decoded(api, first["id"])["frames"] == 16
    else:
        form = {"prompt": "p", "model": family, "seconds": "2", "size": size}
        refused = api.post("/videos", data=form, files={"input_reference": png(width, height)})
        assert refused.status_code == 400
        assert "does not start from an image" in refused.text

    source = finished(api, create(api, family)["id"])
    remix = api.post(f"/videos/{source['id']}/remix", json={"prompt": "a blue kite instead"})
    assert remix.status_code == 200, remix.text
    remixed = finished(api, remix.json()["id"])
    assert remixed["status"] == "completed", remixed
    assert decoded(api, remixed["id"])["frames"] == 16

    extend = api.post("/videos/extensions", json={"prompt": "it flies on", "seconds": "2",
                                                  "video": {"id": source["id"]}})  # fmt: skip
    if not takes_images:
        assert extend.status_code == 400
        assert "cannot extend" in extend.text
        return
    assert extend.status_code == 200, extend.text
    extended = finished(api, extend.json()["id"])
    assert extended["status"] == "completed", extended
    stitched = decoded(api, extended["id"])
    assert (stitched["codec"], stitched["size"], stitched["seconds"]) == ("h264", (64, 64), 4.0)
    assert stitched["audio"] == ["aac"]


def test_cancel_mid_steps_stops_the_job_and_the_worker_goes_on(
    studio: LiveStudio, api: httpx.Client, gpu_worker: Any
) -> None:
    video = create(api, "tiny-slow")
    web = studio.client()
    deadline = time.monotonic() + 120
    while api.get(f"/videos/{video['id']}").json()["progress"] < 10:
        assert time.monotonic() < deadline, studio.tail()
        time.sleep(0.1)
    assert api.post(f"/videos/{video['id']}/cancel").status_code == 200
    after = finished(api, video["id"])
    assert (after["status"], after["error"]["code"]) == ("failed", "cancelled")
    assert "Cancelled" in web.get(f"/videos/{video['id']}").text
    assert finished(api, create(api, "wan2.2-ti2v-5b")["id"])["status"] == "completed"


@pytest.mark.parametrize(
    ("model", "code", "words"),
    [
        ("tiny-incomplete", "weights_missing", "transformer"),
        ("tiny-oom", "gpu_out_of_memory", "cpu_offload"),
    ],
)
def test_a_failure_names_its_cause_and_the_worker_goes_on(
    api: httpx.Client, gpu_worker: Any, model: str, code: str, words: str
) -> None:
    failed = finished(api, create(api, model)["id"])
    assert (failed["status"], failed["error"]["code"]) == ("failed", code)
    assert words in failed["error"]["message"]
    assert finished(api, create(api, "wan2.2-ti2v-5b")["id"])["status"] == "completed"


def test_a_gpu_job_survives_its_worker_being_killed_with_one_set_of_assets(
    studio: LiveStudio, api: httpx.Client, gpu_worker: Any
) -> None:
    video = create(api, "tiny-slow")
    deadline = time.monotonic() + 120
    while api.get(f"/videos/{video['id']}").json()["progress"] < 10:
        assert time.monotonic() < deadline, studio.tail()
        time.sleep(0.1)
    assert api.get(f"/videos/{video['id']}").json()["status"] == "in_progress"
    stop(studio.worker_gpu)  # type: ignore[attr-defined]
    time.sleep(3.5)  # its heartbeat goes stale (STUDIO_HEARTBEAT_STALE=3)
    assert video["id"] in studio.manage("recoverjobs")
    studio.worker_gpu = start_gpu_worker(studio)  # type: ignore[attr-defined]
    done = finished(api, video["id"], timeout=400)
    assert done["status"] == "completed", done
    assert video_row(studio, video["id"], "status", "attempts") == ["completed", "2"]
    files = sorted(p.name for p in (studio.data_dir / "media" / "videos" / video["id"]).iterdir())
    assert files == ["spritesheet.jpg", "thumbnail.webp", "video.mp4"]
    assert studio.leftover_work_folders() == []
