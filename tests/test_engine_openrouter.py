"""The OpenRouter engine (OpenRouter's video API) against a fake OpenRouter on loopback
(tests/fakes/openrouter.py), through the real remote runner."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import av
import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from tests.conftest import stored_files
from tests.factories import image_bytes, make_video, mp4_bytes
from tests.fake_upstream import sample_assets
from tests.fakes.jobs import assert_one_set_of_assets, rendered
from tests.fakes.openrouter import MODELS as LISTED
from tests.fakes.openrouter import FakeOpenRouter
from videos_app import services
from videos_app.jobs import remote, wake
from videos_app.models import ModelRoute, Provider, Video
from videos_app.providers import catalog, openrouter, registry
from videos_app.providers.base import (
    ProviderError,
    RemoteEngine,
    RemoteGone,
    RemoteRequest,
    WebhookRefused,
    can_cancel,
)
from videos_app.providers.openrouter import OpenRouterEngine, listed_capabilities

pytestmark = pytest.mark.django_db

KEY = "sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef"
KEY_ENV = "STUDIO_TEST_OPENROUTER_KEY"
SECRET = "or-webhook-signing-secret-123"
SECRET_ENV = "STUDIO_TEST_OPENROUTER_WEBHOOK_SECRET"
VEO, SEEDANCE, WAN = "google/veo-3.1", "bytedance/seedance-2.0", "alibaba/wan-2.6"


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # OpenRouter gives no poll advice: the runner's own pace, made fast for a 0.3 s job.
    monkeypatch.setattr(remote, "FIRST_POLL_DELAY", 0.02)
    monkeypatch.setattr(remote, "POLL_FIRST", 0.05)
    monkeypatch.setattr(remote, "RECONCILE_TRIES", (0.0,))
    openrouter._listed.clear()  # each test reads the model list afresh
    yield
    openrouter._listed.clear()


@pytest.fixture
def fake() -> Iterator[FakeOpenRouter]:
    with FakeOpenRouter(api_key=KEY, render_seconds=0.3, webhook_secret=SECRET) as server:
        yield server


@pytest.fixture
def provider(fake: FakeOpenRouter, monkeypatch: pytest.MonkeyPatch) -> Provider:
    monkeypatch.setenv(KEY_ENV, KEY)
    monkeypatch.setenv(SECRET_ENV, SECRET)
    row = Provider.objects.create(
        name="openrouter", kind="openrouter", base_url=fake.base_url, api_key_env=KEY_ENV,
        webhook_secret_env=SECRET_ENV, timeout_seconds=5, connect_timeout_seconds=1,
    )  # fmt: skip
    ModelRoute.objects.create(name="veo", provider=row, upstream_model=VEO)
    return row


def or_video(**kwargs: Any) -> Video:
    kwargs.setdefault("provider", "openrouter")
    kwargs.setdefault("model", "veo")
    kwargs.setdefault("provider_model", VEO)
    kwargs.setdefault("prompt", "a red kite over green hills")
    kwargs.setdefault("size", "1280x720")
    kwargs.setdefault("seconds", 8)
    kwargs.setdefault("seed", 7)
    return make_video(**kwargs)


def engine_for(fake: FakeOpenRouter, **kwargs: Any) -> OpenRouterEngine:
    kwargs.setdefault("api_key", lambda: KEY)
    return OpenRouterEngine(name="openrouter", base_url=fake.base_url, **kwargs)


def request(**kwargs: Any) -> RemoteRequest:
    kwargs.setdefault("video_id", "vid")
    kwargs.setdefault("operation", "create")
    kwargs.setdefault("prompt", "a lighthouse at dusk")
    kwargs.setdefault("model", VEO)
    kwargs.setdefault("size", "1280x720")
    kwargs.setdefault("seconds", 8)
    return RemoteRequest(**kwargs)


def keys_sent(fake: FakeOpenRouter, endpoint: str) -> list[str]:
    return [auth for e, auth in fake.auth_seen if e == endpoint]


class TestCreate:
    def test_text_to_video_completes_with_one_create_and_one_set_of_assets(
        self, provider: Provider, fake: FakeOpenRouter, media_root: Path, settings: Any
    ) -> None:
        settings.SITE_URL = "https://studio.example"
        video = rendered(or_video())
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert video.progress == 100 and video.attempts == 1
        (job,) = fake.jobs.values()
        assert video.provider_job_id == job.id and fake.creates() == 1
        assert fake.bodies == [{
            "model": VEO, "prompt": "a red kite over green hills",
            "callback_url": "https://studio.example/webhooks/providers/openrouter",
            "duration": 8, "resolution": "720p", "aspect_ratio": "16:9", "seed": 7,
        }]  # fmt: skip
        # From the authenticated content endpoint, once; the signed link is not needed.
        assert fake.calls["content"] == 1 and fake.calls["signed"] == 0
        assert {auth for _, auth in fake.auth_seen} == {f"Bearer {KEY}"}
        assert_one_set_of_assets(video, media_root)

    def test_image_to_video_sends_both_frames_as_data_uris(
        self, provider: Provider, fake: FakeOpenRouter
    ) -> None:
        video = or_video(size="720x1280", seconds=4, audio=False)
        first, last = image_bytes(720, 1280), image_bytes(720, 1280, "JPEG", (10, 20, 30))
        video.reference_image.save("reference.png", ContentFile(first), save=False)
        video.last_frame.save("last.jpg", ContentFile(last), save=True)
        assert rendered(video).status == Video.Status.COMPLETED, video.error_message
        (body,) = fake.bodies
        assert body["frame_images"] == [
            {"type": "image_url", "frame_type": "first_frame",
             "image_url": {"url": "data:image/png;base64," + base64.b64encode(first).decode()}},
            {"type": "image_url", "frame_type": "last_frame",
             "image_url": {"url": "data:image/jpeg;base64," + base64.b64encode(last).decode()}},
        ]  # fmt: skip
        assert (body["aspect_ratio"], body["resolution"], body["duration"]) == ("9:16", "720p", 4)
        assert body["generate_audio"] is False and "callback_url" not in body  # SITE_URL is http

    def test_a_429_waits_then_the_create_goes_through_once(
        self, provider: Provider, fake: FakeOpenRouter
    ) -> None:
        fake.faults.rate_limit = {"create": {1}}
        video = rendered(or_video())
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert fake.creates() == 2 and len(fake.jobs) == 1

    def test_a_503_on_a_poll_is_retried(self, provider: Provider, fake: FakeOpenRouter) -> None:
        fake.faults.unavailable = {"status": {1}}
        video = rendered(or_video())
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert fake.creates() == 1 and fake.calls["status"] >= 2

    @pytest.mark.parametrize(("fault", "made"), [("drop", 1), ("500", 1), ("lost", 0)])
    def test_a_create_without_an_answer_is_never_sent_again(
        self, provider: Provider, fake: FakeOpenRouter, fault: str, made: int
    ) -> None:
        fake.faults.create_fault = fault
        video = rendered(or_video())
        # OpenRouter lists no jobs: the job fails for someone to check, never sent twice.
        assert (video.status, video.error_code) == (Video.Status.FAILED, "upstream_outcome_unknown")
        assert fake.creates() == 1 and len(fake.jobs) == made
        assert video.create_sent_at is not None and video.provider_job_id == ""

    def test_a_restart_after_an_unanswered_create_fails_without_sending(
        self, provider: Provider, fake: FakeOpenRouter
    ) -> None:
        video = rendered(or_video(create_sent_at=timezone.now()))
        assert (video.status, video.error_code) == (Video.Status.FAILED, "upstream_outcome_unknown")
        assert fake.creates() == 0

    def test_a_restarted_worker_polls_by_the_saved_id(
        self, provider: Provider, fake: FakeOpenRouter, media_root: Path
    ) -> None:
        job = fake.new(done=True)
        video = rendered(or_video(provider_job_id=job.id, create_sent_at=timezone.now()))
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert fake.creates() == 0 and fake.calls["status"] == 1
        assert_one_set_of_assets(video, media_root)

    def test_the_poll_pace_comes_from_the_options(self, fake: FakeOpenRouter) -> None:
        engine = engine_for(fake, options={"poll_interval_seconds": 15})
        job = fake.new()
        assert engine.status(job.id).poll_after == 15.0
        assert engine_for(fake).status(job.id).poll_after is None


class TestFailures:
    def test_a_failed_job_keeps_openrouters_message(
        self, provider: Provider, fake: FakeOpenRouter, media_root: Path
    ) -> None:
        fake.faults.fail_job = "The upstream provider timed out generating the video."
        video = rendered(or_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "upstream_failed")
        assert video.error_message == "The upstream provider timed out generating the video."
        assert fake.calls["content"] == 0 and stored_files(media_root) == []

    def test_a_job_refused_by_moderation_is_moderation_blocked(
        self, provider: Provider, fake: FakeOpenRouter
    ) -> None:
        fake.faults.fail_job = "Video generation was blocked by the provider's safety filters."
        video = rendered(or_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "moderation_blocked")
        assert video.error_message == fake.faults.fail_job

    def test_a_flagged_create_is_moderation_blocked_with_the_reasons(
        self, provider: Provider, fake: FakeOpenRouter
    ) -> None:
        fake.faults.moderation = ["violence", "self-harm"]
        video = rendered(or_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "moderation_blocked")
        assert video.error_message == "Your input was flagged (violence, self-harm)"
        assert fake.creates() == 1 and fake.jobs == {}

    def test_too_few_credits_says_so_for_an_operator(
        self, provider: Provider, fake: FakeOpenRouter
    ) -> None:
        fake.faults.credits = True
        video = rendered(or_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "insufficient_credits")
        assert video.error_message.startswith(
            "The OpenRouter account of the provider openrouter has too few credits"
        )
        assert "Insufficient credits" in video.error_message
        assert fake.creates() == 1  # final: not retried
        assert video.cost_estimate in (None, 0)

    @pytest.mark.parametrize(("end", "code"), [("cancelled", "cancelled"), ("expired", "expired")])
    def test_a_job_cancelled_or_expired_at_openrouter_fails_so(
        self, provider: Provider, fake: FakeOpenRouter, end: str, code: str
    ) -> None:
        fake.faults.end_as = end
        video = rendered(or_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, code)
        assert video.error_message and fake.calls["content"] == 0

    def test_a_request_openrouter_refuses_keeps_its_reason(
        self, provider: Provider, fake: FakeOpenRouter
    ) -> None:
        # A model the seeded table and OpenRouter's list do not know: sent, and refused.
        video = rendered(or_video(provider_model="acme/unlisted"))
        assert (video.status, video.error_code) == (Video.Status.FAILED, "invalid_request")
        assert video.error_message == (
            "OpenRouter refused the request: Model 'acme/unlisted' is not a video model"
        )

    def test_a_wrong_key_says_it_is_the_studios_and_never_shows_it(
        self, provider: Provider, fake: FakeOpenRouter, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        wrong = "sk-or-v1-wrong-9876543210fedcba"
        monkeypatch.setenv(KEY_ENV, wrong)
        fake.faults.echo_key = True  # OpenRouter's message repeats it here
        video = rendered(or_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "http_401")
        assert "did not accept the studio's API key" in video.error_message
        assert wrong not in video.error_message and KEY not in video.error_message
        assert "[redacted]" in video.error_message
        assert fake.creates() == 1  # a 401 is final: not retried

    def test_the_key_is_in_no_repr(self, fake: FakeOpenRouter) -> None:
        engine = engine_for(fake)
        assert KEY not in repr(engine) and KEY not in repr(engine.http.headers)

    def test_a_job_openrouter_no_longer_knows_is_gone(self, fake: FakeOpenRouter) -> None:
        with pytest.raises(RemoteGone):
            engine_for(fake).status("gen-vid-0-nonexistent")


class TestResults:
    def test_a_gone_content_endpoint_falls_back_to_the_signed_link_without_the_key(
        self, provider: Provider, fake: FakeOpenRouter, media_root: Path
    ) -> None:
        fake.faults.content_gone = True
        video = rendered(or_video())
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert fake.calls["content"] == 1 and fake.calls["signed"] == 1
        assert keys_sent(fake, "signed") == [""] and fake.calls["keys_at_signed"] == 0
        assert_one_set_of_assets(video, media_root)

    def test_an_expired_result_fails_clearly(
        self, provider: Provider, fake: FakeOpenRouter, media_root: Path
    ) -> None:
        fake.faults.content_gone = fake.faults.signed_gone = True
        video = rendered(or_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "upstream_assets_expired")
        assert fake.calls["content"] == 1 and fake.calls["signed"] == 1
        assert stored_files(media_root) == []

    def test_only_the_video_is_fetched(self, fake: FakeOpenRouter, tmp_path: Path) -> None:
        engine = engine_for(fake)
        assert engine.remote_variants == ("video",)
        with pytest.raises(ProviderError):
            engine.fetch(fake.new(done=True).id, "thumbnail", tmp_path / "t.webp")


class TestCancel:
    def test_a_cancel_while_it_polls_abandons_the_job(
        self, provider: Provider, fake: FakeOpenRouter, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        fake.render_seconds = 5.0
        polls: list[str] = []
        status = OpenRouterEngine.status

        def cancel_on_second_poll(self: OpenRouterEngine, job_id: str) -> Any:
            polls.append(job_id)
            if len(polls) == 2:
                video = Video.objects.get(provider_job_id=job_id)
                assert services.video_cancel(video=video, actor=video.owner)
            return status(self, job_id)

        monkeypatch.setattr(OpenRouterEngine, "status", cancel_on_second_poll)
        started = time.monotonic()
        video = rendered(or_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "cancelled")
        # OpenRouter has no cancel: the job is abandoned and its result never fetched.
        assert fake.calls["content"] == 0 and len(polls) == 2
        assert time.monotonic() - started < 4.0

    def test_the_engine_has_no_cancel_so_the_housekeeping_cancel_does_nothing(
        self, provider: Provider, fake: FakeOpenRouter
    ) -> None:
        assert not can_cancel(engine_for(fake))
        video = or_video(provider_job_id=fake.new().id, status=Video.Status.IN_PROGRESS)
        assert remote.remote_job_cancel(video_id=video.pk) is False
        assert set(fake.calls) <= {"status"}


class TestExtendAndEdit:
    def source(self, fake: FakeOpenRouter, **kwargs: Any) -> Video:
        job = fake.new({"model": kwargs.pop("job_model", VEO)}, done=True)
        source = or_video(status=Video.Status.COMPLETED, provider_job_id=job.id, **kwargs)
        source.video_file.save("video.mp4", ContentFile(sample_assets()["video"]), save=True)
        return source

    def test_a_video_made_here_is_continued_by_its_job_id(
        self, provider: Provider, fake: FakeOpenRouter, media_root: Path
    ) -> None:
        source = self.source(fake)
        video = or_video(operation=Video.Operation.EXTEND, source=source, seconds=15,
                         segment_seconds=7, prompt="the kite flies on")  # fmt: skip
        assert rendered(video).status == Video.Status.COMPLETED, video.error_message
        # Veo's step is its own 7 s: no duration is sent.
        assert fake.bodies == [{"model": VEO, "prompt": "the kite flies on",
                                "previous_job_id": source.provider_job_id}]  # fmt: skip
        # OpenRouter's video is the whole continued video: stored as it came.
        assert_one_set_of_assets(video, media_root)

    def test_a_video_made_elsewhere_is_refused_before_sending(
        self, provider: Provider, fake: FakeOpenRouter
    ) -> None:
        source = make_video(provider="local", status=Video.Status.COMPLETED, seconds=8)
        source.video_file.save("video.mp4", ContentFile(sample_assets()["video"]), save=True)
        video = rendered(or_video(operation=Video.Operation.EXTEND, source=source, seconds=15,
                                  segment_seconds=7))  # fmt: skip
        assert (video.status, video.error_code) == (Video.Status.FAILED, "unsupported_source")
        assert "Only videos made on openrouter continue there" in video.error_message
        assert fake.creates() == 0

    def test_a_source_whose_job_is_gone_at_openrouter_says_so(
        self, provider: Provider, fake: FakeOpenRouter
    ) -> None:
        source = self.source(fake)
        del fake.jobs[source.provider_job_id]  # its output expired at OpenRouter
        video = rendered(or_video(operation=Video.Operation.EXTEND, source=source, seconds=15,
                                  segment_seconds=7))  # fmt: skip
        assert (video.status, video.error_code) == (Video.Status.FAILED, "source_gone_upstream")
        assert "cannot be continued there" in video.error_message
        assert fake.creates() == 1 and fake.jobs == {}

    def test_native_extension_is_the_models_and_can_be_turned_off(
        self, fake: FakeOpenRouter
    ) -> None:
        extend = request(operation="extend", seconds=15, segment_seconds=7)
        assert engine_for(fake).native_extend(extend) is True
        assert engine_for(fake).native_extend(replace(extend, model=WAN)) is False
        off = engine_for(fake, options={"native_extend": False})
        assert off.native_extend(extend) is False

    def test_a_model_openrouter_cannot_continue_is_extended_by_stitching(
        self, provider: Provider, fake: FakeOpenRouter, media_root: Path
    ) -> None:
        clip = "acme/clip-1"  # in OpenRouter's list, without continuation (as Wan, Kling)
        source = self.source(fake, job_model=clip, provider_model=clip, seconds=5)
        video = or_video(operation=Video.Operation.EXTEND, source=source, provider_model=clip,
                         seconds=10, segment_seconds=5, prompt="and on")  # fmt: skip
        video = rendered(video)
        assert video.status == Video.Status.COMPLETED, video.error_message
        # One create of the segment's length from the source's last frame; no continuation.
        (body,) = fake.bodies
        assert body["model"] == clip and "previous_job_id" not in body
        assert body["duration"] == 5 and body["frame_images"][0]["frame_type"] == "first_frame"
        with av.open(video.video_file.path) as container:
            stream = container.streams.video[0]
            assert (stream.width, stream.height) == (1280, 720)
            assert float(stream.duration * stream.time_base) > 1.5  # source + segment

    def test_an_edit_sends_the_source_as_a_video_reference(
        self, fake: FakeOpenRouter, tmp_path: Path
    ) -> None:
        source = tmp_path / "source.mp4"
        source.write_bytes(mp4_bytes())
        engine = engine_for(fake)
        job_id = engine.submit(request(model=SEEDANCE, operation="edit", seconds=5,
                                       source_file=source, prompt="make it snow"))  # fmt: skip
        assert job_id in fake.jobs
        (body,) = fake.bodies
        video = "data:video/mp4;base64," + base64.b64encode(mp4_bytes()).decode()
        assert body["input_references"] == [{"type": "video_url", "video_url": {"url": video}}]
        assert "previous_job_id" not in body and "frame_images" not in body
        small = engine_for(fake, options={"max_inline_video_mb": 0.001})
        with pytest.raises(ProviderError, match="larger than"):
            small.check(request(model=SEEDANCE, operation="edit", seconds=5, source_file=source))


class TestChecks:
    @pytest.mark.parametrize(
        ("fields", "code", "words"),
        [
            ({"size": "1792x1024"}, "unsupported_size", "name no such size"),
            ({"size": "960x960"}, "unsupported_size", "makes 1280x720, 720x1280, 1920x1080"),
            ({"seconds": 5}, "unsupported_seconds", "makes 4, 6, 8 seconds; not 5"),
            ({"with_characters": True}, "characters_unsupported", "local renderer"),
            ({"operation": "remix"}, "unsupported_operation", f"{SEEDANCE} can edit"),
            ({"operation": "edit"}, "unsupported_operation", f"models that can: {SEEDANCE}"),
            ({"operation": "extend", "model": WAN, "source_id": "gen-vid-1"},
             "unsupported_operation", "models that can: google/veo-3.1, google/veo-3.1-fast"),
            ({"operation": "extend", "source_id": "gen-vid-1", "segment_seconds": 8},
             "unsupported_seconds", "extends by 7 seconds a step"),
            ({"model": WAN, "seconds": 5, "last_frame": Path("/x.png")}, "unsupported_last_frame",
             "does not take a last frame"),
            ({"negative_prompt": "blur"}, "unsupported_negative_prompt", "no negative prompt"),
            ({"reference_images": (Path("/a.png"),) * 4}, "unsupported_reference_images",
             "up to 3 reference images"),
            ({"reference_images": (Path("/a.png"),), "reference_image": Path("/b.png")},
             "unsupported_inputs", "not both"),
            ({"model": SEEDANCE, "operation": "edit", "seconds": 5}, "source_missing",
             "no longer exists"),
        ],
    )  # fmt: skip
    def test_what_the_model_cannot_take_is_refused_before_sending(
        self, fake: FakeOpenRouter, fields: dict[str, Any], code: str, words: str
    ) -> None:
        with pytest.raises(ProviderError) as refused:
            engine_for(fake).check(request(**fields))
        assert refused.value.code == code and words in refused.value.message
        assert fake.calls == {}

    def test_an_unknown_model_is_checked_against_openrouters_list_read_once(
        self, fake: FakeOpenRouter
    ) -> None:
        with pytest.raises(ProviderError, match="makes 5, 10 seconds; not 8"):
            engine_for(fake).check(request(model="acme/clip-1"))
        with pytest.raises(ProviderError, match="does not take a last frame"):
            engine_for(fake).check(request(model="acme/clip-1", seconds=5,
                                           last_frame=Path("/x.png")))  # fmt: skip
        engine_for(fake).check(request(model="acme/clip-1", seconds=10, size="960x960"))
        assert fake.calls == {"models": 1}  # cached per process, across engines

    def test_an_unreadable_model_list_leaves_an_unknown_model_to_openrouter(
        self, fake: FakeOpenRouter
    ) -> None:
        fake.faults.unavailable = {"models": set(range(1, 10))}
        engine = engine_for(fake, sleep=lambda s: None)
        engine.check(request(model="acme/clip-1", seconds=12))  # not refused here
        assert fake.calls["models"] >= 2

    def test_capabilities_are_seeded_per_model_with_a_default_for_new_ones(self) -> None:
        veo = registry.capabilities("openrouter", VEO)
        assert veo.seconds == (4, 6, 8) and veo.sizes == ("1280x720", "720x1280", "1920x1080",
                                                          "1080x1920")  # fmt: skip
        assert (veo.first_frame, veo.last_frame, veo.audio, veo.seed) == (True, True, True, True)
        assert (veo.extend, veo.extend_seconds, veo.edit, veo.remix) == (True, (7,), False, False)
        assert OpenRouterEngine.capabilities_for("google/veo-3.1-fast").reference_images == 0
        seedance = OpenRouterEngine.capabilities_for(SEEDANCE)
        assert seedance.edit and seedance.reference_images == 9
        unknown = OpenRouterEngine.capabilities_for("acme/new-video-model")
        assert unknown.seconds == () and "1792x1024" not in unknown.sizes
        assert "960x960" in unknown.sizes and unknown.first_frame and not unknown.remix

    def test_a_listed_model_reads_as_capabilities(self) -> None:
        clip = listed_capabilities(LISTED["acme/clip-1"])
        assert clip.sizes == ("1280x720", "960x960") and clip.seconds == (5, 10)
        assert (clip.first_frame, clip.last_frame, clip.seed) == (True, False, False)
        assert clip.audio is True  # null in the list: the default
        veo = listed_capabilities(LISTED[VEO])
        assert veo.sizes == ("1280x720", "720x1280", "1920x1080", "1080x1920")

    def test_a_route_offers_the_models_sizes_and_durations(self, provider: Provider) -> None:
        route = catalog.route("veo")
        assert set(route.sizes) == {"1280x720", "720x1280", "1920x1080", "1080x1920"}
        assert route.seconds == (4, 6, 8)

    def test_the_row_builds_the_engine(self, provider: Provider) -> None:
        engine = catalog.get_provider("openrouter")
        assert isinstance(engine, OpenRouterEngine) and isinstance(engine, RemoteEngine)
        assert engine.base_url == provider.base_url
        assert engine.find_lost(request(), since=time.time()) == []
        assert engine.delete("gen-vid-1") is False  # OpenRouter deletes nothing
        blank = Provider(name="o", kind="openrouter", api_key_env=KEY_ENV)
        assert OpenRouterEngine.from_row(blank).base_url == "https://openrouter.ai/api/v1"


class TestProbe:
    def test_probe_reads_the_key_and_the_model_list(self, fake: FakeOpenRouter) -> None:
        seen = engine_for(fake).probe()
        assert seen == (
            f"{fake.base_url} accepted the key (sk-or-v1-...abc, 41.5 credits left on it); "
            "3 video models: acme/clip-1, bytedance/seedance-2.0, google/veo-3.1"
        )
        assert fake.calls == {"key": 1, "models": 1}
        assert keys_sent(fake, "key") == [f"Bearer {KEY}"]

    def test_probe_says_when_the_key_is_refused(self, fake: FakeOpenRouter) -> None:
        with pytest.raises(ProviderError) as refused:
            engine_for(fake, api_key=lambda: "sk-or-v1-wrong").probe()
        assert "did not accept the studio's API key" in refused.value.message
        assert "sk-or-v1-wrong" not in refused.value.message


class TestWebhooks:
    def test_a_signed_message_names_the_job(self, fake: FakeOpenRouter) -> None:
        headers, body = fake.webhook_message("gen-vid-1-abc")
        event = engine_for(fake).webhook(headers, body, SECRET)
        assert event is not None and (event.job_id, event.final) == ("gen-vid-1-abc", True)
        assert event.event_type == "video.generation.completed"
        assert event.webhook_id == "openrouter:gen-vid-1-abc-completed"
        lower = {k.lower(): v for k, v in headers.items() if "idempotency" not in k.lower()}
        again = engine_for(fake).webhook(lower, body, SECRET)
        assert again is not None and again.webhook_id.startswith("openrouter:sha256:")

    @pytest.mark.parametrize("status", ["failed", "cancelled", "expired"])
    def test_every_ending_is_final(self, fake: FakeOpenRouter, status: str) -> None:
        event = engine_for(fake).webhook(*fake.webhook_message("j", status=status), SECRET)
        assert event is not None and event.final

    def test_a_tampered_body_is_refused(self, fake: FakeOpenRouter) -> None:
        headers, body = fake.webhook_message("gen-vid-1-abc")
        with pytest.raises(WebhookRefused, match="does not verify"):
            engine_for(fake).webhook(headers, body.replace(b"completed", b"cancelled"), SECRET)

    def test_a_message_signed_with_another_secret_is_refused(self, fake: FakeOpenRouter) -> None:
        headers, body = fake.webhook_message("gen-vid-1-abc", secret="someone-elses")
        with pytest.raises(WebhookRefused, match="does not verify"):
            engine_for(fake).webhook(headers, body, SECRET)

    def test_a_stale_or_future_timestamp_is_refused(self, fake: FakeOpenRouter) -> None:
        for offset in (-301, 301):
            headers, body = fake.webhook_message("j", timestamp=time.time() + offset)
            with pytest.raises(WebhookRefused, match="too old or too far"):
                engine_for(fake).webhook(headers, body, SECRET)

    def test_a_missing_signature_or_secret_is_refused(self, fake: FakeOpenRouter) -> None:
        headers, body = fake.webhook_message("j")
        with pytest.raises(WebhookRefused, match="Missing or malformed"):
            engine_for(fake).webhook({"Content-Type": "application/json"}, body, SECRET)
        with pytest.raises(WebhookRefused, match="No webhook signing secret"):
            engine_for(fake).webhook(headers, body, "")

    def test_a_signed_delivery_wakes_its_job_once_and_a_forged_one_is_refused(
        self, provider: Provider, fake: FakeOpenRouter, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        video = or_video(status=Video.Status.IN_PROGRESS, provider_job_id="gen-vid-9-hooked")
        woken: list[str] = []
        monkeypatch.setattr(wake, "wake", woken.append)
        client = Client()

        def post(headers: dict[str, str], body: bytes) -> Any:
            extra: dict[str, Any] = {f"HTTP_{k.upper().replace('-', '_')}": v
                                     for k, v in headers.items()
                                     if k.lower() != "content-type"}  # fmt: skip
            return client.post("/webhooks/providers/openrouter", body,
                               content_type="application/json", **extra)  # fmt: skip

        headers, body = fake.webhook_message("gen-vid-9-hooked")
        response = post(headers, body)
        assert response.status_code == 200, response.content
        assert response.json()["outcome"] == "woken" and woken == [video.pk]
        assert post(headers, body).json()["outcome"] == "duplicate"  # a replay acts once
        forged = post(*fake.webhook_message("gen-vid-9-hooked", status="failed", secret="x"))
        assert forged.status_code == 400 and forged.json()["error"]["code"] == "invalid_signature"
        assert woken == [video.pk]
