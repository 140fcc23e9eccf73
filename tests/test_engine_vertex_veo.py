"""The vertex_veo engine (Veo 3.1 on Vertex AI) against a fake Vertex AI and Google token
endpoint on loopback (tests/fakes/vertex.py), through the real remote runner."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.files.base import ContentFile
from django.utils import timezone

from tests.conftest import stored_files
from tests.factories import image_bytes, make_video
from tests.fake_upstream import sample_assets
from tests.fakes.jobs import assert_one_set_of_assets, rendered
from tests.fakes.vertex import AUDIENCE, SCOPE, FakeVertex
from tests.live import free_port
from videos_app import services
from videos_app.jobs import remote
from videos_app.models import ModelRoute, Provider, Video
from videos_app.providers import catalog, registry, vertex_veo
from videos_app.providers.base import ProviderError, RemoteEngine, RemoteGone, RemoteRequest
from videos_app.providers.probe import provider_check
from videos_app.providers.vertex_veo import (
    FAST,
    STANDARD,
    VertexVeoEngine,
    operation_status,
)

pytestmark = pytest.mark.django_db

KEY_ENV = "STUDIO_TEST_VERTEX_KEY"


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    """The test service account's key pair: the fake knows only its public half."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Vertex gives no poll advice: the runner's own pace, made fast for a 0.3 s job.
    monkeypatch.setattr(remote, "FIRST_POLL_DELAY", 0.02)
    monkeypatch.setattr(remote, "POLL_FIRST", 0.05)
    monkeypatch.setattr(remote, "RECONCILE_TRIES", (0.0,))
    vertex_veo.forget_tokens()
    yield
    vertex_veo.forget_tokens()


@pytest.fixture
def vertex(rsa_key: rsa.RSAPrivateKey) -> Iterator[FakeVertex]:
    with FakeVertex(public_key=rsa_key.public_key(), render_seconds=0.3) as fake:
        yield fake


@pytest.fixture
def key_json(vertex: FakeVertex, rsa_key: rsa.RSAPrivateKey) -> str:
    return json.dumps(vertex.service_account(private_pem(rsa_key)))


@pytest.fixture
def key_file(tmp_path: Path, key_json: str) -> Path:
    path = tmp_path / "keys" / "veo-runner.json"
    path.parent.mkdir()
    path.write_text(key_json)
    return path


@pytest.fixture
def veo(vertex: FakeVertex, key_file: Path) -> Provider:
    provider = Provider.objects.create(
        name="veo", kind="vertex_veo", base_url=vertex.base_url, api_key_file=str(key_file),
        timeout_seconds=5, connect_timeout_seconds=1,
    )  # fmt: skip
    ModelRoute.objects.create(name="veo-3.1", provider=provider, upstream_model=STANDARD)
    ModelRoute.objects.create(name="veo-3.1-fast", provider=provider, upstream_model=FAST)
    return provider


def veo_video(**kwargs: Any) -> Video:
    kwargs.setdefault("provider", "veo")
    kwargs.setdefault("model", "veo-3.1")
    kwargs.setdefault("provider_model", STANDARD)
    kwargs.setdefault("prompt", "a red kite over green hills")
    kwargs.setdefault("size", "1280x720")
    kwargs.setdefault("seconds", 8)
    return make_video(**kwargs)


def engine_for(vertex: FakeVertex, key_json: str, **kwargs: Any) -> VertexVeoEngine:
    kwargs.setdefault("credentials", lambda: key_json)
    kwargs.setdefault("base_url", vertex.base_url)
    return VertexVeoEngine(name="veo", **kwargs)


def request(**kwargs: Any) -> RemoteRequest:
    kwargs.setdefault("video_id", "vid")
    kwargs.setdefault("operation", "create")
    kwargs.setdefault("prompt", "a lighthouse at dusk")
    kwargs.setdefault("model", STANDARD)
    kwargs.setdefault("size", "1280x720")
    kwargs.setdefault("seconds", 8)
    return RemoteRequest(**kwargs)


