"""The gemini_omni engine (Gemini Omni through the Interactions API) against a fake Gemini
API on loopback (tests/fakes/gemini.py), through the real remote runner."""

from __future__ import annotations

import base64
import io
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from tests.api_helpers import make_key
from tests.conftest import stored_files
from tests.factories import image_bytes, make_user, make_video, mp4_bytes
from tests.fake_upstream import sample_assets
from tests.fakes.gemini import FakeGemini
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
    WebhookEvent,
    WebhookRefused,
)
from videos_app.providers.gemini_omni import GeminiOmniEngine, interaction_status
from videos_app.webhooks import signing

pytestmark = pytest.mark.django_db

KEY = "AIzaSy-studio-secret-0123456789abcdef"
KEY_ENV = "STUDIO_TEST_GEMINI_KEY"
MODEL = "gemini-omni-1.1-flash"
SECRET = "whsec_" + base64.b64encode(b"gemini-static-webhook-secret!").decode()


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    # Google gives no poll advice: the runner's own pace, made fast for a 0.3 s job.
    monkeypatch.setattr(remote, "FIRST_POLL_DELAY", 0.02)
    monkeypatch.setattr(remote, "POLL_FIRST", 0.05)
    monkeypatch.setattr(remote, "RECONCILE_TRIES", (0.0,))


@pytest.fixture
def gemini() -> Iterator[FakeGemini]:
    with FakeGemini(api_key=KEY, render_seconds=0.3) as fake:
        yield fake


@pytest.fixture
def omni(gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch) -> Provider:
    monkeypatch.setenv(KEY_ENV, KEY)
    provider = Provider.objects.create(
        name="omni", kind="gemini_omni", base_url=gemini.base_url, api_key_env=KEY_ENV,
        timeout_seconds=5, connect_timeout_seconds=1,
    )  # fmt: skip
    ModelRoute.objects.create(name="omni-flash", provider=provider, upstream_model=MODEL)
    return provider


def omni_video(**kwargs: Any) -> Video:
    kwargs.setdefault("provider", "omni")
    kwargs.setdefault("model", "omni-flash")
    kwargs.setdefault("provider_model", MODEL)
    kwargs.setdefault("prompt", "a red kite over green hills")
    kwargs.setdefault("size", "1280x720")
    kwargs.setdefault("seconds", 8)
    return make_video(**kwargs)


def engine_for(gemini: FakeGemini, **kwargs: Any) -> GeminiOmniEngine:
    kwargs.setdefault("api_key", lambda: KEY)
    return GeminiOmniEngine(name="omni", base_url=gemini.base_url, **kwargs)


def request(**kwargs: Any) -> RemoteRequest:
    kwargs.setdefault("video_id", "vid")
    kwargs.setdefault("operation", "create")
    kwargs.setdefault("prompt", "a lighthouse at dusk")
    kwargs.setdefault("model", MODEL)
    kwargs.setdefault("size", "1280x720")
    kwargs.setdefault("seconds", 8)
    return RemoteRequest(**kwargs)


def created(gemini: FakeGemini) -> list[dict[str, Any]]:
    return [body for endpoint, body in gemini.bodies if endpoint == "create"]


def finished_job(gemini: FakeGemini) -> str:
    return gemini.new({"model": MODEL, "response_format": {"type": "video"}}, done=True).id


