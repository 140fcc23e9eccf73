"""The diffusers engine's studio side: its kept-alive child, progress, cancel, timeouts and
restarts (against tests/fakes/diffusers_child.py, which speaks the child's protocol without
torch), the GPU queue, the route's settings, and ``manage.py models check``."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import av
import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_q.conf import Conf

from tests.factories import client_for, make_user, make_video, mp4_bytes
from videos_app import polling, services
from videos_app.jobs.finish import extension_assets
from videos_app.jobs.health import gpu_clusters, gpu_stat_key
from videos_app.jobs.recover import video_jobs_recover
from videos_app.models import ModelRoute, Provider, Video
from videos_app.providers import catalog, diffusers, registry
from videos_app.providers.base import Assets, JobSpec, ProviderError
from videos_app.providers.diffusers import DiffusersEngine, RouteSettings

FAKE_CHILD = (sys.executable, "-m", "tests.fakes.diffusers_child")


@pytest.fixture(autouse=True)
def no_child_left() -> Iterator[None]:
    """Each test starts without a kept child and leaves none behind."""
    diffusers.stop_child()
    yield
    diffusers.stop_child()


def engine(weights: Path, *, stall: float = 5.0, **route: object) -> DiffusersEngine:
    settings = RouteSettings(family="wan2.1-t2v-1.3b", weights=str(weights), **route)  # type: ignore[arg-type]
    return DiffusersEngine(
        routes={"open-wan": settings}, timeout=60, stall_timeout=stall, command=FAKE_CHILD
    )


def spec(prompt: str = "a lighthouse at dusk") -> JobSpec:
    return JobSpec(
        video_id="v1", prompt=prompt, model="open-wan", width=640, height=360, seconds=2, seed=7
    )


class Progress:
    """An ``on_progress`` that records what it is told and can turn the job "not ours"."""

    def __init__(self, cancel_at: int | None = None) -> None:
        self.seen: list[int] = []
        self.owned = True
        self.cancel_at = cancel_at

    def __call__(self, percent: int) -> None:
        self.seen.append(percent)
        if self.cancel_at is not None and percent >= self.cancel_at:
            self.owned = False


def child_pid() -> int:
    assert diffusers._child is not None
    return diffusers._child.process.pid


def test_a_run_relays_progress_and_moves_the_three_files_into_the_workdir(tmp_path: Path) -> None:
    progress = Progress()
    assets = engine(tmp_path).run(spec(), workdir=tmp_path, on_progress=progress)
    assert assets.video == tmp_path / "video.mp4"
    assert [p.read_bytes()[:5] for p in assets.by_variant().values()] == [b"fake "] * 3
    assert progress.seen[-1] == 100
    assert progress.seen == sorted(progress.seen)
    assert max(progress.seen[:-1]) <= 99
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".diffusers-")]


def test_the_child_is_kept_alive_between_jobs(tmp_path: Path) -> None:
    gpu = engine(tmp_path)
    gpu.run(spec(), workdir=tmp_path, on_progress=Progress())
    first = child_pid()
    (tmp_path / "second").mkdir()
    gpu.run(spec(), workdir=tmp_path / "second", on_progress=Progress())
    assert child_pid() == first


def test_a_line_that_is_not_json_is_skipped(tmp_path: Path) -> None:
    engine(tmp_path).run(spec("noise"), workdir=tmp_path, on_progress=Progress())


def test_the_childs_error_is_the_jobs_and_the_child_goes_on(tmp_path: Path) -> None:
    with pytest.raises(ProviderError) as raised:
        engine(tmp_path / "none").run(spec(), workdir=tmp_path, on_progress=Progress())
    assert raised.value.code == "weights_missing"
    survivor = child_pid()
    engine(tmp_path).run(spec(), workdir=tmp_path, on_progress=Progress())
    assert child_pid() == survivor


def test_after_an_out_of_memory_error_the_next_job_gets_a_fresh_child(tmp_path: Path) -> None:
    # The child exits after reporting a CUDA error; the next job, sent at once, must not
    # be written to it on its way out.
    with pytest.raises(ProviderError) as raised:
        engine(tmp_path, simulate="oom").run(spec(), workdir=tmp_path, on_progress=Progress())
    assert raised.value.code == "gpu_out_of_memory"
    assert "CUDA out of memory" in raised.value.message
    gone = child_pid()
    engine(tmp_path).run(spec(), workdir=tmp_path, on_progress=Progress())
    assert child_pid() != gone


def test_missing_weights_fail_at_once_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(ProviderError) as raised:
        engine(missing).run(spec(), workdir=tmp_path, on_progress=Progress())
    assert raised.value.code == "weights_missing"
    assert str(missing) in raised.value.message


def test_a_cancel_stops_the_run_between_steps_and_keeps_the_child(tmp_path: Path) -> None:
    progress = Progress(cancel_at=1)
    gpu = engine(tmp_path, steps=40)
    started = time.monotonic()
    with pytest.raises(ProviderError) as raised:
        gpu.run(spec(), workdir=tmp_path, on_progress=progress)
    assert raised.value.code == "cancelled"
    assert time.monotonic() - started < 40 * 0.05  # it did not run every step
    kept = child_pid()
    gpu.run(spec(), workdir=tmp_path, on_progress=Progress())
    assert child_pid() == kept


def test_a_hung_render_is_stopped_by_the_stall_timeout_and_the_next_job_gets_a_new_child(
    tmp_path: Path,
) -> None:
    with pytest.raises(ProviderError) as raised:
        engine(tmp_path, stall=1.0, simulate="hang").run(
            spec(), workdir=tmp_path, on_progress=Progress()
        )
    assert raised.value.code == "render_timeout"
    assert "no progress for 1 s" in raised.value.message
    assert diffusers._child is None  # its whole group was killed
    engine(tmp_path).run(spec(), workdir=tmp_path, on_progress=Progress())


def test_the_total_timeout_stops_a_render_that_keeps_stepping(tmp_path: Path) -> None:
    settings = RouteSettings(family="wan2.1-t2v-1.3b", weights=str(tmp_path), steps=400)
    gpu = DiffusersEngine(
        routes={"open-wan": settings}, timeout=1.0, stall_timeout=5, command=FAKE_CHILD
    )
    with pytest.raises(ProviderError) as raised:
        gpu.run(spec(), workdir=tmp_path, on_progress=Progress())
    assert raised.value.code == "render_timeout"
    assert "longer than 1 s" in raised.value.message


def test_a_child_that_crashes_mid_job_fails_it_and_the_next_job_restarts_one(
    tmp_path: Path,
) -> None:
    with pytest.raises(ProviderError) as raised:
        engine(tmp_path).run(spec("crash"), workdir=tmp_path, on_progress=Progress())
    assert raised.value.code == "render_failed"
    assert "SIGKILL" in raised.value.message
    engine(tmp_path).run(spec(), workdir=tmp_path, on_progress=Progress())


def test_a_child_killed_between_jobs_is_started_again(tmp_path: Path) -> None:
    gpu = engine(tmp_path)
    gpu.run(spec(), workdir=tmp_path, on_progress=Progress())
    dead = child_pid()
    os.killpg(dead, signal.SIGKILL)
    time.sleep(0.1)
    gpu.run(spec(), workdir=tmp_path, on_progress=Progress())
    assert child_pid() != dead


def test_a_route_the_engine_does_not_know_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProviderError) as raised:
        engine(tmp_path).run(
            JobSpec(
                video_id="v", prompt="p", model="other", width=64, height=64, seconds=2, seed=1
            ),
            workdir=tmp_path,
            on_progress=Progress(),
        )
    assert raised.value.code == "invalid_spec"


def test_a_segment_only_extension_is_stitched_to_its_source_for_its_whole_length(
    tmp_path: Path,
) -> None:
    # The child makes only the new segment, at the model's own rate (8 fps here): the
    # stitch holds each part's last frame to its end instead of cutting it short.
    source, segment = tmp_path / "source.mp4", tmp_path / "segment.mp4"
    source.write_bytes(mp4_bytes(seconds=2.0, size=(64, 64), fps=8))
    segment.write_bytes(mp4_bytes(seconds=2.0, size=(64, 64), fps=8))
    assets = Assets.in_dir(tmp_path)
    extension_assets(source, segment, assets, size=(64, 64))
    with av.open(str(assets.video)) as container:
        stream = container.streams.video[0]
        assert sum(1 for _ in container.decode(stream)) == 4 * 24
        assert float(stream.duration * stream.time_base) == 4.0
    assert assets.thumbnail.read_bytes()[:4] == b"RIFF"
    assert assets.spritesheet.read_bytes()[:2] == b"\xff\xd8"


def test_check_asks_the_child(tmp_path: Path) -> None:
    settings = RouteSettings(family="wan2.1-t2v-1.3b", weights=str(tmp_path / "none"))
    answer = engine(tmp_path).check(settings, load=False)
    assert answer["ok"] is False
    assert answer["missing"] == ["model_index.json"]


# --- the studio around it: queue, sweep, page, worker, route settings, models check --------


def gpu_route(
    weights: Path | str = "/srv/weights/wan", family: str = "wan2.2-ti2v-5b"
) -> ModelRoute:
    provider, _ = Provider.objects.get_or_create(name="gpu", defaults={"kind": "diffusers"})
    return ModelRoute.objects.create(
        name=f"open-{family}", provider=provider, upstream_model=family,
        options={"weights": str(weights)},
    )  # fmt: skip


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(video id, queue) of each render task sent to the broker."""
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(
        services, "async_task", lambda path, video_id, **kw: sent.append((video_id, kw["cluster"]))
    )
    return sent


