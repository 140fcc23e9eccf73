"""The Runway engine (Runway's tasks API through the runwayml SDK) against a fake Runway on
loopback (tests/fakes/runway.py), through the real remote runner."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from tests.conftest import stored_files
from tests.factories import image_bytes, make_video, mp4_bytes
from tests.fakes.jobs import assert_one_set_of_assets, rendered
from tests.fakes.runway import FakeRunway
from tests.live import free_port
from videos_app import services
from videos_app.jobs import remote
from videos_app.models import ModelRoute, Provider, Video
from videos_app.providers import catalog, registry
from videos_app.providers.base import (
    OutcomeUnknown,
    ProviderError,
    RemoteEngine,
    RemoteGone,
    RemoteRequest,
)
from videos_app.providers.capabilities import Capabilities
from videos_app.providers.http import Backoff
from videos_app.providers.runway import PRICES_PER_SECOND, RunwayEngine
from videos_app.providers.vendor import VendorUnavailable

pytestmark = pytest.mark.django_db

KEY = "key_" + "0123456789abcdef" * 8  # Runway's shape: key_ and 128 hex digits
KEY_ENV = "STUDIO_TEST_RUNWAY_KEY"
FAST = {"poll_interval_seconds": 0.05}


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote, "FIRST_POLL_DELAY", 0.02)
    monkeypatch.setattr(remote, "POLL_FIRST", 0.05)
    monkeypatch.setattr(remote, "RECONCILE_TRIES", (0.0,))


@pytest.fixture
def runway() -> Iterator[FakeRunway]:
    with FakeRunway(api_key=KEY, render_seconds=0.3) as fake:
        yield fake


@pytest.fixture
def provider(runway: FakeRunway, monkeypatch: pytest.MonkeyPatch) -> Provider:
    monkeypatch.setenv(KEY_ENV, KEY)
    row = Provider.objects.create(
        name="runway", kind="runway", base_url=runway.base_url, api_key_env=KEY_ENV,
        timeout_seconds=5, connect_timeout_seconds=1, options=FAST,
    )  # fmt: skip
    ModelRoute.objects.create(name="gen-4.5", provider=row, upstream_model="gen4.5")
    return row


def runway_video(**kwargs: Any) -> Video:
    kwargs.setdefault("provider", "runway")
    kwargs.setdefault("model", "gen-4.5")
    kwargs.setdefault("provider_model", "gen4.5")
    kwargs.setdefault("prompt", "a red kite over green hills")
    kwargs.setdefault("size", "1280x720")
    kwargs.setdefault("seconds", 5)
    kwargs.setdefault("seed", 42)
    return make_video(**kwargs)


def engine_for(runway: FakeRunway, **kwargs: Any) -> RunwayEngine:
    kwargs.setdefault("api_key", lambda: KEY)
    kwargs.setdefault("options", FAST)
    return RunwayEngine(name="runway", base_url=runway.base_url, **kwargs)


def request(**kwargs: Any) -> RemoteRequest:
    kwargs.setdefault("video_id", "vid")
    kwargs.setdefault("operation", "create")
    kwargs.setdefault("prompt", "a lighthouse at dusk")
    kwargs.setdefault("model", "gen4.5")
    kwargs.setdefault("size", "1280x720")
    kwargs.setdefault("seconds", 5)
    return RemoteRequest(**kwargs)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class TestCreate:
    def test_text_to_video_completes_with_one_create_and_one_set_of_assets(
        self, provider: Provider, runway: FakeRunway, media_root: Path
    ) -> None:
        video = rendered(runway_video())
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert video.progress == 100 and video.attempts == 1
        (task,) = runway.tasks.values()
        assert video.provider_job_id == task.id
        assert runway.creates() == 1 and runway.calls["text_to_video"] == 1
        assert runway.created() == [{"model": "gen4.5", "promptText": "a red kite over green hills",
                                     "ratio": "1280:720", "duration": 5, "seed": 42}]  # fmt: skip
        # Runway's headers on every API call; the signed link on another host, without them.
        for endpoint in ("text_to_video", "task"):
            for headers in runway.headers_for(endpoint):
                assert headers["authorization"] == f"Bearer {KEY}"
                assert headers["x-runway-version"] == "2024-11-06"
        (cdn,) = runway.headers_for("cdn")
        assert "authorization" not in cdn and cdn["host"].startswith("localhost:")
        assert_one_set_of_assets(video, media_root)

    def test_image_to_video_sends_the_first_frame_as_a_data_uri(
        self, provider: Provider, runway: FakeRunway
    ) -> None:
        video = runway_video(size="960x960", seconds=4)
        first = image_bytes(960, 960)
        video.reference_image.save("reference.png", ContentFile(first), save=True)
        assert rendered(video).status == Video.Status.COMPLETED, video.error_message
        assert runway.calls["image_to_video"] == 1 and runway.calls["text_to_video"] == 0
        assert runway.created() == [{
            "model": "gen4.5", "promptText": "a red kite over green hills", "ratio": "960:960",
            "duration": 4, "seed": 42,
            "promptImage": [{"uri": "data:image/png;base64," + b64(first), "position": "first"}],
        }]  # fmt: skip

    def test_veo_through_runway_takes_both_frames_sound_and_a_negative_prompt(
        self, provider: Provider, runway: FakeRunway
    ) -> None:
        ModelRoute.objects.create(name="veo", provider=provider, upstream_model="veo3.1")
        video = runway_video(model="veo", provider_model="veo3.1", size="1080x1920", seconds=6,
                             negative_prompt="blur", audio=False)  # fmt: skip
        first, last = image_bytes(1080, 1920), image_bytes(1080, 1920, "JPEG", (10, 20, 30))
        video.reference_image.save("reference.png", ContentFile(first), save=False)
        video.last_frame.save("last.jpg", ContentFile(last), save=True)
        assert rendered(video).status == Video.Status.COMPLETED, video.error_message
        (body,) = runway.created()
        assert body["promptImage"] == [
            {"uri": "data:image/png;base64," + b64(first), "position": "first"},
            {"uri": "data:image/jpeg;base64," + b64(last), "position": "last"},
        ]
        assert (body["model"], body["ratio"], body["duration"]) == ("veo3.1", "1080:1920", 6)
        assert (body["audio"], body["negativePrompt"], body["seed"]) == (False, "blur", 42)

    def test_a_429_waits_then_the_create_goes_through_once(
        self, provider: Provider, runway: FakeRunway
    ) -> None:
        runway.faults.rate_limit = {"text_to_video": {1}}
        video = rendered(runway_video())
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert runway.calls["text_to_video"] == 2 and len(runway.tasks) == 1

    def test_a_503_on_a_poll_is_retried(self, provider: Provider, runway: FakeRunway) -> None:
        runway.faults.unavailable = {"task": {1}}
        video = rendered(runway_video())
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert runway.creates() == 1

    def test_a_throttled_task_is_waiting_not_failing(
        self, provider: Provider, runway: FakeRunway, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        runway.faults.throttle_seconds = 0.3
        seen: list[str] = []
        status = RunwayEngine.status

        def recording(self: RunwayEngine, job_id: str) -> Any:
            answer = status(self, job_id)
            seen.append(runway.state(runway.tasks[job_id])[0])
            return answer

        monkeypatch.setattr(RunwayEngine, "status", recording)
        video = rendered(runway_video())
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert "THROTTLED" in seen and seen[-1] == "SUCCEEDED"
        engine = engine_for(runway)
        throttled = runway.new()
        throttled.started = time.monotonic() - 0.1  # past PENDING, throttled for 0.3 s
        assert engine.status(throttled.id).status == "queued"

    @pytest.mark.parametrize(("fault", "made"), [("drop", 1), ("500", 1), ("lost", 0)])
    def test_a_create_without_an_answer_is_never_sent_again(
        self, provider: Provider, runway: FakeRunway, fault: str, made: int
    ) -> None:
        runway.faults.create_fault = fault
        video = rendered(runway_video())
        # Runway lists no tasks: the job fails for someone to check, nothing sent twice.
        assert (video.status, video.error_code) == (Video.Status.FAILED, "upstream_outcome_unknown")
        assert runway.creates() == 1 and len(runway.tasks) == made
        assert video.create_sent_at is not None and video.provider_job_id == ""

    def test_a_create_that_times_out_is_outcome_unknown_not_retried_by_the_sdk(
        self, runway: FakeRunway
    ) -> None:
        runway.faults.create_delay = 0.5
        engine = engine_for(runway, timeout=0.2, connect_timeout=0.2)
        with pytest.raises(OutcomeUnknown, match="did not answer the text_to_video"):
            engine.submit(request())
        assert runway.creates() == 1 and engine.requests == {"text_to_video": 1}
        assert len(runway.tasks) == 1  # it was made: never resend

    def test_a_refused_connection_never_sent_the_create_and_is_retried(self) -> None:
        slept: list[float] = []
        engine = RunwayEngine(name="runway", api_key=lambda: KEY,
                              base_url=f"http://127.0.0.1:{free_port()}",
                              backoff=Backoff(base=0.01, tries=2), sleep=slept.append)  # fmt: skip
        with pytest.raises(VendorUnavailable, match="cannot be reached"):
            engine.submit(request())
        assert engine.requests == {"text_to_video": 3} and len(slept) == 2

    def test_a_restart_after_an_unanswered_create_fails_without_sending(
        self, provider: Provider, runway: FakeRunway
    ) -> None:
        video = rendered(runway_video(create_sent_at=timezone.now()))
        assert (video.status, video.error_code) == (Video.Status.FAILED, "upstream_outcome_unknown")
        assert runway.creates() == 0

    def test_a_restarted_worker_polls_by_the_saved_id(
        self, provider: Provider, runway: FakeRunway, media_root: Path
    ) -> None:
        task = runway.new(done=True)
        video = rendered(runway_video(provider_job_id=task.id, create_sent_at=timezone.now()))
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert runway.creates() == 0 and runway.calls["task"] == 1
        assert_one_set_of_assets(video, media_root)

    def test_invalid_input_names_the_fields_runway_refused(self, runway: FakeRunway) -> None:
        # A model an admin added is checked by Runway alone: its refusal, in its words.
        engine = engine_for(runway)
        with pytest.raises(ProviderError) as refused:
            engine.submit(request(model="kling3.0_pro", prompt=""))
        assert refused.value.code == "invalid_request"
        assert refused.value.message == (
            "Runway refused the kling3.0_pro request: Validation of body failed "
            "(promptText: String must contain 1 to 1000 character(s))"
        )
        assert runway.creates() == 1 and runway.tasks == {}

    def test_the_api_version_comes_from_the_options(self, runway: FakeRunway) -> None:
        engine = engine_for(runway, options={"runway_version": "2099-01-01"})
        with pytest.raises(ProviderError) as refused:
            engine.submit(request())
        assert refused.value.code == "invalid_request" and "X-Runway-Version" in str(refused.value)
        assert runway.headers_for("text_to_video")[0]["x-runway-version"] == "2099-01-01"


class TestFailures:
    def test_a_failed_task_keeps_runways_code_and_reason(
        self, provider: Provider, runway: FakeRunway, media_root: Path
    ) -> None:
        runway.faults.fail_job = ("The output did not pass our quality checks.",
                                  "INTERNAL.BAD_OUTPUT.CODE01")  # fmt: skip
        video = rendered(runway_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED,
                                                    "INTERNAL.BAD_OUTPUT.CODE01")  # fmt: skip
        assert video.error_message == "The output did not pass our quality checks."
        assert runway.calls["cdn"] == 0 and stored_files(media_root) == []

    @pytest.mark.parametrize("code", ["SAFETY.INPUT.TEXT", "SAFETY.OUTPUT.VIDEO",
                                      "INPUT_PREPROCESSING.SAFETY.TEXT"])  # fmt: skip
    def test_a_safety_refusal_is_moderation_blocked_with_runways_reason(
        self, provider: Provider, runway: FakeRunway, media_root: Path, code: str
    ) -> None:
        reason = "Your prompt was flagged by our content moderation system."
        runway.faults.fail_job = (reason, code)
        video = rendered(runway_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "moderation_blocked")
        assert video.error_message == reason
        assert stored_files(media_root) == []

    def test_a_wrong_key_says_it_is_the_studios_and_never_shows_it(
        self, provider: Provider, runway: FakeRunway, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        wrong = "key_" + "f" * 128
        monkeypatch.setenv(KEY_ENV, wrong)
        runway.faults.echo_key = True  # Runway's message repeats it here
        video = rendered(runway_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "http_401")
        assert "did not accept the studio's API key" in video.error_message
        assert wrong not in video.error_message and KEY not in video.error_message
        assert "[redacted]" in video.error_message
        assert runway.creates() == 1  # a 401 is final: not retried

    def test_the_key_is_in_no_repr(self, runway: FakeRunway) -> None:
        engine = engine_for(runway)
        engine.submit(request())
        assert KEY not in repr(engine) and KEY not in repr(vars(engine))
        assert KEY not in repr(vars(engine.sdk)) and engine.sdk.api_key != KEY

    def test_a_task_runway_no_longer_knows_is_gone(self, runway: FakeRunway) -> None:
        engine = engine_for(runway)
        with pytest.raises(RemoteGone):
            engine.status("6f1b1a38-0000-4000-8000-000000000000")
        with pytest.raises(RemoteGone):
            engine.status("../organization")

    def test_a_task_cancelled_at_runway_fails_as_cancelled(self, runway: FakeRunway) -> None:
        task = runway.new()
        task.cancelled = True
        status = engine_for(runway).status(task.id)
        assert (status.status, status.error_code) == ("failed", "cancelled")

    def test_a_running_task_reports_progress_and_runways_pace(self, runway: FakeRunway) -> None:
        runway.render_seconds = 10.0
        task = runway.new()
        task.started = time.monotonic() - 5.5
        status = engine_for(runway, options={}).status(task.id)
        assert (status.status, status.progress, status.poll_after) == ("in_progress", 50, 5.0)


class TestResults:
    def test_an_expired_link_is_read_again_once_and_a_fresh_one_downloads(
        self, provider: Provider, runway: FakeRunway, media_root: Path
    ) -> None:
        runway.faults.stale_links = 1
        video = rendered(runway_video())
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert runway.calls["cdn"] == 2 and runway.signed == 2
        assert_one_set_of_assets(video, media_root)

    def test_links_that_stay_expired_fail_clearly(
        self, provider: Provider, runway: FakeRunway, media_root: Path
    ) -> None:
        runway.faults.link_ttl = -60  # every link is signed already expired
        video = rendered(runway_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "upstream_assets_expired")
        # One fresh read of the task signed one fresh link: two downloads, then gone.
        assert runway.calls["cdn"] == 2 and runway.signed == 2
        assert stored_files(media_root) == []

    def test_a_deleted_output_is_gone(self, runway: FakeRunway, tmp_path: Path) -> None:
        runway.faults.outputs_gone = True
        engine = engine_for(runway)
        task = runway.new(done=True)
        assert engine.status(task.id).status == "completed"
        with pytest.raises(RemoteGone):
            engine.fetch(task.id, "video", tmp_path / "v.mp4")
        assert runway.calls["task"] == 2  # the poll, and one fresh read


class TestCancel:
    def test_a_cancel_while_it_polls_reaches_runways_delete(
        self, provider: Provider, runway: FakeRunway, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        runway.render_seconds = 5.0
        polls: list[str] = []
        status = RunwayEngine.status

        def cancel_on_second_poll(self: RunwayEngine, job_id: str) -> Any:
            polls.append(job_id)
            if len(polls) == 2:
                video = Video.objects.get(provider_job_id=job_id)
                assert services.video_cancel(video=video, actor=video.owner)
            return status(self, job_id)

        monkeypatch.setattr(RunwayEngine, "status", cancel_on_second_poll)
        video = rendered(runway_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "cancelled")
        assert runway.cancels() == 1 and runway.calls["cdn"] == 0
        (task,) = runway.tasks.values()
        assert task.cancelled

    def test_the_housekeeping_cancel_stops_a_running_task(
        self, provider: Provider, runway: FakeRunway
    ) -> None:
        runway.render_seconds = 5.0
        task = runway.new()
        video = runway_video(provider_job_id=task.id, status=Video.Status.IN_PROGRESS)
        assert remote.remote_job_cancel(video_id=video.pk) is True
        assert runway.cancels() == 1 and task.cancelled

    def test_cancelling_a_finished_task_deletes_it_and_a_gone_one_counts(
        self, runway: FakeRunway
    ) -> None:
        engine = engine_for(runway)
        task = runway.new(done=True)
        assert engine.cancel(task.id) is True and task.deleted and not task.cancelled
        assert engine.delete(task.id) is True  # 404: already gone
        assert runway.cancels() == 2
        assert engine.delete("not a task id") is False and runway.cancels() == 2


class TestChecks:
    @pytest.mark.parametrize(
        ("fields", "code", "words"),
        [
            ({"size": "1792x1024"}, "unsupported_size",
             "makes 1280x720, 720x1280; not 1792x1024"),
            ({"size": "960x960"}, "unsupported_size",
             "makes 960x960 only from an image; from text it makes 1280x720, 720x1280"),
            ({"seconds": 12}, "unsupported_seconds", "makes 2, 3, 4, 5, 6, 7, 8, 9, 10 seconds"),
            ({"with_characters": True}, "characters_unsupported", "local renderer"),
            ({"operation": "edit"}, "unsupported_operation", "only aleph2, gen4_aleph"),
            ({"operation": "remix", "model": "kling3.0_pro"}, "unsupported_operation",
             "only aleph2, gen4_aleph"),
            ({"operation": "extend"}, "unsupported_operation", "cannot extend"),
            ({"model": "aleph2"}, "unsupported_operation",
             "only edits and remixes videos; to make one use gen4.5, gen4_turbo, veo3.1"),
            ({"model": "gen4_turbo"}, "first_frame_required", "input_reference"),
            ({"last_frame": Path("/x.png")}, "unsupported_last_frame", "last frame"),
            ({"audio": True}, "unsupported_audio", "makes no sound"),
            ({"negative_prompt": "blur"}, "unsupported_negative_prompt", "negative prompt"),
            ({"prompt": "x" * 1001}, "prompt_too_long", "1000 characters"),
            ({"model": "gen 4.5"}, "provider_misconfigured", "not a Runway model id"),
            ({"model": "aleph2", "operation": "edit"}, "source_missing", "no longer exists"),
            ({"model": "veo3.1", "seconds": 5}, "unsupported_seconds", "makes 4, 6, 8 seconds"),
            ({"model": "gen4_aleph", "operation": "edit", "seconds": 8},
             "unsupported_seconds", "uses sources of 2, 3, 4, 5 seconds; not 8"),
        ],
    )  # fmt: skip
    def test_what_the_model_cannot_take_is_refused_before_sending(
        self, runway: FakeRunway, fields: dict[str, Any], code: str, words: str
    ) -> None:
        with pytest.raises(ProviderError) as refused:
            engine_for(runway).check(request(**fields))
        assert refused.value.code == code and words in refused.value.message
        assert runway.calls == {}

    def test_an_edit_on_aleph_sends_the_source_video_through_the_runner(
        self, provider: Provider, runway: FakeRunway, media_root: Path
    ) -> None:
        ModelRoute.objects.create(name="aleph", provider=provider, upstream_model="aleph2")
        source = make_video(provider="local", status=Video.Status.COMPLETED, seconds=4)
        source.video_file.save("video.mp4", ContentFile(mp4_bytes()), save=True)
        video = runway_video(model="aleph", provider_model="aleph2", operation="edit",
                             source=source, seconds=4, prompt="make it snow")  # fmt: skip
        assert rendered(video).status == Video.Status.COMPLETED, video.error_message
        assert runway.calls["video_to_video"] == 1
        source_uri = "data:video/mp4;base64," + b64(mp4_bytes())
        assert runway.created() == [{"model": "aleph2", "promptText": "make it snow", "seed": 42,
                                     "videoUri": source_uri}]  # fmt: skip
        assert_one_set_of_assets(video, media_root)

    def test_a_remix_on_the_earlier_aleph_sends_its_ratio(
        self, runway: FakeRunway, tmp_path: Path
    ) -> None:
        source = tmp_path / "source.mp4"
        source.write_bytes(mp4_bytes())
        engine_for(runway).submit(request(model="gen4_aleph", operation="remix", size="720x1280",
                                          seconds=4, seed=9, source_file=source))  # fmt: skip
        (body,) = runway.created()
        assert (body["ratio"], body["seed"]) == ("720:1280", 9)
        assert body["promptText"] == "a lighthouse at dusk"
        assert body["videoUri"].startswith("data:video/mp4;base64,")

    def test_a_source_over_runways_inline_limit_is_refused(
        self, runway: FakeRunway, tmp_path: Path
    ) -> None:
        big = tmp_path / "big.mp4"
        big.write_bytes(b"\0" * (4 << 20))
        with pytest.raises(ProviderError) as refused:
            engine_for(runway).check(request(model="aleph2", operation="edit", source_file=big))
        assert refused.value.code == "source_too_large" and "5 MB" in refused.value.message
        assert runway.calls == {}

    def test_a_model_an_admin_adds_runs_with_what_its_route_lets_through(
        self, runway: FakeRunway, tmp_path: Path
    ) -> None:
        first = tmp_path / "first.webp"
        first.write_bytes(image_bytes(64, 36, "WEBP"))
        engine = engine_for(runway)
        engine.submit(request(model="kling3.0_pro", size="1920x1080", seconds=7, seed=3,
                              audio=True, reference_image=first))  # fmt: skip
        (body,) = runway.created()
        assert body.pop("promptImage")[0]["uri"].startswith("data:image/webp;base64,")
        # No seed: not every Runway model takes one, and the row always has one.
        assert body == {"model": "kling3.0_pro", "promptText": "a lighthouse at dusk",
                        "ratio": "1920:1080", "duration": 7, "audio": True}  # fmt: skip

    def test_capabilities_are_seeded_per_model_with_a_default_for_new_ones(self) -> None:
        def takes(caps: Capabilities) -> dict[str, bool]:
            names = ("first_frame", "last_frame", "seed", "audio", "negative_prompt", "edit",
                     "remix", "extend")  # fmt: skip
            return {n: getattr(caps, n) for n in names if getattr(caps, n)}

        gen45 = registry.capabilities("runway", "gen4.5")
        assert gen45.sizes == ("1280x720", "720x1280", "960x960")
        assert gen45.seconds == tuple(range(2, 11))
        assert takes(gen45) == {"first_frame": True, "seed": True}
        turbo = RunwayEngine.capabilities_for("gen4_turbo")
        assert turbo.seconds == (5, 10) and takes(turbo) == {"first_frame": True, "seed": True}
        veo = RunwayEngine.capabilities_for("veo3.1")
        assert veo.sizes == ("1280x720", "720x1280", "1080x1920", "1920x1080")
        assert veo.seconds == (4, 6, 8)
        assert takes(veo) == {"first_frame": True, "last_frame": True, "seed": True,
                              "audio": True, "negative_prompt": True}  # fmt: skip
        aleph = RunwayEngine.capabilities_for("aleph2")
        assert takes(aleph) == {"seed": True, "edit": True, "remix": True}
        assert RunwayEngine.capabilities_for("gen4_aleph").seconds == (2, 3, 4, 5)
        unknown = RunwayEngine.capabilities_for("kling3.0_pro")
        assert (unknown.sizes, unknown.seconds, takes(unknown)) == ((), (), {"first_frame": True})
        prices = {"gen4.5": "0.12", "gen4_turbo": "0.05", "aleph2": "0.15", "gen4_aleph": "0.15"}
        assert {m: Decimal(p) for m, p in prices.items()} == PRICES_PER_SECOND

    def test_a_route_offers_the_models_sizes_and_durations(self, provider: Provider) -> None:
        route = catalog.route("gen-4.5")
        assert set(route.sizes) == {"1280x720", "720x1280", "960x960"}
        assert route.seconds == tuple(range(2, 11))

    def test_the_row_builds_the_engine(self, provider: Provider) -> None:
        engine = catalog.get_provider("runway")
        assert isinstance(engine, RunwayEngine) and isinstance(engine, RemoteEngine)
        assert engine.base_url == provider.base_url and engine.native_extend is False
        assert engine.remote_variants == ("video",) and not hasattr(engine, "webhook")
        assert engine.find_lost(request(), since=time.time()) == []
        assert engine.sdk.max_retries == 0 and str(engine.sdk.base_url).startswith(
            provider.base_url
        )
        blank = Provider(name="r", kind="runway", api_key_env=KEY_ENV)
        assert RunwayEngine.from_row(blank).base_url == "https://api.dev.runwayml.com"
        engine.close()


class TestProbe:
    def test_probe_reports_the_credit_balance(self, runway: FakeRunway) -> None:
        seen = engine_for(runway).probe()
        assert seen == f"{runway.base_url} accepted the key: 123,456 credits left ($1,234.56)"
        assert runway.calls["organization"] == 1

    def test_probe_says_when_the_key_is_refused(self, runway: FakeRunway) -> None:
        with pytest.raises(ProviderError) as refused:
            engine_for(runway, api_key=lambda: "key_wrong").probe()
        assert "did not accept the studio's API key" in refused.value.message

    def test_probe_says_when_the_key_is_not_set(
        self, runway: FakeRunway, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv(KEY_ENV, raising=False)
        row = Provider(name="r", kind="runway", base_url=runway.base_url, api_key_env=KEY_ENV)
        with pytest.raises(ProviderError) as refused:
            RunwayEngine.from_row(row).probe()
        assert refused.value.code == "provider_misconfigured"
        assert runway.calls == {}