class TestCreate:
    def test_text_to_video_completes_with_one_create_and_one_set_of_assets(
        self, omni: Provider, gemini: FakeGemini, media_root: Path
    ) -> None:
        video = rendered(omni_video())
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert video.progress == 100 and video.attempts == 1
        assert video.provider_job_id in gemini.interactions
        assert gemini.calls["create"] == 1 and len(gemini.interactions) == 1
        assert created(gemini) == [{
            "model": MODEL,
            "background": True,
            "input": [{"type": "user_input",
                       "content": [{"type": "text", "text": "a red kite over green hills"}]}],
            "response_format": {"type": "video", "aspect_ratio": "16:9", "resolution": "720p",
                                "duration": "8s", "delivery": "uri"},
            "generation_config": {"video_config": {"task": "text_to_video"}, "seed": video.seed},
        }]  # fmt: skip
        # Only the video comes from Google (fetched once, with the key); the studio made
        # the thumbnail and spritesheet from it.
        assert gemini.calls["file"] == 1
        assert {key for _, key in gemini.keys_seen} == {KEY}
        assert ("get", {"stream": "false"}) in gemini.queries
        assert_one_set_of_assets(video, media_root)

    def test_image_to_video_sends_the_first_and_last_frames_as_base64_image_parts(
        self, omni: Provider, gemini: FakeGemini
    ) -> None:
        video = omni_video(size="720x1280", seconds=4)
        first, last = image_bytes(720, 1280), image_bytes(720, 1280, "JPEG", (10, 20, 30))
        video.reference_image.save("reference.png", ContentFile(first), save=False)
        video.last_frame.save("last.jpg", ContentFile(last), save=True)
        assert rendered(video).status == Video.Status.COMPLETED, video.error_message
        (body,) = created(gemini)
        assert body["input"][0]["content"][1:] == [
            {"type": "image", "data": base64.b64encode(first).decode(), "mime_type": "image/png"},
            {"type": "image", "data": base64.b64encode(last).decode(), "mime_type": "image/jpeg"},
        ]
        assert body["generation_config"]["video_config"] == {"task": "image_to_video"}
        assert body["response_format"]["aspect_ratio"] == "9:16"
        assert body["response_format"]["duration"] == "4s"

    def test_reference_images_make_a_reference_to_video(self, gemini: FakeGemini, tmp_path: Path
                                                        ) -> None:  # fmt: skip
        images = []
        for i in range(2):
            images.append(tmp_path / f"ref{i}.webp")
            images[-1].write_bytes(image_bytes(64, 64, "WEBP", (i * 90, 10, 10)))
        engine = engine_for(gemini)
        engine.submit(request(reference_images=tuple(images), size="3840x2160"))
        (body,) = created(gemini)
        assert [p["mime_type"] for p in body["input"][0]["content"][1:]] == ["image/webp"] * 2
        assert body["generation_config"]["video_config"]["task"] == "reference_to_video"
        assert body["response_format"]["resolution"] == "4k"

    def test_a_429_waits_then_the_create_goes_through_once(
        self, omni: Provider, gemini: FakeGemini
    ) -> None:
        gemini.faults.rate_limit = {"create": {1}}
        video = rendered(omni_video())
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert gemini.calls["create"] == 2 and len(gemini.interactions) == 1

    def test_a_503_on_a_poll_is_retried(self, omni: Provider, gemini: FakeGemini) -> None:
        gemini.faults.unavailable = {"get": {1}}
        video = rendered(omni_video())
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert gemini.creates() == 1

    @pytest.mark.parametrize(("fault", "made"), [("drop", 1), ("500", 1), ("lost", 0)])
    def test_a_create_without_an_answer_is_never_sent_again(
        self, omni: Provider, gemini: FakeGemini, fault: str, made: int
    ) -> None:
        gemini.faults.create_fault = fault
        video = rendered(omni_video())
        # Google has no list to look the interaction up in: the job fails for someone
        # to check, and nothing is sent twice.
        assert (video.status, video.error_code) == (Video.Status.FAILED, "upstream_outcome_unknown")
        assert gemini.calls["create"] == 1 and len(gemini.interactions) == made
        assert video.create_sent_at is not None and video.provider_job_id == ""

    def test_a_restart_after_an_unanswered_create_fails_without_sending(
        self, omni: Provider, gemini: FakeGemini
    ) -> None:
        video = rendered(omni_video(create_sent_at=timezone.now()))
        assert (video.status, video.error_code) == (Video.Status.FAILED, "upstream_outcome_unknown")
        assert gemini.calls["create"] == 0