@pytest.mark.django_db
class TestGpuQueue:
    def test_a_job_on_a_diffusers_route_goes_to_the_gpu_queue_and_others_do_not(
        self, enqueued: list[tuple[str, str]], django_capture_on_commit_callbacks: Any
    ) -> None:
        route = gpu_route()
        owner = make_user()
        with django_capture_on_commit_callbacks(execute=True):
            gpu = services.video_create(owner=owner, prompt="p", model=route.name,
                                        size="1280x720", seconds=4)  # fmt: skip
            cpu = services.video_create(owner=owner, prompt="p", model="sora-2")
        assert gpu.provider == "gpu"
        assert enqueued == [(gpu.pk, settings.GPU_QUEUE), (cpu.pk, settings.QUEUE_NAME)]
        assert f"{settings.QUEUE_NAME}-gpu" == settings.GPU_QUEUE

    def test_the_gpu_cluster_runs_one_job_at_a_time(self) -> None:
        gpu = settings.Q_CLUSTER["ALT_CLUSTERS"][settings.GPU_QUEUE]  # type: ignore[index]
        assert gpu["workers"] == 1
        assert gpu["timeout"] > settings.GPU_RENDER_TIMEOUT

    def test_the_sweep_queues_a_lost_gpu_job_again_on_the_gpu_queue(
        self, enqueued: list[tuple[str, str]]
    ) -> None:
        gpu_route()
        lost = make_video(provider="gpu")
        Video.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(seconds=40))
        assert video_jobs_recover() == [lost.pk]
        assert enqueued == [(lost.pk, settings.GPU_QUEUE)]

    def test_a_gpu_job_waiting_behind_a_gpu_task_is_not_queued_twice(
        self, enqueued: list[tuple[str, str]]
    ) -> None:
        # The render queue is empty, but the GPU queue holds a task (a long render's
        # successor): the GPU job is in line, not lost.
        from django_q.brokers import get_broker

        gpu_route()
        broker = get_broker(settings.GPU_QUEUE)
        task = broker.enqueue("a GPU task ahead")
        try:
            waiting = make_video(provider="gpu")
            Video.objects.filter(pk=waiting.pk).update(
                created_at=timezone.now() - timedelta(minutes=5)
            )
            assert video_jobs_recover() == []
        finally:
            broker.delete(task) if Conf.ORM else broker.purge_queue()

    def test_worker_gpu_runs_the_gpu_cluster(self, monkeypatch: pytest.MonkeyPatch) -> None:
        started: dict[str, str] = {}

        def execve(path: str, argv: list[str], env: dict[str, str]) -> None:
            started.update(env)
            raise SystemExit(0)

        monkeypatch.setattr(os, "execve", execve)
        with pytest.raises(SystemExit):
            call_command("worker", "--gpu")
        assert started["Q_CLUSTER_NAME"] == settings.GPU_QUEUE