def finished_job(vertex: FakeVertex, model: str = STANDARD) -> str:
    """A finished operation's job id, as the engine keeps it."""
    return vertex.new(model, {}, done=True).name.removeprefix(vertex.resource + "/")


def assert_no_secret(text: str, rsa_key: rsa.RSAPrivateKey, vertex: FakeVertex) -> None:
    pem = private_pem(rsa_key)
    body = "".join(pem.splitlines()[1:-1])
    assert "PRIVATE KEY" not in text and body[:40] not in text and body[-40:] not in text
    assert all(token not in text for token in vertex.tokens)


class TestCreate:
    def test_text_to_video_completes_with_one_create_and_one_set_of_assets(
        self, veo: Provider, vertex: FakeVertex, media_root: Path
    ) -> None:
        video = rendered(veo_video())
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert video.progress == 100 and video.attempts == 1
        assert video.provider_job_id.startswith(f"{STANDARD}/operations/")
        assert f"{vertex.resource}/{video.provider_job_id}" in vertex.operations
        assert vertex.calls["create"] == 1 and len(vertex.operations) == 1
        assert vertex.creates() == [{
            "instances": [{"prompt": "a red kite over green hills"}],
            "parameters": {"aspectRatio": "16:9", "resolution": "720p", "durationSeconds": 8,
                           "sampleCount": 1, "generateAudio": True, "seed": video.seed},
        }]  # fmt: skip
        # Polls and the fetch's own read name the whole operation; the video came inline.
        reads = [body for endpoint, body in vertex.bodies if endpoint == "fetch"]
        assert len(reads) >= 2
        assert {r["operationName"] for r in reads} == {f"{vertex.resource}/{video.provider_job_id}"}
        assert vertex.calls["download"] == 0
        # One token exchange, and every call to Vertex carried it.
        assert vertex.calls["token"] == 1
        (token,) = vertex.tokens
        assert {auth for e, auth in vertex.auth_seen if e != "token"} == {f"Bearer {token}"}
        assert_one_set_of_assets(video, media_root)

    def test_image_to_video_sends_the_first_and_last_frames_inline(
        self, veo: Provider, vertex: FakeVertex
    ) -> None:
        video = veo_video(size="720x1280", seconds=4)
        first, last = image_bytes(720, 1280), image_bytes(720, 1280, "JPEG", (10, 20, 30))
        video.reference_image.save("reference.png", ContentFile(first), save=False)
        video.last_frame.save("last.jpg", ContentFile(last), save=True)
        assert rendered(video).status == Video.Status.COMPLETED, video.error_message
        ((instance,), parameters) = (vertex.creates()[0][k] for k in ("instances", "parameters"))
        assert instance["image"] == {
            "bytesBase64Encoded": base64.b64encode(first).decode(), "mimeType": "image/png"
        }  # fmt: skip
        assert instance["lastFrame"] == {
            "bytesBase64Encoded": base64.b64encode(last).decode(), "mimeType": "image/jpeg"
        }  # fmt: skip
        assert (parameters["aspectRatio"], parameters["durationSeconds"]) == ("9:16", 4)

    def test_reference_images_are_asset_references(
        self, vertex: FakeVertex, key_json: str, tmp_path: Path
    ) -> None:
        images = []
        for i in range(3):
            images.append(tmp_path / f"ref{i}.webp")
            images[-1].write_bytes(image_bytes(64, 64, "WEBP", (i * 90, 10, 10)))
        engine = engine_for(vertex, key_json)
        engine.submit(request(reference_images=tuple(images), size="3840x2160"))
        ((instance,), parameters) = (vertex.creates()[0][k] for k in ("instances", "parameters"))
        assert [r["referenceType"] for r in instance["referenceImages"]] == ["asset"] * 3
        assert instance["referenceImages"][0]["image"]["mimeType"] == "image/webp"
        assert "image" not in instance and parameters["resolution"] == "4k"

    def test_negative_prompt_seed_sound_and_person_generation_are_parameters(
        self, vertex: FakeVertex, key_json: str
    ) -> None:
        engine = engine_for(vertex, key_json, options={"person_generation": "allow_adult"})
        engine.submit(request(negative_prompt="blur, text", seed=42, audio=False,
                              model=FAST, size="1920x1080", seconds=6))  # fmt: skip
        assert vertex.creates()[0]["parameters"] == {
            "aspectRatio": "16:9", "resolution": "1080p", "durationSeconds": 6, "sampleCount": 1,
            "generateAudio": False, "negativePrompt": "blur, text", "seed": 42,
            "personGeneration": "allow_adult",
        }  # fmt: skip

    def test_a_429_waits_then_the_create_goes_through_once(
        self, veo: Provider, vertex: FakeVertex
    ) -> None:
        vertex.faults.rate_limit = {"create": {1}}
        video = rendered(veo_video())
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert vertex.calls["create"] == 2 and len(vertex.operations) == 1

    def test_a_503_on_a_poll_is_retried(self, veo: Provider, vertex: FakeVertex) -> None:
        vertex.faults.unavailable = {"fetch": {1}}
        video = rendered(veo_video())
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert vertex.calls["create"] == 1

    @pytest.mark.parametrize(("fault", "made"), [("drop", 1), ("500", 1), ("lost", 0)])
    def test_a_create_without_an_answer_is_never_sent_again(
        self, veo: Provider, vertex: FakeVertex, fault: str, made: int
    ) -> None:
        vertex.faults.create_fault = fault
        video = rendered(veo_video())
        # Vertex lists no operations: the job fails for someone to check, nothing is resent.
        assert (video.status, video.error_code) == (Video.Status.FAILED, "upstream_outcome_unknown")
        assert vertex.calls["create"] == 1 and len(vertex.operations) == made
        assert video.create_sent_at is not None and video.provider_job_id == ""

    def test_a_restart_after_an_unanswered_create_fails_without_sending(
        self, veo: Provider, vertex: FakeVertex
    ) -> None:
        video = rendered(veo_video(create_sent_at=timezone.now()))
        assert (video.status, video.error_code) == (Video.Status.FAILED, "upstream_outcome_unknown")
        assert vertex.calls["create"] == 0