class TestFailures:
    def test_a_failed_interaction_keeps_googles_code_and_message(
        self, omni: Provider, gemini: FakeGemini
    ) -> None:
        gemini.faults.fail_job = ("https://ai.google.dev/errors/INTERNAL", "Generation failed.")
        video = rendered(omni_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "INTERNAL")
        assert video.error_message == "Generation failed."
        assert gemini.calls["file"] == 0

    def test_a_safety_refusal_is_moderation_blocked_with_googles_reason(
        self, omni: Provider, gemini: FakeGemini, media_root: Path
    ) -> None:
        reason = "The prompt was blocked by safety filters (violence)."
        gemini.faults.fail_job = ("https://ai.google.dev/errors/PROMPT_BLOCKED_SAFETY", reason)
        video = rendered(omni_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "moderation_blocked")
        assert video.error_message == reason
        assert stored_files(media_root) == []

    @pytest.mark.parametrize(
        ("final", "code"),
        [("incomplete", "incomplete"), ("budget_exceeded", "budget_exceeded"),
         ("cancelled", "cancelled"), ("requires_action", "requires_action")],
    )  # fmt: skip
    def test_other_final_statuses_fail_with_their_word(
        self, gemini: FakeGemini, final: str, code: str
    ) -> None:
        gemini.faults.final_status = final
        status = engine_for(gemini).status(finished_job(gemini))
        assert (status.status, status.error_code) == ("failed", code)
        assert status.error_message

    def test_statuses_while_it_runs_and_an_unknown_one(self) -> None:
        assert interaction_status({"id": "a", "status": "queued"}).status == "queued"
        assert interaction_status({"id": "a", "status": "in_progress"}).status == "in_progress"
        assert interaction_status({"id": "a", "status": "thinking"}).status == "in_progress"
        safety = interaction_status({"id": "a", "status": "failed", "errors": [
            {"code": "RAI_FILTERED", "message": "Filtered by Responsible AI."}]})  # fmt: skip
        assert (safety.error_code, safety.error_message) == (
            "moderation_blocked", "Filtered by Responsible AI.",
        )  # fmt: skip

    def test_completed_without_a_video_says_what_the_model_said(
        self, omni: Provider, gemini: FakeGemini
    ) -> None:
        gemini.faults.final_status, gemini.faults.no_video = "completed", True
        video = rendered(omni_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "upstream_no_video")
        assert video.error_message == "I can only describe that scene."

    def test_a_wrong_key_says_it_is_the_studios_and_never_shows_it(
        self, omni: Provider, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        wrong = "AIzaSy-wrong-key-9876543210"
        monkeypatch.setenv(KEY_ENV, wrong)
        gemini.faults.echo_key = True  # Google's message repeats it here
        video = rendered(omni_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "API_KEY_INVALID")
        assert "did not accept the studio's API key" in video.error_message
        assert wrong not in video.error_message and KEY not in video.error_message
        assert "[redacted]" in video.error_message
        assert gemini.calls["create"] == 1  # a 400 is final: not retried

    def test_the_key_is_in_no_repr(self, gemini: FakeGemini) -> None:
        engine = engine_for(gemini)
        assert KEY not in repr(engine) and KEY not in repr(engine.http.headers)


class TestResults:
    def test_an_expired_link_is_read_again_and_then_fails_clearly(
        self, omni: Provider, gemini: FakeGemini, media_root: Path
    ) -> None:
        gemini.faults.expire_after = 0
        video = rendered(omni_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "upstream_assets_expired")
        assert gemini.calls["file"] == 1  # the fresh read gave the same (gone) link
        assert stored_files(media_root) == []

    def test_a_stale_link_is_replaced_by_a_fresh_read(
        self, omni: Provider, gemini: FakeGemini, media_root: Path
    ) -> None:
        gemini.faults.stale_link_once = True
        video = rendered(omni_video())
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert gemini.calls["file"] == 2
        assert_one_set_of_assets(video, media_root)

    def test_a_redirect_to_another_host_gets_no_key(
        self, omni: Provider, gemini: FakeGemini, media_root: Path
    ) -> None:
        gemini.faults.redirect_files = True
        video = rendered(omni_video())
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert gemini.calls["cdn"] == 1
        assert [key for endpoint, key in gemini.keys_seen if endpoint in ("file", "cdn")] == [
            KEY, "",
        ]  # fmt: skip
        assert_one_set_of_assets(video, media_root)

    def test_an_inline_video_is_decoded(
        self, omni: Provider, gemini: FakeGemini, media_root: Path
    ) -> None:
        gemini.faults.inline = True
        video = rendered(omni_video())
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert gemini.calls["file"] == 0
        assert_one_set_of_assets(video, media_root)

    def test_a_video_only_in_the_steps_is_found(self, omni: Provider, gemini: FakeGemini) -> None:
        gemini.faults.steps_only = True
        assert rendered(omni_video()).status == Video.Status.COMPLETED

    def test_a_link_elsewhere_is_fetched_without_the_key(
        self, gemini: FakeGemini, tmp_path: Path
    ) -> None:
        engine = engine_for(gemini)
        job = finished_job(gemini)
        engine._videos[job] = {"type": "video", "uri": f"http://localhost:{gemini.port}/cdn/{job}"}
        assert engine.fetch(job, "video", tmp_path / "v.mp4") == len(sample_assets()["video"])
        assert gemini.keys_seen == [("cdn", "")]

    def test_the_key_goes_only_to_the_rows_host_and_googles(self) -> None:
        engine = GeminiOmniEngine(name="g", api_key=lambda: KEY, base_url="https://gw.example/")
        assert engine._ours("https://gw.example/v1beta/files/a:download?alt=media")
        assert engine._ours("https://generativelanguage.googleapis.com/v1beta/files/a:download")
        assert not engine._ours("https://storage.googleapis.com/bucket/a.mp4?X-Goog-Signature=1")
        assert not engine._ours("http://gw.example/v1beta/files/a:download")

    def test_delete_removes_the_interaction_and_a_gone_one_counts(self, gemini: FakeGemini
                                                                  ) -> None:  # fmt: skip
        engine = engine_for(gemini)
        job = finished_job(gemini)
        assert engine.delete(job) is True and gemini.interactions[job].deleted
        assert engine.delete(job) is True  # 404: already gone
        with pytest.raises(RemoteGone):
            engine.status(job)


class TestSources:
    def test_edit_continues_the_source_interaction(
        self, omni: Provider, gemini: FakeGemini
    ) -> None:
        source = omni_video(status=Video.Status.COMPLETED, provider_job_id=finished_job(gemini))
        video = omni_video(operation=Video.Operation.EDIT, source=source, prompt="make it rain")
        assert rendered(video).status == Video.Status.COMPLETED, video.error_message
        (body,) = created(gemini)
        assert body["previous_interaction_id"] == source.provider_job_id
        assert body["generation_config"]["video_config"] == {"task": "edit"}
        assert body["input"][0]["content"] == [{"type": "text", "text": "make it rain"}]

    def test_a_remix_is_an_edit_of_the_source_with_its_seed(
        self, omni: Provider, gemini: FakeGemini
    ) -> None:
        source = omni_video(status=Video.Status.COMPLETED, provider_job_id=finished_job(gemini))
        video = omni_video(operation=Video.Operation.REMIX, source=source, prompt="at night",
                           seed=source.seed)  # fmt: skip
        assert rendered(video).status == Video.Status.COMPLETED, video.error_message
        (body,) = created(gemini)
        assert body["previous_interaction_id"] == source.provider_job_id
        assert body["generation_config"] == {"video_config": {"task": "edit"}, "seed": source.seed}
        assert body["response_format"]["duration"] == "8s"

    def test_extend_is_native_and_asks_for_the_new_segment(
        self, omni: Provider, gemini: FakeGemini, media_root: Path
    ) -> None:
        source = omni_video(status=Video.Status.COMPLETED, provider_job_id=finished_job(gemini))
        video = omni_video(operation=Video.Operation.EXTEND, source=source, seconds=14,
                           segment_seconds=6, prompt="the kite flies on")  # fmt: skip
        assert rendered(video).status == Video.Status.COMPLETED, video.error_message
        (body,) = created(gemini)
        assert body["previous_interaction_id"] == source.provider_job_id
        assert body["generation_config"]["video_config"] == {"task": "extend"}
        assert body["response_format"]["duration"] == "6s"
        # Google's video is the whole continued video: stored as it came, not stitched.
        assert_one_set_of_assets(video, media_root)

    def test_an_edit_of_a_video_made_elsewhere_sends_the_file(
        self, omni: Provider, gemini: FakeGemini
    ) -> None:
        source = make_video(provider="local", status=Video.Status.COMPLETED, seconds=4)
        source.video_file.save("video.mp4", ContentFile(mp4_bytes()), save=True)
        video = omni_video(operation=Video.Operation.EDIT, source=source, seconds=4)
        assert rendered(video).status == Video.Status.COMPLETED, video.error_message
        (body,) = created(gemini)
        assert "previous_interaction_id" not in body
        assert body["input"][0]["content"][1] == {
            "type": "video", "data": base64.b64encode(mp4_bytes()).decode(),
            "mime_type": "video/mp4",
        }  # fmt: skip

    def test_a_source_gone_at_google_is_sent_as_the_stored_file(
        self, omni: Provider, gemini: FakeGemini
    ) -> None:
        source = omni_video(status=Video.Status.COMPLETED, provider_job_id="v1_expired")
        source.video_file.save("video.mp4", ContentFile(mp4_bytes()), save=True)
        video = omni_video(operation=Video.Operation.EXTEND, source=source, seconds=12,
                           segment_seconds=4)  # fmt: skip
        assert rendered(video).status == Video.Status.COMPLETED, video.error_message
        # The 404 made nothing; the second create is the only interaction.
        assert gemini.calls["create"] == 2 and len(gemini.interactions) == 1
        assert "previous_interaction_id" not in created(gemini)[1]
        assert created(gemini)[1]["input"][0]["content"][1]["type"] == "video"

    def test_a_large_source_made_elsewhere_is_refused_before_sending(
        self, gemini: FakeGemini, tmp_path: Path
    ) -> None:
        big = tmp_path / "big.mp4"
        big.write_bytes(b"\0" * (2 << 20))
        engine = engine_for(gemini, options={"max_inline_video_mb": 1})
        with pytest.raises(ProviderError) as refused:
            engine.check(request(operation="edit", source_file=big))
        assert refused.value.code == "source_too_large" and "1 MB" in refused.value.message
        assert gemini.calls["create"] == 0


class TestCancel:
    def test_a_cancel_while_it_polls_reaches_googles_cancel(
        self, omni: Provider, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        gemini.render_seconds = 5.0
        polls: list[str] = []
        status = GeminiOmniEngine.status

        def cancel_on_second_poll(self: GeminiOmniEngine, job_id: str) -> Any:
            polls.append(job_id)
            if len(polls) == 2:
                video = Video.objects.get(provider_job_id=job_id)
                assert services.video_cancel(video=video, actor=video.owner)
            return status(self, job_id)

        monkeypatch.setattr(GeminiOmniEngine, "status", cancel_on_second_poll)
        video = rendered(omni_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "cancelled")
        assert gemini.calls["cancel"] == 1
        assert gemini.interactions[video.provider_job_id].status == "cancelled"
        assert gemini.calls["file"] == 0

    def test_the_housekeeping_cancel_stops_a_running_interaction(
        self, omni: Provider, gemini: FakeGemini
    ) -> None:
        gemini.render_seconds = 5.0
        job = gemini.new({"model": MODEL})
        video = omni_video(provider_job_id=job.id, status=Video.Status.IN_PROGRESS)
        assert remote.remote_job_cancel(video_id=video.pk) is True
        assert gemini.calls["cancel"] == 1 and job.status == "cancelled"

    def test_cancelling_a_finished_interaction_counts_as_stopped(self, gemini: FakeGemini) -> None:
        assert engine_for(gemini).cancel(finished_job(gemini)) is True
        assert gemini.calls["cancel"] == 1


class TestChecks:
    @pytest.mark.parametrize(
        ("fields", "code", "words"),
        [
            ({"size": "1792x1024"}, "unsupported_size", "1280x720, 720x1280"),
            ({"seconds": 12}, "unsupported_seconds", "3 to 10 seconds; not 12"),
            ({"operation": "extend", "source_id": "v1_x", "segment_seconds": 12},
             "unsupported_seconds", "extends by 3 to 10"),
            ({"with_characters": True}, "characters_unsupported", "local renderer"),
            ({"negative_prompt": "blur"}, "unsupported_negative_prompt", "No Gemini Omni"),
            ({"audio": False}, "unsupported_audio", "always makes sound"),
            ({"last_frame": Path("/nonexistent.png")}, "unsupported_inputs", "first frame"),
            ({"operation": "edit"}, "source_missing", "no longer exists"),
        ],
    )  # fmt: skip
    def test_what_the_model_cannot_make_is_refused_before_sending(
        self, gemini: FakeGemini, fields: dict[str, Any], code: str, words: str
    ) -> None:
        with pytest.raises(ProviderError) as refused:
            engine_for(gemini).check(request(**fields))
        assert refused.value.code == code and words in refused.value.message
        assert MODEL in refused.value.message or code in (
            "characters_unsupported", "unsupported_negative_prompt", "unsupported_audio",
            "source_missing",
        )  # fmt: skip
        assert gemini.calls == {}

    def test_too_many_references_and_frames_with_references_are_refused(
        self, gemini: FakeGemini, tmp_path: Path
    ) -> None:
        image = tmp_path / "ref.png"
        image.write_bytes(image_bytes(16, 16))
        engine = engine_for(gemini)
        with pytest.raises(ProviderError, match="up to 3 reference images"):
            engine.check(request(reference_images=(image,) * 4))
        with pytest.raises(ProviderError, match="not both"):
            engine.check(request(reference_images=(image,), reference_image=image))
        engine.check(request(model="gemini-omni-1.2-flash", reference_images=(image,) * 6))

    def test_capabilities_are_seeded_per_model_with_a_default_for_new_ones(self) -> None:
        caps = registry.capabilities("gemini_omni", MODEL)
        assert caps == GeminiOmniEngine.capabilities_for("gemini-omni-9-flash")
        assert caps.seconds == (3, 4, 5, 6, 7, 8, 9, 10) and caps.extend_seconds == caps.seconds
        assert "3840x2160" in caps.sizes and "1792x1024" not in caps.sizes
        assert (caps.first_frame, caps.last_frame, caps.reference_images) == (True, True, 3)
        assert (caps.seed, caps.extend, caps.edit, caps.remix) == (True, True, True, True)
        assert (caps.audio, caps.negative_prompt) == (False, False)
        assert registry.capabilities("gemini_omni", "gemini-omni-1.2-flash").reference_images == 6

    def test_a_route_offers_the_models_sizes_and_durations(self, omni: Provider) -> None:
        route = catalog.route("omni-flash")
        assert set(route.sizes) == set(GeminiOmniEngine.capabilities_for(MODEL).sizes)
        assert route.seconds == (3, 4, 5, 6, 7, 8, 9, 10)

    def test_the_row_builds_the_engine(self, omni: Provider) -> None:
        engine = catalog.get_provider("omni")
        assert isinstance(engine, GeminiOmniEngine) and isinstance(engine, RemoteEngine)
        assert engine.base_url == omni.base_url and engine.native_extend is True
        assert engine.find_lost(request(), since=time.time()) == []
        blank = Provider(name="g", kind="gemini_omni", api_key_env=KEY_ENV)
        assert GeminiOmniEngine.from_row(blank).base_url == (
            "https://generativelanguage.googleapis.com"
        )


class TestOptions:
    def test_webhook_config_is_sent_only_when_the_row_asks(self, gemini: FakeGemini) -> None:
        hook = "https://studio.example/webhooks/providers/omni"
        engine_for(gemini).submit(request(webhook_url=hook))
        engine_for(gemini, options={"webhook_config": True, "delivery": "inline"}).submit(
            request(webhook_url=hook)
        )
        plain, configured = created(gemini)
        assert "webhook_config" not in plain
        assert configured["webhook_config"] == {"uris": [hook]}
        assert configured["response_format"]["delivery"] == "inline"

    def test_the_api_version_is_an_option(self, gemini: FakeGemini) -> None:
        engine = engine_for(gemini, options={"api_version": "v1beta"})
        job_id = engine.submit(request())
        assert engine.status(job_id).status in ("queued", "in_progress")
        assert engine.requests["create"] == engine.requests["get"] == 1


class TestProbe:
    def test_probe_reads_the_model(self, gemini: FakeGemini) -> None:
        seen = engine_for(gemini).probe()
        assert seen.startswith(f"models/{MODEL} (Gemini Omni Flash) answered")
        assert gemini.calls["model"] == 1

    def test_probe_says_when_the_key_is_refused(self, gemini: FakeGemini) -> None:
        with pytest.raises(ProviderError) as refused:
            engine_for(gemini, api_key=lambda: "AIza-wrong").probe()
        assert refused.value.code == "API_KEY_INVALID"
        assert "did not accept the studio's API key" in refused.value.message

    def test_probe_names_a_model_google_does_not_have(self, gemini: FakeGemini) -> None:
        with pytest.raises(ProviderError, match=r"no model veo-3\.1-generate-preview"):
            engine_for(gemini, options={"probe_model": "veo-3.1-generate-preview"}).probe()


class TestWebhooks:
    def engine(self) -> GeminiOmniEngine:
        return GeminiOmniEngine(name="omni", api_key=lambda: KEY)

    def test_a_signed_message_names_the_interaction(self, gemini: FakeGemini) -> None:
        headers, body = gemini.webhook_message(SECRET, "interaction.completed", "v1_abc")
        event = self.engine().webhook(headers, body, SECRET)
        assert event == WebhookEvent(
            webhook_id=headers["webhook-id"], job_id="v1_abc",
            event_type="interaction.completed", final=True,
        )  # fmt: skip
        # Header names in any case (a plain dict from elsewhere).
        upper = {k.title(): v for k, v in headers.items()}
        assert self.engine().webhook(upper, body, SECRET) == event

    def test_a_message_still_running_is_not_final_and_others_are_not_about_a_job(
        self, gemini: FakeGemini
    ) -> None:
        headers, body = gemini.webhook_message(SECRET, "interaction.requires_action", "v1_abc")
        event = self.engine().webhook(headers, body, SECRET)
        assert event is not None and not event.final
        headers, body = gemini.webhook_message(SECRET, "batch.succeeded", "batches/1")
        assert self.engine().webhook(headers, body, SECRET) is None

    def test_a_tampered_body_is_refused(self, gemini: FakeGemini) -> None:
        headers, body = gemini.webhook_message(SECRET, "interaction.completed", "v1_abc")
        with pytest.raises(WebhookRefused, match="No webhook-signature matches"):
            self.engine().webhook(headers, body.replace(b"v1_abc", b"v1_xyz"), SECRET)

    def test_another_secret_is_refused(self, gemini: FakeGemini) -> None:
        other = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        headers, body = gemini.webhook_message(other, "interaction.completed", "v1_abc")
        with pytest.raises(WebhookRefused):
            self.engine().webhook(headers, body, SECRET)

    def test_a_stale_or_future_timestamp_is_refused(self, gemini: FakeGemini) -> None:
        for offset in (-301, 301):
            headers, body = gemini.webhook_message(
                SECRET, "interaction.completed", "v1_abc", timestamp=time.time() + offset
            )
            with pytest.raises(WebhookRefused, match="too"):
                self.engine().webhook(headers, body, SECRET)

    def test_missing_headers_and_a_body_that_is_not_an_event_are_refused(
        self, gemini: FakeGemini
    ) -> None:
        _, body = gemini.webhook_message(SECRET, "interaction.completed", "v1_abc")
        with pytest.raises(WebhookRefused, match="Missing"):
            self.engine().webhook({}, body, SECRET)
        junk = b"not json"
        signed = signing.sign_headers(SECRET, "msg_1", junk)
        with pytest.raises(WebhookRefused, match="not a JSON event"):
            self.engine().webhook(signed, junk, SECRET)


class TestWebhookThroughTheStudio:
    """The inbound URL hands a Gemini message to the engine's verifier and wakes the job."""

    def test_a_signed_message_wakes_the_job_once_and_a_forged_one_is_refused(
        self, omni: Provider, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from django.test import Client

        from videos_app.jobs import wake

        monkeypatch.setenv("STUDIO_TEST_GEMINI_HOOK", SECRET)
        Provider.objects.filter(pk=omni.pk).update(webhook_secret_env="STUDIO_TEST_GEMINI_HOOK")
        video = omni_video(status=Video.Status.IN_PROGRESS, provider_job_id="v1_hooked")
        woken: list[str] = []
        monkeypatch.setattr(wake, "wake", woken.append)
        client = Client()
        headers, body = gemini.webhook_message(SECRET, "interaction.completed", "v1_hooked")
        url = "/webhooks/providers/omni"

        def post(headers: dict[str, str], body: bytes) -> Any:
            extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
            return client.post(url, body, content_type="application/json", **extra)

        response = post(headers, body)
        assert response.status_code == 200, response.content
        assert response.json()["outcome"] == "woken" and woken == [video.pk]
        assert post(headers, body).json()["outcome"] == "duplicate"  # a replay acts once
        forged = post(headers, body.replace(b"v1_hooked", b"v1_other"))
        assert forged.status_code == 400 and forged.json()["error"]["code"] == "invalid_signature"
        assert woken == [video.pk]


class TestReferenceImages:
    """``reference_images`` (a studio extension) from /v1 and the create page to the vendor."""

    def data_url(self, width: int, height: int, colour: tuple[int, int, int]) -> str:
        png = image_bytes(width, height, "PNG", colour)
        return "data:image/png;base64," + base64.b64encode(png).decode()

    def v1_create(self, user: Any, **body: Any) -> Any:
        return Client(**make_key(user).headers).post(
            "/v1/videos", {"prompt": "the same red kite, now at sea", "model": "omni-flash",
                           "size": "1280x720", "seconds": "8", **body},
            content_type="application/json",
        )  # fmt: skip

    def test_sent_to_the_vendor_in_order_and_stored_with_the_video(
        self,
        omni: Provider,
        gemini: FakeGemini,
        media_root: Path,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        user = make_user("ines")
        refs = [{"image_url": self.data_url(3000, 1000, (200, 20, 20))},
                {"image_url": self.data_url(64, 64, (20, 20, 200))}]  # fmt: skip
        response = self.v1_create(user, reference_images=refs)
        assert response.status_code == 200, response.content
        video = Video.objects.get(pk=response.json()["id"])
        assert video.reference_images == [
            f"videos/{video.pk}/reference-1.png", f"videos/{video.pk}/reference-2.png",
        ]  # fmt: skip
        with Image.open(media_root / video.reference_images[0]) as first:
            assert first.size == (2048, 683)  # scaled to the long-side bound, shape kept
        video = rendered(video)
        assert video.status == Video.Status.COMPLETED, video.error_message
        (body,) = created(gemini)
        parts = body["input"][0]["content"][1:]
        assert [p["mime_type"] for p in parts] == ["image/png", "image/png"]
        sent = [Image.open(io.BytesIO(base64.b64decode(p["data"]))) for p in parts]
        assert [im.getpixel((0, 0))[:3] for im in sent] == [(200, 20, 20), (20, 20, 200)]
        assert body["generation_config"]["video_config"]["task"] == "reference_to_video"
        with django_capture_on_commit_callbacks(execute=True):
            services.video_delete(video=video, actor=video.owner)
        assert not [f for f in stored_files(media_root) if video.pk in f]

    def test_more_than_the_model_takes_is_refused_naming_it_and_stores_nothing(
        self, omni: Provider, gemini: FakeGemini, media_root: Path
    ) -> None:
        refs = [{"image_url": self.data_url(64, 64, (9, 9, 9))}] * 4
        response = self.v1_create(make_user("ines"), reference_images=refs)
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["param"] == "reference_images"
        assert "omni-flash" in error["message"] and "3" in error["message"]
        assert not Video.objects.exists() and stored_files(media_root) == []
        assert gemini.creates() == 0

    def test_a_bad_image_is_refused_by_its_place(self, omni: Provider, media_root: Path) -> None:
        junk = "data:image/png;base64," + base64.b64encode(b"not a png").decode()
        refs = [{"image_url": self.data_url(64, 64, (9, 9, 9))}, {"image_url": junk}]
        response = self.v1_create(make_user("ines"), reference_images=refs)
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "reference_images[1]"
        assert not Video.objects.exists() and stored_files(media_root) == []

    def test_a_model_that_takes_none_refuses_them(self, media_root: Path) -> None:
        refs = [{"image_url": self.data_url(64, 64, (9, 9, 9))}]
        response = self.v1_create(make_user("ines"), reference_images=refs, model="sora-2",
                                  size="720x1280", seconds="4")  # fmt: skip
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "reference_images"
        assert not Video.objects.exists()

    def test_the_create_page_takes_several_files(self, omni: Provider, media_root: Path) -> None:
        from django.test import Client

        client = Client()
        client.force_login(make_user("ines"))
        page = client.get("/videos/new", {"model": "omni-flash"}).content.decode()
        assert 'name="reference_images"' in page and "multiple" in page
        files = [SimpleUploadedFile(f"ref{i}.webp", image_bytes(80, 40, "WEBP", (i, 9, 9)),
                                    content_type="image/webp") for i in range(2)]  # fmt: skip
        response = client.post("/videos/new", {
            "prompt": "a kite", "model": "omni-flash", "size": "1280x720", "seconds": "8",
            "visibility": "private", "reference_images": files,
        })  # fmt: skip
        assert response.status_code == 302, response.content.decode()[-3000:]
        assert len(Video.objects.get().reference_images) == 2