@pytest.mark.django_db
class TestNoGpuWorker:
    def queued_gpu_video(self) -> Video:
        gpu_route()
        return make_video(provider="gpu", owner=make_user("maya"))

    def test_a_queued_gpu_job_says_no_gpu_worker_is_running(self) -> None:
        video = self.queued_gpu_video()
        client = client_for(video.owner)
        page = client.get(f"/videos/{video.pk}").content.decode()
        assert "Queued \N{EM DASH} no GPU worker is running" in page
        token = polling.poll_token(video.pk)
        poll = client.get(f"/videos/{video.pk}/status?n=1&t={token}").content.decode()
        assert "no GPU worker is running" in poll

    def test_it_says_nothing_of_the_kind_once_a_gpu_worker_reports(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from django_q.brokers import get_broker

        video = self.queued_gpu_video()
        monkeypatch.setattr(Conf, "Q_STAT", gpu_stat_key())  # as manage.py worker --gpu does
        get_broker().set_stat(f"{gpu_stat_key()}:test-cluster", "stat", 30)
        monkeypatch.undo()
        assert gpu_clusters() == 1
        page = client_for(video.owner).get(f"/videos/{video.pk}").content.decode()
        assert "Waiting in the queue" in page
        assert "no GPU worker" not in page

    def test_a_queued_cpu_job_never_says_so(self) -> None:
        video = make_video(owner=make_user("maya"))
        assert (
            "no GPU worker"
            not in client_for(video.owner).get(f"/videos/{video.pk}").content.decode()
        )


@pytest.mark.django_db
class TestRouteSettings:
    def test_the_capabilities_are_the_familys(self) -> None:
        wan = registry.capabilities("diffusers", "wan2.2-ti2v-5b")
        assert (wan.sizes, wan.seconds) == (("720x1280", "1280x720"), (2, 3, 4, 5))
        assert wan.first_frame and wan.extend and wan.edit and wan.remix and wan.seed
        small = registry.capabilities("diffusers", "wan2.1-t2v-1.3b")
        assert small.sizes == ("640x360", "360x640")
        assert not small.first_frame and not small.extend  # no image pipeline
        ltx = registry.capabilities("diffusers", "ltx-video-2b-distilled")
        assert ltx.extend and not ltx.edit
        assert ltx.seconds[-1] == 10

    def test_a_route_refuses_what_its_family_does_not_make(self) -> None:
        route = catalog.route(gpu_route(family="wan2.1-t2v-1.3b").name)
        with pytest.raises(ValidationError):
            route.check(size="1280x720")
        with pytest.raises(ValidationError):
            route.check(seconds=8)
        with pytest.raises(ValidationError):
            route.check_extension(4)
        route.check(size="640x360", seconds=4)

    def test_route_settings_name_the_wrong_option(self) -> None:
        good = diffusers.route_settings(
            "wan2.2-ti2v-5b",
            {"weights": "/w", "steps": 30, "dtype": "float16", "cpu_offload": True},
        )
        assert (good.steps, good.dtype, good.cpu_offload, good.device) == (
            30,
            "float16",
            True,
            "auto",
        )
        for options, word in (
            ({}, "weights"),
            ({"weights": "relative/dir"}, "weights"),
            ({"weights": "/w", "steps": 0}, "steps"),
            ({"weights": "/w", "dtype": "int8"}, "dtype"),
            ({"weights": "/w", "cpu_offload": "yes"}, "cpu_offload"),
            ({"weights": "/w", "colour": "red"}, "colour"),
        ):
            with pytest.raises(ValueError, match=word):
                diffusers.route_settings("wan2.2-ti2v-5b", options)
        with pytest.raises(ValueError, match="Unknown model family"):
            diffusers.route_settings("sora-2", {"weights": "/w"})

    def test_routes_set_takes_options_and_checks_them(self) -> None:
        Provider.objects.create(name="gpu", kind="diffusers")
        out = StringIO()
        call_command("routes", "set", "open-wan", "--provider", "gpu", "--upstream-model",
                     "wan2.2-ti2v-5b", "--option", "weights=/srv/weights/wan", "--option",
                     "steps=30", "--option", "cpu_offload=true", stdout=out)  # fmt: skip
        route = ModelRoute.objects.get(name="open-wan")
        assert route.options == {"weights": "/srv/weights/wan", "steps": 30, "cpu_offload": True}
        call_command("routes", "set", "open-wan", "--option", "steps=", stdout=out)
        assert ModelRoute.objects.get(name="open-wan").options == {
            "weights": "/srv/weights/wan", "cpu_offload": True,
        }  # fmt: skip
        with pytest.raises(CommandError, match="--option: dtype"):
            call_command("routes", "set", "open-wan", "--option", "dtype=int8")

    def test_routes_set_notes_a_licence_that_is_not_osi(self) -> None:
        Provider.objects.create(name="gpu", kind="diffusers")
        err = StringIO()
        call_command("routes", "set", "draft", "--provider", "gpu", "--upstream-model",
                     "ltx-video-2b-distilled", "--option", "weights=/srv/ltx",
                     stdout=StringIO(), stderr=err)  # fmt: skip
        assert "not an OSI-approved" in err.getvalue()

    def test_the_admin_shows_the_licence_and_warns_on_saving_an_enabled_ltx_route(self) -> None:
        staff = client_for(make_user("boss", is_staff=True, is_superuser=True))
        route = gpu_route(family="ltx-video-2b-distilled")
        page = staff.get(f"/admin/videos_app/modelroute/{route.pk}/change/").content.decode()
        assert "LTX-Video Open Weights License (not OSI-approved)" in page
        response = staff.post(
            f"/admin/videos_app/modelroute/{route.pk}/change/",
            {"name": route.name, "provider": str(route.provider_id),
             "upstream_model": "ltx-video-2b-distilled", "sizes": "[]", "seconds": "[]",
             "capabilities": "{}", "prices": "{}", "options": '{"weights": "/srv/ltx"}',
             "listed": "on", "enabled": "on", "position": "0"},
            follow=True,
        )  # fmt: skip
        assert "not an OSI-approved open-source licence" in response.content.decode()
        refused = staff.post(
            f"/admin/videos_app/modelroute/{route.pk}/change/",
            {"name": route.name, "provider": str(route.provider_id),
             "upstream_model": "ltx-video-2b-distilled", "sizes": "[]", "seconds": "[]",
             "capabilities": "{}", "prices": "{}", "options": '{"weights": "ltx"}',
             "listed": "on", "enabled": "on", "position": "0"},
        )  # fmt: skip
        assert refused.status_code == 200
        assert "absolute path" in refused.content.decode()


@pytest.mark.django_db
class TestModelsCheck:
    @pytest.fixture(autouse=True)
    def fake_child(self, monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
        settings.DIFFUSERS_PYTHON = sys.executable
        monkeypatch.setattr(diffusers, "CHILD_MODULE", "tests.fakes.diffusers_child")

    def test_it_lists_each_route_and_what_is_missing(self, tmp_path: Path) -> None:
        gpu_route(weights=tmp_path)
        gpu_route(weights=tmp_path / "absent", family="wan2.1-t2v-1.3b")
        out = StringIO()
        with pytest.raises(CommandError, match="missing or do not load"):
            call_command("models", "check", stdout=out)
        lines = out.getvalue().splitlines()
        assert lines[0].split() == ["MODEL", "FAMILY", "WEIGHTS", "STATUS"]
        rows = [line.split() for line in lines]
        assert ["open-wan2.2-ti2v-5b", "wan2.2-ti2v-5b", str(tmp_path), "ok"] in rows
        assert any(line.startswith("open-wan2.1-t2v-1.3b") and line.endswith("missing")
                   for line in lines)  # fmt: skip
        assert "open-wan2.1-t2v-1.3b: model_index.json" in out.getvalue()

    def test_all_present_exits_cleanly(self, tmp_path: Path) -> None:
        gpu_route(weights=tmp_path)
        out = StringIO()
        call_command("models", "check", "--load", stdout=out)
        assert out.getvalue().splitlines()[1].endswith("ok")


@pytest.mark.django_db
def test_a_gpu_route_costs_nothing_per_second() -> None:
    route = catalog.route(gpu_route().name)
    assert catalog.price_text(route) == "free"
    assert catalog.estimate_text(route, 4).startswith("Estimated cost: free")


@pytest.mark.django_db
def test_a_gpu_videos_page_says_it_cost_nothing() -> None:
    gpu_route()
    video = make_video(provider="gpu", owner=make_user("maya"))
    page = client_for(video.owner).get(f"/videos/{video.pk}").content.decode()
    assert "free \N{EM DASH} ran locally" in page