class TestCredentials:
    def test_the_token_is_exchanged_once_for_many_jobs_with_a_signed_jwt(
        self, veo: Provider, vertex: FakeVertex
    ) -> None:
        for _ in range(2):
            assert rendered(veo_video()).status == Video.Status.COMPLETED
        assert vertex.calls["token"] == 1
        (claims,) = vertex.assertions  # the fake verified its RS256 signature
        assert claims["iss"] == vertex.client_email and claims["aud"] == AUDIENCE
        assert SCOPE in claims["scope"].split()

    def test_a_token_near_its_expiry_is_exchanged_again(
        self, vertex: FakeVertex, key_json: str
    ) -> None:
        vertex.faults.token_lifetime = 120  # under the five minutes kept in hand
        engine = engine_for(vertex, key_json)
        job = finished_job(vertex)
        engine.status(job)
        engine.status(job)
        assert vertex.calls["token"] == 2
        vertex.faults.token_lifetime = 3600
        engine.status(job)
        engine.status(job)
        assert vertex.calls["token"] == 3

    def test_a_token_vertex_refuses_is_dropped_and_the_next_call_gets_a_new_one(
        self, vertex: FakeVertex, key_json: str, rsa_key: rsa.RSAPrivateKey
    ) -> None:
        engine = engine_for(vertex, key_json)
        job = finished_job(vertex)
        assert engine.status(job).status == "completed"
        vertex.tokens.clear()  # revoked at Google
        with pytest.raises(ProviderError) as refused:
            engine.status(job)
        assert refused.value.code == "UNAUTHENTICATED"
        assert "did not accept the studio's service account key" in refused.value.message
        assert_no_secret(refused.value.message, rsa_key, vertex)
        assert engine.status(job).status == "completed"
        assert vertex.calls["token"] == 2

    def test_a_refused_token_exchange_fails_the_job_for_an_operator_without_the_key(
        self, veo: Provider, vertex: FakeVertex, rsa_key: rsa.RSAPrivateKey
    ) -> None:
        vertex.faults.token_refused = True
        video = rendered(veo_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "invalid_grant")
        assert video.error_message.startswith(
            "The provider veo did not accept the studio's service account key for it (an "
            "operator must fix it): Google's token endpoint answered invalid_grant: Invalid "
            "JWT Signature."
        )
        assert "Traceback" not in video.error_message
        assert_no_secret(video.error_message, rsa_key, vertex)
        assert vertex.calls["create"] == 0  # nothing was sent: nothing to pay for

    def test_a_key_signed_by_another_service_account_key_is_refused(
        self, vertex: FakeVertex, tmp_path: Path
    ) -> None:
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        stranger = json.dumps(vertex.service_account(private_pem(other)))
        with pytest.raises(ProviderError) as refused:
            engine_for(vertex, stranger).status(finished_job(vertex))
        assert refused.value.code == "invalid_grant"
        assert "Invalid JWT Signature" in refused.value.message
        assert vertex.calls["fetch"] == 0 and vertex.assertions == []

    def test_the_variable_may_hold_the_json_or_the_key_files_path(
        self, veo: Provider, vertex: FakeVertex, key_json: str, key_file: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:  # fmt: skip
        Provider.objects.filter(pk=veo.pk).update(api_key_file="", api_key_env=KEY_ENV)
        for value in (key_json, str(key_file)):
            vertex_veo.forget_tokens()
            monkeypatch.setenv(KEY_ENV, value)
            engine = catalog.get_provider("veo")
            assert isinstance(engine, VertexVeoEngine)
            assert engine.status(finished_job(vertex)).status == "completed"
        assert vertex.calls["token"] == 2

    @pytest.mark.parametrize(
        ("credentials", "words"),
        [
            ("AIzaSy-an-api-key-not-a-service-account", "not a service account's JSON key"),
            (json.dumps({"type": "service_account", "client_email": "a@b"}),
             "has no private_key, token_uri"),
            (json.dumps({"type": "service_account", "client_email": "a@b", "token_uri": "x",
                         "private_key": "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n"}),
             "private key in the service account key of veo cannot be read"),
        ],
    )  # fmt: skip
    def test_a_key_that_is_not_a_service_accounts_is_refused_without_its_words(
        self, vertex: FakeVertex, credentials: str, words: str
    ) -> None:
        with pytest.raises(ProviderError) as refused:
            engine_for(vertex, credentials).status(finished_job(vertex))
        assert refused.value.code == "provider_misconfigured"
        assert words in refused.value.message
        assert "AIzaSy" not in refused.value.message and "bm90IGEga2V5" not in refused.value.message
        assert vertex.calls["token"] == vertex.calls["fetch"] == 0

    def test_an_unreachable_token_endpoint_is_unavailable(
        self, vertex: FakeVertex, rsa_key: rsa.RSAPrivateKey
    ) -> None:
        closed = f"http://127.0.0.1:{free_port()}/token"
        info = json.dumps(vertex.service_account(private_pem(rsa_key), token_uri=closed))
        with pytest.raises(ProviderError) as failed:
            engine_for(vertex, info).status(finished_job(vertex))
        assert failed.value.code == "upstream_unavailable"
        assert "token endpoint for veo cannot be reached" in failed.value.message

    def test_neither_key_nor_token_is_in_a_repr(
        self, vertex: FakeVertex, key_json: str, rsa_key: rsa.RSAPrivateKey
    ) -> None:
        engine = engine_for(vertex, key_json)
        engine.status(finished_job(vertex))
        for text in (repr(engine), repr(engine.tokens), repr(engine.http.headers)):
            assert_no_secret(text, rsa_key, vertex)

    def test_a_service_account_without_the_role_is_told_so(
        self, veo: Provider, vertex: FakeVertex
    ) -> None:
        vertex.faults.permission_denied = True
        video = rendered(veo_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "PERMISSION_DENIED")
        assert "must grant it the Vertex AI User role" in video.error_message
        assert "aiplatform.endpoints.predict" in video.error_message


class TestFailures:
    def test_a_failed_operation_keeps_googles_code_and_message(
        self, veo: Provider, vertex: FakeVertex
    ) -> None:
        vertex.faults.fail_job = (13, "Video generation failed due to an internal error.")
        video = rendered(veo_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "INTERNAL")
        assert video.error_message == "Video generation failed due to an internal error."

    def test_filtered_samples_are_moderation_blocked_with_googles_reasons(
        self, veo: Provider, vertex: FakeVertex, media_root: Path
    ) -> None:
        reason = (
            "Unable to generate videos because the prompt could violate Google's Responsible "
            "AI practices. Support codes: 29310472"
        )
        vertex.faults.filtered = [reason]
        video = rendered(veo_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "moderation_blocked")
        assert video.error_message == reason
        assert stored_files(media_root) == []

    def test_a_prompt_refused_as_unsafe_is_moderation_blocked(
        self, veo: Provider, vertex: FakeVertex
    ) -> None:
        said = (
            "The prompt could not be submitted. This prompt contains sensitive words that "
            "violate Google's Responsible AI practices. Try rephrasing the prompt."
        )
        vertex.faults.fail_job = (3, said)
        video = rendered(veo_video())
        assert (video.error_code, video.error_message) == ("moderation_blocked", said)

    def test_operation_statuses(self) -> None:
        assert operation_status("a", {"name": "x", "done": False}).status == "in_progress"
        assert operation_status("a", {"name": "x"}).status == "in_progress"
        cancelled = operation_status("a", {"done": True, "error": {"code": 1, "message": ""}})
        assert (cancelled.status, cancelled.error_code) == ("failed", "cancelled")
        assert cancelled.error_message == "The Veo operation failed."
        empty = operation_status("a", {"done": True, "response": {"videos": []}})
        assert (empty.status, empty.error_code) == ("failed", "upstream_no_video")
        counted = operation_status("a", {"done": True, "response": {"raiMediaFilteredCount": 1}})
        assert counted.error_code == "moderation_blocked" and "Responsible AI" in (
            counted.error_message
        )
        done = operation_status("a", {"done": True, "response": {"videos": [{"gcsUri": "gs://b"}]}})
        assert done.status == "completed" and done.progress == 100


class TestResults:
    def test_an_operation_gone_before_its_video_was_copied_fails_clearly(
        self, veo: Provider, vertex: FakeVertex, media_root: Path
    ) -> None:
        vertex.faults.expire_after = 0
        video = rendered(veo_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "upstream_assets_expired")
        assert stored_files(media_root) == []

    def test_a_linked_video_is_fetched_without_the_token(
        self, veo: Provider, vertex: FakeVertex, media_root: Path
    ) -> None:
        vertex.faults.links = True
        video = rendered(veo_video())
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert [auth for endpoint, auth in vertex.auth_seen if endpoint == "download"] == [""]
        assert_one_set_of_assets(video, media_root)

    def test_a_stale_link_is_replaced_by_a_fresh_read(
        self, veo: Provider, vertex: FakeVertex, media_root: Path
    ) -> None:
        vertex.faults.links = vertex.faults.stale_link_once = True
        video = rendered(veo_video())
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert vertex.calls["download"] == 2
        assert_one_set_of_assets(video, media_root)

    def test_a_link_that_stays_gone_fails_as_expired(
        self, veo: Provider, vertex: FakeVertex, media_root: Path
    ) -> None:
        vertex.faults.links = vertex.faults.links_gone = True
        video = rendered(veo_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "upstream_assets_expired")
        assert vertex.calls["download"] == 1  # the fresh read gave the same (gone) link
        assert stored_files(media_root) == []

    def test_a_video_in_cloud_storage_fails_clearly(
        self, veo: Provider, vertex: FakeVertex
    ) -> None:
        vertex.faults.gs_uri = True
        video = rendered(veo_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "upstream_invalid_asset")
        assert "gs://veo-out/" in video.error_message and "cannot read" in video.error_message

    def test_delete_has_nothing_to_delete(self, vertex: FakeVertex, key_json: str) -> None:
        assert engine_for(vertex, key_json).delete(finished_job(vertex)) is True
        assert vertex.calls == {}

    def test_an_unknown_operation_is_gone(self, vertex: FakeVertex, key_json: str) -> None:
        with pytest.raises(RemoteGone):
            engine_for(vertex, key_json).status(f"{STANDARD}/operations/nope")


class TestExtend:
    def source(self, vertex: FakeVertex, **kwargs: Any) -> Video:
        source = veo_video(status=Video.Status.COMPLETED, provider_job_id=finished_job(vertex),
                           **kwargs)  # fmt: skip
        source.video_file.save("video.mp4", ContentFile(sample_assets()["video"]), save=True)
        return source

    def test_a_veo_made_video_is_extended_natively_by_seven_seconds(
        self, veo: Provider, vertex: FakeVertex, media_root: Path
    ) -> None:
        source = self.source(vertex)
        video = veo_video(operation=Video.Operation.EXTEND, source=source, seconds=15,
                          segment_seconds=7, prompt="the kite flies on")  # fmt: skip
        assert rendered(video).status == Video.Status.COMPLETED, video.error_message
        ((instance,), parameters) = (vertex.creates()[0][k] for k in ("instances", "parameters"))
        assert instance == {
            "prompt": "the kite flies on",
            "video": {"bytesBase64Encoded": base64.b64encode(sample_assets()["video"]).decode(),
                      "mimeType": "video/mp4"},
        }  # fmt: skip
        assert (parameters["durationSeconds"], parameters["resolution"]) == (7, "720p")
        # Google's video is the whole extended video: stored as it came, not stitched.
        assert_one_set_of_assets(video, media_root)

    def test_a_video_made_elsewhere_is_refused_before_sending(
        self, veo: Provider, vertex: FakeVertex
    ) -> None:
        source = make_video(provider="local", status=Video.Status.COMPLETED, seconds=8)
        source.video_file.save("video.mp4", ContentFile(sample_assets()["video"]), save=True)
        video = rendered(veo_video(operation=Video.Operation.EXTEND, source=source, seconds=15,
                                   segment_seconds=7))  # fmt: skip
        assert (video.status, video.error_code) == (Video.Status.FAILED, "unsupported_source")
        assert "Only videos Veo made on veo extend natively" in video.error_message
        assert vertex.calls == {}

    @pytest.mark.parametrize(
        ("fields", "code", "words"),
        [
            ({"segment_seconds": 8}, "unsupported_seconds", "extends by 7 seconds a step"),
            ({"size": "1920x1080"}, "unsupported_size", "extends only 720p videos"),
            ({"source_file": Path("/nonexistent.mp4")}, "source_missing", "no longer exists"),
        ],
    )
    def test_what_veo_cannot_extend_is_refused(
        self, vertex: FakeVertex, key_json: str, tmp_path: Path,
        fields: dict[str, Any], code: str, words: str,
    ) -> None:  # fmt: skip
        stored = tmp_path / "source.mp4"
        stored.write_bytes(sample_assets()["video"])
        asked = {"operation": "extend", "source_id": "x/operations/y", "source_file": stored,
                 "seconds": 15, "segment_seconds": 7, **fields}  # fmt: skip
        with pytest.raises(ProviderError) as refused:
            engine_for(vertex, key_json).check(request(**asked))
        assert refused.value.code == code and words in refused.value.message


class TestChecks:
    @pytest.mark.parametrize(
        ("fields", "code", "words"),
        [
            ({"size": "1792x1024"}, "unsupported_size", "1280x720, 720x1280"),
            ({"model": FAST, "size": "3840x2160"}, "unsupported_size", f"model {FAST} makes"),
            ({"seconds": 5}, "unsupported_seconds", "makes 4, 6, 8 seconds; not 5"),
            ({"operation": "edit"}, "unsupported_operation", "Gemini Omni"),
            ({"operation": "remix"}, "unsupported_operation", "Runway (aleph2) can"),
            ({"with_characters": True}, "characters_unsupported", "local renderer"),
            ({"seed": 2**32}, "unsupported_seed", "from 0 to 4294967295"),
            ({"last_frame": Path("/nonexistent.png")}, "unsupported_inputs", "first frame"),
        ],
    )
    def test_what_the_model_cannot_make_is_refused_before_sending(
        self, vertex: FakeVertex, key_json: str, fields: dict[str, Any], code: str, words: str
    ) -> None:
        with pytest.raises(ProviderError) as refused:
            engine_for(vertex, key_json).check(request(**fields))
        assert refused.value.code == code and words in refused.value.message
        assert vertex.calls == {}

    def test_reference_images_are_limited_as_google_documents(
        self, vertex: FakeVertex, key_json: str, tmp_path: Path
    ) -> None:
        image = tmp_path / "ref.png"
        image.write_bytes(image_bytes(16, 16))
        engine = engine_for(vertex, key_json)
        with pytest.raises(ProviderError, match=f"up to 0 reference images; {STANDARD} takes 1"):
            engine.check(request(model=FAST, reference_images=(image,)))
        with pytest.raises(ProviderError, match="up to 3 reference images"):
            engine.check(request(reference_images=(image,) * 4))
        with pytest.raises(ProviderError, match="not both"):
            engine.check(request(reference_images=(image,), reference_image=image))
        with pytest.raises(ProviderError, match="only at 16:9 and 8 seconds"):
            engine.check(request(reference_images=(image,), seconds=4))
        engine.check(request(reference_images=(image,) * 3))

    def test_a_base_url_that_is_not_a_models_collection_is_refused(
        self, vertex: FakeVertex, key_json: str
    ) -> None:
        engine = engine_for(
            vertex, key_json, base_url="https://us-central1-aiplatform.googleapis.com/v1"
        )
        with pytest.raises(ProviderError) as refused:
            engine.check(request())
        assert refused.value.code == "provider_misconfigured"
        assert "/publishers/google/models" in refused.value.message

    def test_capabilities_are_seeded_per_model_with_a_default_for_new_ones(self) -> None:
        standard = registry.capabilities("vertex_veo", STANDARD)
        assert standard.seconds == (4, 6, 8) and standard.extend_seconds == (7,)
        assert "3840x2160" in standard.sizes and "1792x1024" not in standard.sizes
        assert (standard.first_frame, standard.last_frame, standard.reference_images) == (
            True, True, 3,
        )  # fmt: skip
        assert (standard.audio, standard.seed, standard.negative_prompt) == (True, True, True)
        assert (standard.extend, standard.edit, standard.remix) == (True, False, False)
        fast = registry.capabilities("vertex_veo", FAST)
        assert set(fast.sizes) == {"1280x720", "720x1280", "1920x1080", "1080x1920"}
        assert fast.reference_images == 0 and fast.extend
        assert VertexVeoEngine.capabilities_for("veo-4.0-generate-001") == fast

    def test_a_route_offers_the_models_sizes_and_durations(self, veo: Provider) -> None:
        route = catalog.route("veo-3.1")
        assert set(route.sizes) == set(VertexVeoEngine.capabilities_for(STANDARD).sizes)
        assert route.seconds == (4, 6, 8)

    def test_the_row_builds_the_engine(self, veo: Provider) -> None:
        engine = catalog.get_provider("veo")
        assert isinstance(engine, VertexVeoEngine) and isinstance(engine, RemoteEngine)
        assert engine.base_url == veo.base_url and engine.native_extend is True
        assert engine.remote_variants == ("video",)
        assert engine.find_lost(request(), since=time.time()) == []
        # Vertex cannot cancel a prediction, nor sign a webhook.
        assert not hasattr(engine, "cancel") and not hasattr(engine, "webhook")

    def test_job_ids_are_short_and_name_the_model(self, vertex: FakeVertex, key_json: str
                                                  ) -> None:  # fmt: skip
        engine = engine_for(vertex, key_json)
        ours = f"{vertex.resource}/{FAST}/operations/0b8e"
        assert engine._job_id(ours) == f"{FAST}/operations/0b8e"
        assert engine._operation_name(f"{FAST}/operations/0b8e") == ours
        numbered = (
            f"projects/123/locations/us-central1/publishers/google/models/{FAST}/operations/1"
        )
        assert engine._job_id(numbered) == numbered
        assert engine._operation_name(numbered) == numbered
        long = numbered.replace("123", "9" * 40)
        assert engine._job_id(long) == f"{FAST}/operations/1"


class TestCancel:
    def test_a_cancel_while_it_polls_stops_the_polls_and_fetches_nothing(
        self, veo: Provider, vertex: FakeVertex, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        vertex.render_seconds = 5.0
        polls: list[str] = []
        status = VertexVeoEngine.status

        def cancel_on_second_poll(self: VertexVeoEngine, job_id: str) -> Any:
            polls.append(job_id)
            if len(polls) == 2:
                video = Video.objects.get(provider_job_id=job_id)
                assert services.video_cancel(video=video, actor=video.owner)
            return status(self, job_id)

        monkeypatch.setattr(VertexVeoEngine, "status", cancel_on_second_poll)
        video = rendered(veo_video())
        assert (video.status, video.error_code) == (Video.Status.FAILED, "cancelled")
        # No cancel at Vertex: the operation is abandoned, its result never fetched.
        assert len(polls) == 2 and vertex.calls["fetch"] == 2
        assert set(vertex.calls) == {"token", "create", "fetch"}

    def test_the_housekeeping_cancel_has_nothing_to_call(
        self, veo: Provider, vertex: FakeVertex
    ) -> None:
        video = veo_video(provider_job_id=finished_job(vertex), status=Video.Status.IN_PROGRESS)
        assert remote.remote_job_cancel(video_id=video.pk) is False
        assert vertex.calls == {}


class TestProbe:
    def test_probe_exchanges_a_token_and_reads_a_made_up_operation(
        self, vertex: FakeVertex, key_json: str
    ) -> None:
        seen = engine_for(vertex, key_json).probe()
        assert seen == (
            f"{vertex.client_email} got a token; Vertex AI (project studio-test, us-central1) "
            f"accepted it: {STANDARD} answered NOT_FOUND for a made-up operation"
        )
        assert vertex.calls["token"] == 1 and vertex.calls["fetch"] == 1

    def test_probe_says_when_the_key_is_refused(self, vertex: FakeVertex, key_json: str) -> None:
        vertex.faults.token_refused = True
        with pytest.raises(ProviderError) as refused:
            engine_for(vertex, key_json).probe()
        assert refused.value.code == "invalid_grant"
        assert "did not accept the studio's service account key" in refused.value.message

    def test_probe_says_when_the_service_account_may_not_use_veo(
        self, vertex: FakeVertex, key_json: str
    ) -> None:
        vertex.faults.permission_denied = True
        with pytest.raises(ProviderError, match="Vertex AI User role"):
            engine_for(vertex, key_json).probe()

    def test_providers_check_reports_the_probe(self, veo: Provider, vertex: FakeVertex) -> None:
        result = provider_check(veo)
        assert result.ok and vertex.client_email in result.message
        vertex.faults.token_refused = True
        vertex_veo.forget_tokens()
        refused = provider_check(veo)
        assert not refused.ok and refused.message.startswith("invalid_grant: ")
