"""The fal engine (fal's queue API) against a fake fal queue on loopback
(tests/fakes/fal.py), through the real remote runner."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone

from tests.conftest import stored_files
from tests.factories import image_bytes, make_video, mp4_bytes
from tests.fake_upstream import sample_assets
from tests.fakes.fal import KLING, WAN, FakeFal
from tests.fakes.jobs import assert_one_set_of_assets, rendered
from videos_app import services
from videos_app.jobs import remote
from videos_app.models import ModelRoute, Provider, Video
from videos_app.providers import catalog, registry
from videos_app.providers.base import (
    ProviderError,
    RemoteEngine,
    RemoteGone,
    RemoteRequest,
    WebhookRefused,
)
from videos_app.providers.fal import FalEngine, app_root

pytestmark = pytest.mark.django_db

KEY = "fal-studio-secret-0123456789abcdef:0123456789"
KEY_ENV = "STUDIO_TEST_FAL_KEY"
KLING_T2V = KLING + "text-to-video"
KLING_I2V = KLING + "image-to-video"
WAN_T2V, WAN_I2V, WAN_V2V = WAN + "text-to-video", WAN + "image-to-video", WAN + "video-to-video"


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    # fal gives no poll advice: the runner's own pace, made fast for a 0.3 s job.
    monkeypatch.setattr(remote, "FIRST_POLL_DELAY", 0.02)
    monkeypatch.setattr(remote, "POLL_FIRST", 0.05)
    monkeypatch.setattr(remote, "RECONCILE_TRIES", (0.0,))


@pytest.fixture
def fal() -> Iterator[FakeFal]:
    with FakeFal(api_key=KEY, render_seconds=0.3) as fake:
        yield fake


@pytest.fixture
def provider(fal: FakeFal, monkeypatch: pytest.MonkeyPatch) -> Provider:
    monkeypatch.setenv(KEY_ENV, KEY)
    row = Provider.objects.create(
        name="fal", kind="fal", base_url=fal.base_url, api_key_env=KEY_ENV,
        timeout_seconds=5, connect_timeout_seconds=1,
        options={"webhook_jwks_url": fal.jwks_url},
    )  # fmt: skip
    ModelRoute.objects.create(name="kling", provider=row, upstream_model=KLING_T2V)
    return row


def fal_video(**kwargs: Any) -> Video:
    kwargs.setdefault("provider", "fal")
    kwargs.setdefault("model", "kling")
    kwargs.setdefault("provider_model", KLING_T2V)
    kwargs.setdefault("prompt", "a red kite over green hills")
    kwargs.setdefault("size", "1920x1080")
    kwargs.setdefault("seconds", 5)
    return make_video(**kwargs)


def engine_for(fal: FakeFal, **kwargs: Any) -> FalEngine:
    kwargs.setdefault("api_key", lambda: KEY)
    return FalEngine(name="fal", base_url=fal.base_url, **kwargs)


def request(**kwargs: Any) -> RemoteRequest:
    kwargs.setdefault("video_id", "vid")
    kwargs.setdefault("operation", "create")
    kwargs.setdefault("prompt", "a lighthouse at dusk")
    kwargs.setdefault("model", KLING_T2V)
    kwargs.setdefault("size", "1920x1080")
    kwargs.setdefault("seconds", 5)
    return RemoteRequest(**kwargs)


def sent(fal: FakeFal) -> list[dict[str, Any]]:
    return [body for _, body in fal.bodies]


class TestCreate:
    def test_text_to_video_completes_with_one_submit_and_one_set_of_assets(
        self, provider: Provider, fal: FakeFal, media_root: Path
    ) -> None:
        video = rendered(fal_video())
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert video.progress == 100 and video.attempts == 1
        job = next(iter(fal.jobs.values()))
        # The job id carries the app's root: a restart polls by it alone.
        assert video.provider_job_id == f"fal-ai/kling-video|{job.id}"
        assert fal.calls["submit"] == 1 and fal.bodies[0][0] == KLING_T2V
        # Kling takes no seed or resolution: the studio's seed is not sent.
        assert sent(fal) == [{"prompt": "a red kite over green hills", "duration": "5",
                              "aspect_ratio": "16:9"}]  # fmt: skip
        # The video comes from fal's CDN (another host), fetched once, without the key.
        assert fal.calls["cdn"] == 1 and fal.calls["result"] == 1
        assert [auth for endpoint, auth in fal.auth_seen if endpoint == "cdn"] == [""]
        assert {auth for e, auth in fal.auth_seen if e != "cdn"} == {f"Key {KEY}"}
        # The row names fal's key set, so the studio's inbound address goes with it.
        (job,) = fal.jobs.values()
        assert job.webhook == settings.SITE_URL.rstrip("/") + "/webhooks/providers/fal"
        assert_one_set_of_assets(video, media_root)

    def test_image_to_video_sends_both_frames_as_data_uris_and_frames_for_seconds(
        self, provider: Provider, fal: FakeFal
    ) -> None:
        ModelRoute.objects.create(name="wan-i2v", provider=provider, upstream_model=WAN_I2V)
        video = fal_video(model="wan-i2v", provider_model=WAN_I2V, size="720x1280", seconds=4,
                          negative_prompt="blur", seed=7)  # fmt: skip
        first, last = image_bytes(720, 1280), image_bytes(720, 1280, "JPEG", (10, 20, 30))
        video.reference_image.save("reference.png", ContentFile(first), save=False)
        video.last_frame.save("last.jpg", ContentFile(last), save=True)
        assert rendered(video).status == Video.Status.COMPLETED, video.error_message
        assert sent(fal) == [{
            "prompt": "a red kite over green hills",
            "image_url": "data:image/png;base64," + base64.b64encode(first).decode(),
            "end_image_url": "data:image/jpeg;base64," + base64.b64encode(last).decode(),
            "num_frames": 65, "frames_per_second": 16, "aspect_ratio": "9:16",
            "resolution": "720p", "seed": 7, "negative_prompt": "blur",
        }]  # fmt: skip
        assert video.provider_job_id.startswith("fal-ai/wan|")

    def test_a_429_waits_then_the_submit_goes_through_once(
        self, provider: Provider, fal: FakeFal
    ) -> None:
        fal.faults.rate_limit = {"submit": {1}}
        video = rendered(fal_video())
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert fal.calls["submit"] == 2 and len(fal.jobs) == 1

    def test_a_503_on_a_poll_is_retried(self, provider: Provider, fal: FakeFal) -> None:
        fal.faults.unavailable = {"status": {1}}
        video = rendered(fal_video())
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert fal.submits() == 1

    @pytest.mark.parametrize(("fault", "made"), [("drop", 1), ("500", 1), ("lost", 0)])
    def test_a_submit_without_an_answer_is_never_sent_again(
        self, provider: Provider, fal: FakeFal, fault: str, made: int
    ) -> None:
        fal.faults.submit_fault = fault
        video = rendered(fal_video())
        # fal's queue cannot be searched: the job fails for someone to check, and
        # nothing is sent twice.
        assert (video.status, video.error_code) == (Video.Status.FAILED, "upstream_outcome_unknown")
        assert fal.calls["submit"] == 1 and len(fal.jobs) == made
        assert video.create_sent_at is not None and video.provider_job_id == ""

    def test_a_restart_after_an_unanswered_submit_fails_without_sending(
        self, provider: Provider, fal: FakeFal
    ) -> None:
        video = rendered(fal_video(create_sent_at=timezone.now()))
        assert (video.status, video.error_code) == (Video.Status.FAILED, "upstream_outcome_unknown")
        assert fal.calls["submit"] == 0

    def test_a_restarted_worker_polls_by_the_saved_id(
        self, provider: Provider, fal: FakeFal, media_root: Path
    ) -> None:
        job = fal.new(KLING_T2V, done=True)
        video = rendered(fal_video(provider_job_id=fal.job_id(job), create_sent_at=timezone.now()))
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert fal.calls["submit"] == 0 and fal.calls["status"] == 1
        assert_one_set_of_assets(video, media_root)

    def test_invalid_input_names_the_fields_fal_refused(
        self, provider: Provider, fal: FakeFal
    ) -> None:
        # An admin told the studio Kling takes whole-number durations; it does not.
        options = {"apps": {KLING_T2V: {"duration_format": "int"}}}
        Provider.objects.filter(pk=provider.pk).update(options=options)
        video = rendered(fal_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "invalid_request")
        assert video.error_message == (
            f"The fal app {KLING_T2V} refused its input: duration: Input should be '5' or '10'"
        )
        assert fal.calls["submit"] == 1 and fal.jobs == {}


class TestOptions:
    def test_an_apps_fields_constants_and_duration_format_come_from_the_options(
        self, fal: FakeFal
    ) -> None:
        app = "acme/veo-like/v3/text-to-video"
        options = {"apps": {app: {
            "fields": {"seconds": "length", "resolution": None, "audio": "with_sound"},
            "duration_format": "seconds_suffix", "extra": {"enhance_prompt": True, "seed": 1},
        }}}  # fmt: skip
        engine = engine_for(fal, options=options)
        job_id = engine.submit(request(model=app, size="1280x720", seconds=8, seed=5, audio=False))
        assert job_id.startswith("acme/veo-like|")
        assert sent(fal) == [{"enhance_prompt": True, "seed": 5, "prompt": "a lighthouse at dusk",
                              "length": "8s", "aspect_ratio": "16:9",
                              "with_sound": False}]  # fmt: skip

    def test_an_unknown_app_gets_the_default_mapping(self, fal: FakeFal, tmp_path: Path) -> None:
        image = tmp_path / "first.webp"
        image.write_bytes(image_bytes(64, 36, "WEBP"))
        engine_for(fal).submit(request(model="acme/anim/image-to-video", size="1280x720",
                                       seconds=6, seed=3, reference_image=image))  # fmt: skip
        (body,) = sent(fal)
        assert body.pop("image_url").startswith("data:image/webp;base64,")
        assert body == {"prompt": "a lighthouse at dusk", "duration": "6",
                        "aspect_ratio": "16:9", "resolution": "720p", "seed": 3}  # fmt: skip

    def test_the_webhook_address_is_passed_as_fal_webhook(self, fal: FakeFal) -> None:
        hook = "https://studio.example/webhooks/providers/fal"
        engine_for(fal).submit(request(webhook_url=hook))
        assert ("submit", {"fal_webhook": hook}) in fal.queries
        (job,) = fal.jobs.values()
        assert job.webhook == hook

    def test_a_namespaced_app_keeps_three_segments_in_its_root(self) -> None:
        assert app_root("workflows/acme/my-flow/step") == "workflows/acme/my-flow"
        assert app_root(KLING_T2V) == "fal-ai/kling-video"


class TestFailures:
    def test_a_failed_request_keeps_fals_message_and_is_read_once(
        self, provider: Provider, fal: FakeFal
    ) -> None:
        fal.faults.fail_job = (500, "The model crashed while generating (CUDA out of memory).")
        video = rendered(fal_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "upstream_failed")
        assert video.error_message == "The model crashed while generating (CUDA out of memory)."
        # A failed request's 500 is its answer, not an outage: read once, not retried.
        assert fal.calls["result"] == 1 and fal.calls["cdn"] == 0

    def test_an_error_on_the_completed_status_fails_the_job(
        self, provider: Provider, fal: FakeFal
    ) -> None:
        fal.faults.status_error = ("Request timed out after 600 seconds.", "request_timeout")
        video = rendered(fal_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "request_timeout")
        assert video.error_message == "Request timed out after 600 seconds."
        assert fal.calls["result"] == 0

    def test_a_content_policy_refusal_is_moderation_blocked_with_fals_reason(
        self, provider: Provider, fal: FakeFal, media_root: Path
    ) -> None:
        reason = "The content could not be processed because it contained material flagged by a content checker."  # noqa: E501
        fal.faults.fail_job = (422, [{"loc": ["body", "prompt"], "msg": reason,
                                      "type": "content_policy_violation"}])  # fmt: skip
        video = rendered(fal_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "moderation_blocked")
        assert video.error_message == reason
        assert stored_files(media_root) == []

    def test_a_refusal_on_the_status_is_moderation_blocked_too(
        self, provider: Provider, fal: FakeFal
    ) -> None:
        fal.faults.status_error = ("Prompt refused by the content policy.", "")
        video = rendered(fal_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "moderation_blocked")
        assert video.error_message == "Prompt refused by the content policy."

    def test_a_wrong_key_says_it_is_the_studios_and_never_shows_it(
        self, provider: Provider, fal: FakeFal, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        wrong = "fal-wrong-key-9876543210:abc"
        monkeypatch.setenv(KEY_ENV, wrong)
        fal.faults.echo_key = True  # fal's message repeats it here
        video = rendered(fal_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "http_401")
        assert "did not accept the studio's API key" in video.error_message
        assert wrong not in video.error_message and KEY not in video.error_message
        assert "[redacted]" in video.error_message
        assert fal.calls["submit"] == 1  # a 401 is final: not retried

    def test_the_key_is_in_no_repr(self, fal: FakeFal) -> None:
        engine = engine_for(fal)
        assert KEY not in repr(engine) and KEY not in repr(engine.http.headers)

    def test_a_request_fal_no_longer_knows_is_gone(self, fal: FakeFal) -> None:
        with pytest.raises(RemoteGone):
            engine_for(fal).status("fal-ai/kling-video|nonexistent")


class TestResults:
    def test_an_expired_link_is_read_again_and_then_fails_clearly(
        self, provider: Provider, fal: FakeFal, media_root: Path
    ) -> None:
        fal.faults.expire_after = 0
        video = rendered(fal_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "upstream_assets_expired")
        # One fresh read of the result gave the same (gone) link: no second download.
        assert fal.calls["result"] == 2 and fal.calls["cdn"] == 1
        assert stored_files(media_root) == []

    def test_a_stale_link_is_replaced_by_a_fresh_read(
        self, provider: Provider, fal: FakeFal, media_root: Path
    ) -> None:
        fal.faults.stale_link_once = True
        video = rendered(fal_video())
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert fal.calls["cdn"] == 2 and fal.calls["result"] == 2
        assert_one_set_of_assets(video, media_root)

    def test_a_list_of_videos_and_an_inline_video_are_read(
        self, fal: FakeFal, tmp_path: Path
    ) -> None:
        fal.faults.videos_list = True
        engine = engine_for(fal)
        job = fal.new(KLING_T2V, done=True)
        assert engine.status(fal.job_id(job)).status == "completed"
        assert engine.fetch(fal.job_id(job), "video", tmp_path / "a.mp4") == len(
            sample_assets()["video"]
        )
        inline = "data:video/mp4;base64," + base64.b64encode(sample_assets()["video"]).decode()
        engine._results["x|y"] = {"video": {"url": inline}}
        assert engine.fetch("x|y", "video", tmp_path / "b.mp4") == len(sample_assets()["video"])


class TestCancel:
    def test_a_cancel_while_it_polls_reaches_fals_cancel(
        self, provider: Provider, fal: FakeFal, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        fal.render_seconds = 5.0
        polls: list[str] = []
        status = FalEngine.status

        def cancel_on_second_poll(self: FalEngine, job_id: str) -> Any:
            polls.append(job_id)
            if len(polls) == 2:
                video = Video.objects.get(provider_job_id=job_id)
                assert services.video_cancel(video=video, actor=video.owner)
            return status(self, job_id)

        monkeypatch.setattr(FalEngine, "status", cancel_on_second_poll)
        video = rendered(fal_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "cancelled")
        assert fal.calls["cancel"] == 1 and fal.calls["cdn"] == 0
        (job,) = fal.jobs.values()
        assert job.cancelled

    def test_the_housekeeping_cancel_stops_a_running_request(
        self, provider: Provider, fal: FakeFal
    ) -> None:
        fal.render_seconds = 5.0
        job = fal.new(KLING_T2V)
        video = fal_video(provider_job_id=fal.job_id(job), status=Video.Status.IN_PROGRESS)
        assert remote.remote_job_cancel(video_id=video.pk) is True
        assert fal.calls["cancel"] == 1 and job.cancelled

    def test_cancelling_a_finished_request_counts_as_ended(self, fal: FakeFal) -> None:
        job = fal.new(KLING_T2V, done=True)
        assert engine_for(fal).cancel(fal.job_id(job)) is True
        assert fal.calls["cancel"] == 1 and not job.cancelled

    def test_a_request_cancelled_at_fal_fails_as_cancelled(self, fal: FakeFal) -> None:
        job = fal.new(KLING_T2V, done=True)
        job.cancelled = True
        status = engine_for(fal).status(fal.job_id(job))
        assert (status.status, status.error_code) == ("failed", "cancelled")


class TestChecks:
    @pytest.mark.parametrize(
        ("fields", "code", "words"),
        [
            ({"size": "1280x720"}, "unsupported_size", "1920x1080, 1080x1920, 960x960"),
            ({"seconds": 8}, "unsupported_seconds", "makes 5, 10 seconds; not 8"),
            ({"with_characters": True}, "characters_unsupported", "local renderer"),
            ({"operation": "edit"}, "unsupported_operation", WAN_V2V),
            ({"operation": "extend"}, "unsupported_operation", "cannot extend"),
            ({"reference_image": Path("/x.png")}, "unsupported_input_reference", "image"),
            ({"model": KLING_I2V}, "first_frame_required", "input_reference"),
            ({"last_frame": Path("/x.png")}, "unsupported_last_frame", "last frame"),
            ({"audio": True}, "unsupported_audio", "makes no sound"),
            ({"model": "kling-2.1"}, "provider_misconfigured", "not a fal app id"),
            ({"model": WAN_V2V, "operation": "edit", "size": "1280x720"}, "source_missing",
             "no longer exists"),
        ],
    )  # fmt: skip
    def test_what_the_app_cannot_take_is_refused_before_sending(
        self, fal: FakeFal, fields: dict[str, Any], code: str, words: str
    ) -> None:
        with pytest.raises(ProviderError) as refused:
            engine_for(fal).check(request(**fields))
        assert refused.value.code == code and words in refused.value.message
        assert fal.calls == {}

    def test_an_edit_on_a_video_to_video_app_sends_the_source(
        self, fal: FakeFal, tmp_path: Path
    ) -> None:
        source = tmp_path / "source.mp4"
        source.write_bytes(mp4_bytes())
        engine_for(fal).submit(request(model=WAN_V2V, operation="edit", size="1280x720",
                                       seconds=4, source_file=source))  # fmt: skip
        (body,) = sent(fal)
        assert (
            body["video_url"] == "data:video/mp4;base64," + base64.b64encode(mp4_bytes()).decode()
        )
        assert "image_url" not in body and body["num_frames"] == 65

    def test_an_app_the_options_make_video_to_video_can_remix(
        self, fal: FakeFal, tmp_path: Path
    ) -> None:
        source = tmp_path / "source.mp4"
        source.write_bytes(mp4_bytes())
        app = "acme/restyle"
        engine = engine_for(fal, options={"apps": {app: {"fields": {"video": "video"}}}})
        engine.check(request(model=app, operation="remix", source_file=source))
        with pytest.raises(ProviderError, match=f"{WAN_V2V}, {app}"):
            engine.check(request(operation="remix", source_file=source))
        big = engine_for(fal, options={"apps": {app: {"fields": {"video": "video"}}},
                                       "max_inline_video_mb": 0.001})  # fmt: skip
        with pytest.raises(ProviderError, match="larger than"):
            big.check(request(model=app, operation="edit", source_file=source))

    def test_capabilities_are_seeded_per_app_with_a_default_for_new_ones(self) -> None:
        kling = registry.capabilities("fal", KLING_T2V)
        assert kling.seconds == (5, 10) and kling.sizes == ("1920x1080", "1080x1920", "960x960")
        assert (kling.first_frame, kling.seed, kling.negative_prompt) == (False, False, True)
        assert registry.capabilities("fal", KLING_I2V).first_frame is True
        wan = FalEngine.capabilities_for(WAN_I2V)
        assert wan.seconds == tuple(range(2, 11)) and (wan.last_frame, wan.seed) == (True, True)
        assert (wan.edit, FalEngine.capabilities_for(WAN_V2V).edit) == (False, True)
        unknown = FalEngine.capabilities_for("acme/new-video-model")
        assert (unknown.sizes, unknown.seconds, unknown.first_frame) == ((), (), True)
        assert not (unknown.extend or unknown.edit or unknown.remix or unknown.audio)
        assert FalEngine.capabilities_for("acme/x/text-to-video").first_frame is False

    def test_a_route_offers_the_apps_sizes_and_durations(self, provider: Provider) -> None:
        route = catalog.route("kling")
        assert set(route.sizes) == {"1920x1080", "1080x1920", "960x960"}
        assert route.seconds == (5, 10)

    def test_the_row_builds_the_engine(self, provider: Provider) -> None:
        engine = catalog.get_provider("fal")
        assert isinstance(engine, FalEngine) and isinstance(engine, RemoteEngine)
        assert engine.base_url == provider.base_url and engine.native_extend is False
        assert engine.remote_variants == ("video",)
        assert engine.find_lost(request(), since=time.time()) == []
        assert engine.delete("fal-ai/kling-video|x") is False  # fal deletes nothing
        blank = Provider(name="f", kind="fal", api_key_env=KEY_ENV)
        assert FalEngine.from_row(blank).base_url == "https://queue.fal.run"


class TestProbe:
    def test_probe_looks_up_no_request_and_sees_the_key_accepted(self, fal: FakeFal) -> None:
        seen = engine_for(fal).probe()
        assert seen == f"{fal.base_url} accepted the key (a lookup of no request answered 404)"
        assert fal.calls["status"] == 1

    def test_probe_says_when_the_key_is_refused(self, fal: FakeFal) -> None:
        with pytest.raises(ProviderError) as refused:
            engine_for(fal, api_key=lambda: "fal-wrong").probe()
        assert "did not accept the studio's API key" in refused.value.message


class TestWebhooks:
    def engine(self, fal: FakeFal) -> FalEngine:
        return FalEngine(name="fal", api_key=lambda: KEY,
                         options={"webhook_jwks_url": fal.jwks_url})  # fmt: skip

    def test_a_signed_message_names_the_request_and_the_keys_are_cached(self, fal: FakeFal) -> None:
        headers, body = fal.webhook_message("req-1")
        engine = self.engine(fal)
        event = engine.webhook(headers, body, "")
        assert event is not None and (event.job_id, event.final) == ("req-1", True)
        assert event.event_type == "fal.ok"
        headers, body = fal.webhook_message("req-2", status="ERROR", error="boom")
        lower = {k.lower(): v for k, v in headers.items()}
        event = self.engine(fal).webhook(lower, body, "")
        assert event is not None and event.event_type == "fal.error" and event.final
        assert fal.calls["jwks"] == 1  # one fetch for both, across engines

    def test_a_tampered_body_is_refused(self, fal: FakeFal) -> None:
        headers, body = fal.webhook_message("req-1")
        with pytest.raises(WebhookRefused, match="No key of fal's verifies"):
            self.engine(fal).webhook(headers, body.replace(b'"OK"', b'"ERROR"'), "")

    def test_a_message_signed_by_another_key_is_refused(self, fal: FakeFal) -> None:
        headers, body = fal.webhook_message("req-1", key=Ed25519PrivateKey.generate())
        with pytest.raises(WebhookRefused, match="No key of fal's verifies"):
            self.engine(fal).webhook(headers, body, "")

    def test_a_rotated_key_is_fetched_again(
        self, fal: FakeFal, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        engine = self.engine(fal)
        assert engine.webhook(*fal.webhook_message("req-1"), "") is not None
        fal.rotate_key()
        monkeypatch.setattr(FalEngine, "JWKS_REFETCH_SECONDS", 0.0)
        assert engine.webhook(*fal.webhook_message("req-2"), "") is not None
        assert fal.calls["jwks"] == 2

    def test_a_stale_or_future_timestamp_is_refused(self, fal: FakeFal) -> None:
        for offset in (-301, 301):
            headers, body = fal.webhook_message("req-1", timestamp=time.time() + offset)
            with pytest.raises(WebhookRefused, match="too old or too far"):
                self.engine(fal).webhook(headers, body, "")

    def test_missing_headers_and_mismatched_bodies_are_refused(self, fal: FakeFal) -> None:
        headers, body = fal.webhook_message("req-1")
        with pytest.raises(WebhookRefused, match="Missing X-Fal-Webhook-Signature"):
            self.engine(fal).webhook(
                {k: v for k, v in headers.items() if "Signature" not in k}, body, ""
            )
        other_headers, _ = fal.webhook_message("req-2")
        _, other_body = fal.webhook_message("req-2")
        # Signed for req-2 over a body naming req-2, but the headers are req-1's.
        with pytest.raises(WebhookRefused):
            self.engine(fal).webhook(headers, other_body, "")
        assert self.engine(fal).webhook(other_headers, other_body, "") is not None

    def test_the_inbound_url_verifies_fals_signature(
        self, provider: Provider, fal: FakeFal
    ) -> None:
        from django.test import Client

        client = Client()
        url = "/webhooks/providers/fal"

        def post(headers: dict[str, str], body: bytes) -> Any:
            extra: dict[str, Any] = {
                f"HTTP_{k.upper().replace('-', '_')}": v
                for k, v in headers.items()
                if k.lower() != "content-type"
            }
            return client.post(url, body, content_type="application/json", **extra)

        headers, body = fal.webhook_message("req-hooked")
        response = post(headers, body)
        assert response.status_code == 200, response.content
        assert response.json()["received"] is True
        assert post(headers, body).json()["outcome"] == "duplicate"  # a replay acts once
        forged = post(headers, body.replace(b"req-hooked", b"req-other"))
        assert forged.status_code == 400 and forged.json()["error"]["code"] == "invalid_signature"


class TestWebhookThroughTheStudio:
    """fal's webhook names only the request: the studio finds the running job whose id
    ends with it, verifies the Ed25519 signature against the JWKS, and wakes the job."""

    def test_a_signed_delivery_wakes_its_job_and_a_forged_one_is_refused(
        self, provider: Provider, fal: FakeFal, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from django.test import Client

        from videos_app.jobs import wake

        video = fal_video(status=Video.Status.IN_PROGRESS,
                          provider_job_id="fal-ai/kling-video|req-hooked-1")  # fmt: skip
        woken: list[str] = []
        monkeypatch.setattr(wake, "wake", woken.append)
        client = Client()

        def post(headers: dict[str, str], body: bytes) -> Any:
            extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()
                     if k.lower() != "content-type"}  # fmt: skip
            return client.post(
                f"/webhooks/providers/{provider.name}", body,
                content_type="application/json", **extra,
            )  # fmt: skip

        headers, body = fal.webhook_message("req-hooked-1")
        response = post(headers, body)
        assert response.status_code == 200, response.content
        assert response.json()["outcome"] == "woken" and woken == [video.pk]
        headers, body = fal.webhook_message("req-hooked-1", key=Ed25519PrivateKey.generate())
        forged = post(headers, body)
        assert forged.status_code == 400 and forged.json()["error"]["code"] == "invalid_signature"
        assert woken == [video.pk]
