"""The openai_compatible provider and its job pipeline, against a fake upstream on loopback
that counts calls and injects faults (tests/fake_upstream.py)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from tests.conftest import stored_files
from tests.factories import image_bytes, make_user, make_video, mp4_bytes
from tests.fake_upstream import FakeUpstream
from videos_app import services
from videos_app.jobs import remote, wake
from videos_app.models import Character, Provider, Video
from videos_app.providers import openai_compatible
from videos_app.providers.base import OutcomeUnknown
from videos_app.providers.catalog import get_provider
from videos_app.providers.http import Backoff, retry_after_seconds
from videos_app.providers.openai_compatible import OpenAICompatibleProvider, UpstreamHTTPError
from videos_app.tasks import render_video

pytestmark = pytest.mark.django_db

KEY = "sk-upstream-secret-0123456789abcdef"
KEY_ENV = "STUDIO_TEST_UPSTREAM_KEY"


@pytest.fixture(autouse=True)
def quick_first_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote, "FIRST_POLL_DELAY", 0.05)


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    up = FakeUpstream(api_key=KEY, render_seconds=0.3)
    up.faults.poll_after_ms = 100  # quick polls unless a test says otherwise
    up.start()
    yield up
    up.stop()


@pytest.fixture
def gateway(
    upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Path
) -> Provider:
    monkeypatch.setenv(KEY_ENV, KEY)
    settings.DATA_DIR = tmp_path
    return Provider.objects.create(
        name="gateway",
        kind="openai_compatible",
        base_url=upstream.base_url,
        api_key_env=KEY_ENV,
        timeout_seconds=5,
        connect_timeout_seconds=1,
        max_concurrency=4,
    )


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    monkeypatch.setattr(services, "video_enqueue", lambda *, video_id: calls.append(video_id))
    return calls


def upstream_video(**kwargs: Any) -> Video:
    kwargs.setdefault("provider", "gateway")
    kwargs.setdefault("provider_model", "up-model-1")
    kwargs.setdefault("prompt", "a red kite over green hills")
    kwargs.setdefault("size", "1280x720")
    kwargs.setdefault("seconds", 8)
    return make_video(**kwargs)


def assert_one_set_of_assets(video: Video, media_root: Path) -> None:
    made = [f for f in stored_files(media_root) if not f.endswith(("reference.png", "c.mp4"))]
    assert [f for f in made if f.startswith(f"videos/{video.pk}/")] == made
    assert made == [
        f"videos/{video.pk}/spritesheet.jpg",
        f"videos/{video.pk}/thumbnail.webp",
        f"videos/{video.pk}/video.mp4",
    ]
    with av.open(video.video_file.path) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio[0].codec_context.name == "aac"
    assert Image.open(video.thumbnail_file.path).format == "WEBP"
    assert Image.open(video.spritesheet_file.path).format == "JPEG"


def finished_upstream_job(up: FakeUpstream, **fields: str) -> str:
    job = up.new_job({"prompt": "source", "model": "up-model-1", "size": "1280x720",
                      "seconds": "8", **fields})  # fmt: skip
    job.started -= 60  # long done
    return job.id


class TestOperations:
    def test_create_runs_upstream_and_stores_the_three_assets(
        self, gateway: Provider, upstream: FakeUpstream, media_root: Path
    ) -> None:
        video = upstream_video()
        video.reference_image.save("reference.png", ContentFile(image_bytes(1280, 720)), save=True)
        render_video(video.pk)
        video.refresh_from_db()
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert video.progress == 100 and video.attempts == 1
        assert video.provider_job_id in upstream.jobs and video.create_sent_at is not None
        assert upstream.creates() == 1
        job = upstream.jobs[video.provider_job_id]
        # Multipart like the SDK: seconds as a string, the upstream model name, the image.
        endpoint, ctype, fields = upstream.requests[0]
        assert endpoint == "create" and ctype.startswith("multipart/form-data")
        assert fields == {"prompt": video.prompt, "model": "up-model-1", "size": "1280x720",
                          "seconds": "8"}  # fmt: skip
        assert job.reference == image_bytes(1280, 720)
        for variant in ("video", "thumbnail", "spritesheet"):
            assert upstream.calls[f"content:{variant}"] == 1
        assert_one_set_of_assets(video, media_root)
        assert video.file_size == Path(video.video_file.path).stat().st_size

    def test_remix_goes_by_the_upstream_id(
        self, gateway: Provider, upstream: FakeUpstream, media_root: Path
    ) -> None:
        source_id = finished_upstream_job(upstream)
        source = upstream_video(status=Video.Status.COMPLETED, provider_job_id=source_id)
        video = upstream_video(operation=Video.Operation.REMIX, source=source, prompt="now blue")
        render_video(video.pk)
        video.refresh_from_db()
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert upstream.calls["remix"] == 1 and upstream.calls["create"] == 0
        assert upstream.jobs[video.provider_job_id].remixed_from_video_id == source_id

    def test_edit_and_extend_by_upstream_id_send_bracket_keys(
        self, gateway: Provider, upstream: FakeUpstream
    ) -> None:
        source_id = finished_upstream_job(upstream)
        source = upstream_video(status=Video.Status.COMPLETED, provider_job_id=source_id)
        edit = upstream_video(operation=Video.Operation.EDIT, source=source, prompt="add rain")
        extend = upstream_video(
            operation=Video.Operation.EXTEND, source=source, prompt="fly on", seconds=12,
            segment_seconds=4,
        )  # fmt: skip
        render_video(edit.pk)
        render_video(extend.pk)
        for video in (edit, extend):
            video.refresh_from_db()
            assert video.status == Video.Status.COMPLETED, video.error_message
        sent = {e: f for e, _, f in upstream.requests if e in ("edits", "extensions")}
        assert sent["edits"]["video[id]"] == source_id
        assert sent["extensions"] == {"prompt": "fly on", "video[id]": source_id, "seconds": "4"}
        assert upstream.jobs[extend.provider_job_id].seconds == "12"

    def test_edit_of_a_video_made_elsewhere_uploads_the_mp4(
        self, gateway: Provider, upstream: FakeUpstream
    ) -> None:
        source = make_video(status=Video.Status.COMPLETED, provider="local")
        source.video_file.save("video.mp4", ContentFile(mp4_bytes()), save=True)
        edit = upstream_video(operation=Video.Operation.EDIT, source=source, prompt="add snow")
        render_video(edit.pk)
        edit.refresh_from_db()
        assert edit.status == Video.Status.COMPLETED, edit.error_message
        assert upstream.jobs[edit.provider_job_id].fields["source"] == "upload"

    def test_a_source_gone_upstream_is_sent_as_our_file_for_edit_and_extend(
        self, gateway: Provider, upstream: FakeUpstream
    ) -> None:
        source_id = finished_upstream_job(upstream)
        upstream.jobs[source_id].deleted = True  # expired or deleted on the upstream
        source = upstream_video(status=Video.Status.COMPLETED, provider_job_id=source_id)
        source.video_file.save("video.mp4", ContentFile(mp4_bytes()), save=True)
        edit = upstream_video(operation=Video.Operation.EDIT, source=source, prompt="add rain")
        extend = upstream_video(
            operation=Video.Operation.EXTEND, source=source, prompt="fly on", seconds=12,
            segment_seconds=4,
        )  # fmt: skip
        remix = upstream_video(operation=Video.Operation.REMIX, source=source, prompt="blue")
        for video in (edit, extend, remix):
            render_video(video.pk)
            video.refresh_from_db()
        for video in (edit, extend):
            assert video.status == Video.Status.COMPLETED, video.error_message
            assert upstream.jobs[video.provider_job_id].fields["source"] == "upload"
        assert upstream.calls["edits"] == 2 and upstream.calls["extensions"] == 2  # 404, file
        assert (remix.status, remix.error_code) == (Video.Status.FAILED, "source_gone_upstream")
        assert "is gone (expired or deleted)" in remix.error_message
        assert source_id not in remix.error_message  # an id the user never saw

    def test_retrieve_list_download_and_delete(
        self, gateway: Provider, upstream: FakeUpstream, tmp_path: Path
    ) -> None:
        provider = get_provider("gateway")
        assert isinstance(provider, OpenAICompatibleProvider)
        created = provider.create(prompt="p", model="m", size="720x1280", seconds=4)
        assert created.status == "queued"
        assert [v.id for v in provider.list_recent(since=0)] == [created.id]
        time.sleep(0.35)
        assert provider.retrieve(created.id).status == "completed"
        size = provider.download(created.id, "thumbnail", tmp_path / "t.webp")
        assert size == (tmp_path / "t.webp").stat().st_size > 0
        assert provider.delete(created.id) is True
        with pytest.raises(UpstreamHTTPError) as info:
            provider.retrieve(created.id)
        assert info.value.status == 404 and info.value.code == "video_not_found"

    @pytest.mark.usefixtures("sync_queue")
    def test_deleting_a_video_deletes_its_upstream_copy_and_a_local_one_calls_nothing(
        self, gateway: Provider, upstream: FakeUpstream, django_capture_on_commit_callbacks: Any
    ) -> None:
        job_id = finished_upstream_job(upstream)
        video = upstream_video(status=Video.Status.COMPLETED, provider_job_id=job_id)
        local = make_video(owner=video.owner, status=Video.Status.COMPLETED)
        with django_capture_on_commit_callbacks(execute=True):
            services.video_delete(video=video, actor=video.owner)
        assert upstream.calls["delete"] == 1 and upstream.jobs[job_id].deleted
        with django_capture_on_commit_callbacks(execute=True):
            services.video_delete(video=local, actor=local.owner)
        assert upstream.calls["delete"] == 1

    @pytest.mark.usefixtures("sync_queue")
    def test_an_upstream_that_refuses_the_delete_still_lets_the_video_go(
        self, gateway: Provider, upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch,
        django_capture_on_commit_callbacks: Any, caplog: pytest.LogCaptureFixture,
    ) -> None:  # fmt: skip
        video = upstream_video(status=Video.Status.COMPLETED, provider_job_id="video_elsewhere")
        monkeypatch.delenv(KEY_ENV)  # the delete fails at once: no key
        with django_capture_on_commit_callbacks(execute=True):
            services.video_delete(video=video, actor=video.owner)
        assert not Video.objects.filter(pk=video.pk).exists()
        assert "could not delete gateway's copy video_elsewhere" in caplog.text

    def test_an_oversized_download_is_cut_off_and_fails_the_job(
        self, gateway: Provider, upstream: FakeUpstream, media_root: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:  # fmt: skip
        monkeypatch.setitem(openai_compatible.MAX_ASSET_BYTES, "video", 1000)
        video = upstream_video()
        render_video(video.pk)
        video.refresh_from_db()
        assert (video.status, video.error_code) == (Video.Status.FAILED, "upstream_invalid_asset")
        assert "larger than" in video.error_message
        assert stored_files(media_root) == []

    def test_characters_are_refused_before_anything_is_sent(
        self, gateway: Provider, upstream: FakeUpstream
    ) -> None:
        video = upstream_video()
        character = Character.objects.create(owner=video.owner, name="Ada", clip="c.mp4")
        video.characters.add(character)
        render_video(video.pk)
        video.refresh_from_db()
        assert (video.status, video.error_code) == (Video.Status.FAILED, "characters_unsupported")
        assert upstream.creates() == 0 and video.create_sent_at is None

    def test_a_remix_of_a_video_made_elsewhere_is_refused(
        self, gateway: Provider, upstream: FakeUpstream
    ) -> None:
        source = make_video(status=Video.Status.COMPLETED, provider="local")
        video = upstream_video(operation=Video.Operation.REMIX, source=source)
        render_video(video.pk)
        video.refresh_from_db()
        assert (video.status, video.error_code) == (Video.Status.FAILED, "remix_unsupported")
        assert upstream.creates() == 0


class TestFaults:
    def test_a_429_on_create_waits_for_retry_after_and_creates_once(
        self, gateway: Provider, upstream: FakeUpstream
    ) -> None:
        upstream.faults.rate_limit = {"create": {1}}
        upstream.faults.retry_after = 1
        video = upstream_video()
        start = time.monotonic()
        render_video(video.pk)
        video.refresh_from_db()
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert time.monotonic() - start >= 1.0
        assert upstream.calls["create"] == 2 and len(upstream.jobs) == 1

    def test_a_429_on_retrieve_honours_retry_after_ms(
        self, gateway: Provider, upstream: FakeUpstream
    ) -> None:
        upstream.faults.rate_limit = {"retrieve": {1, 2}}
        upstream.faults.retry_after_ms = 300
        video = upstream_video()
        start = time.monotonic()
        render_video(video.pk)
        video.refresh_from_db()
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert time.monotonic() - start >= 0.6
        assert len(upstream.jobs) == 1

    @pytest.mark.parametrize("fault", ["500", "drop"])
    def test_a_create_whose_answer_is_lost_is_reconciled_not_resent(
        self, gateway: Provider, upstream: FakeUpstream, media_root: Path, fault: str
    ) -> None:
        upstream.faults.create_fault = fault
        video = upstream_video()
        render_video(video.pk)
        video.refresh_from_db()
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert upstream.calls["create"] == 1 and len(upstream.jobs) == 1
        assert upstream.calls["list"] >= 1
        assert video.provider_job_id == next(iter(upstream.jobs))
        assert_one_set_of_assets(video, media_root)

    def test_a_lost_create_with_nothing_upstream_fails_for_attention(
        self, gateway: Provider, upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(remote, "RECONCILE_TRIES", (0.0, 0.1))
        upstream.faults.create_fault = "500"
        video = upstream_video()
        # The upstream loses the job it made (e.g. it crashed before storing it).
        original = upstream.new_job

        def vanish(fields: dict[str, str], **extra: Any) -> Any:
            job = original(fields, **extra)
            job.deleted = True
            return job

        monkeypatch.setattr(upstream, "new_job", vanish)
        render_video(video.pk)
        video.refresh_from_db()
        assert video.status == Video.Status.FAILED
        assert video.error_code == "upstream_outcome_unknown"
        assert "check the provider before retrying" in video.error_message
        assert upstream.calls["create"] == 1

    def test_a_lost_create_never_adopts_another_clients_earlier_job(
        self, gateway: Provider, upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The same scene made on a shared upstream account seconds before ours: it is
        not ours, whatever its prompt says (adopting it would bill, and later delete,
        someone else's video)."""
        monkeypatch.setattr(remote, "RECONCILE_TRIES", (0.0, 0.1))
        theirs = upstream.new_job(
            {"prompt": "a red kite over green hills", "model": "up-model-1",
             "size": "1280x720", "seconds": "8"}
        )  # fmt: skip
        theirs.created_at -= 10
        upstream.faults.create_fault = "lost"  # ours never got there
        video = upstream_video()
        render_video(video.pk)
        video.refresh_from_db()
        assert (video.status, video.error_code) == (Video.Status.FAILED, "upstream_outcome_unknown")
        assert video.provider_job_id == "" and upstream.calls["create"] == 1

    def test_two_matching_jobs_after_a_lost_create_are_not_guessed_between(
        self, gateway: Provider, upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        upstream.faults.create_fault = "500"  # ours is made, and so is someone else's
        original = upstream.new_job

        def twice(fields: dict[str, str], **extra: Any) -> Any:
            original(dict(fields), **extra)
            return original(fields, **extra)

        monkeypatch.setattr(upstream, "new_job", twice)
        video = upstream_video()
        render_video(video.pk)
        video.refresh_from_db()
        assert (video.status, video.error_code) == (Video.Status.FAILED, "upstream_outcome_unknown")
        assert "2 upstream jobs match it" in video.error_message
        assert video.provider_job_id == ""

    def test_a_lost_create_is_found_on_an_upstream_whose_clock_runs_ahead_or_behind(
        self, gateway: Provider, upstream: FakeUpstream
    ) -> None:
        for skew in (-300.0, 300.0):
            upstream.clock_skew = skew
            upstream.faults.create_fault, upstream.faults.create_fault_times = "drop", 1
            video = upstream_video(prompt=f"a red kite, clock {skew:+.0f} s")
            render_video(video.pk)
            video.refresh_from_db()
            assert video.status == Video.Status.COMPLETED, (skew, video.error_message)
            assert upstream.jobs[video.provider_job_id].prompt == video.prompt

    def test_connection_refused_then_success_sends_one_create(
        self, monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Path
    ) -> None:
        settings.DATA_DIR = tmp_path
        monkeypatch.setenv(KEY_ENV, KEY)
        up = FakeUpstream(api_key=KEY, render_seconds=0.2)
        up.faults.poll_after_ms = 100
        Provider.objects.create(name="gateway", kind="openai_compatible", base_url=up.base_url,
                                api_key_env=KEY_ENV, connect_timeout_seconds=1)  # fmt: skip
        video = upstream_video()
        up.start(listen_after=1.5)  # refuses connections until then
        try:
            render_video(video.pk)
        finally:
            up.stop()
        video.refresh_from_db()
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert up.calls["create"] == 1 and len(up.jobs) == 1

    def test_an_upstream_failure_keeps_its_code_and_message(
        self, gateway: Provider, upstream: FakeUpstream
    ) -> None:
        upstream.faults.fail_job = ("moderation_blocked", "The prompt was blocked upstream.")
        video = upstream_video()
        render_video(video.pk)
        video.refresh_from_db()
        assert (video.status, video.error_code, video.error_message) == (
            Video.Status.FAILED, "moderation_blocked", "The prompt was blocked upstream.",
        )  # fmt: skip
        assert upstream.calls["content:video"] == 0

    def test_a_job_the_provider_never_took_costs_nothing_and_an_upstream_failure_keeps_its_cost(
        self, gateway: Provider, upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:  # fmt: skip
        monkeypatch.delenv(KEY_ENV)
        refused = upstream_video(cost_estimate=Decimal("0.8000"))
        with caplog.at_level(logging.WARNING):
            render_video(refused.pk)
        # The operator reads why in the worker's log, not only the user on the video.
        assert f"video {refused.pk} failed: provider_misconfigured: " in caplog.text
        refused.refresh_from_db()
        assert (refused.status, refused.error_code) == (
            Video.Status.FAILED,
            "provider_misconfigured",
        )
        assert refused.cost_estimate == 0  # a retry once the key is fixed is the only charge
        monkeypatch.setenv(KEY_ENV, KEY)
        upstream.faults.fail_job = ("moderation_blocked", "The prompt was blocked upstream.")
        failed_upstream = upstream_video(cost_estimate=Decimal("0.8000"))
        render_video(failed_upstream.pk)
        failed_upstream.refresh_from_db()
        assert failed_upstream.status == Video.Status.FAILED
        assert failed_upstream.cost_estimate == Decimal("0.8000")  # the provider ran it

    def test_assets_are_home_before_they_expire_upstream(
        self, gateway: Provider, upstream: FakeUpstream, media_root: Path
    ) -> None:
        upstream.faults.expire_after = 1.0
        video = upstream_video()
        render_video(video.pk)
        video.refresh_from_db()
        assert video.status == Video.Status.COMPLETED, video.error_message
        time.sleep(1.1)
        gone = httpx.get(
            f"{upstream.base_url}/videos/{video.provider_job_id}/content",
            headers={"Authorization": f"Bearer {KEY}"},
        )
        assert gone.status_code == 404
        assert_one_set_of_assets(video, media_root)  # our copies are still there

    def test_assets_already_expired_fail_the_job_clearly(
        self, gateway: Provider, upstream: FakeUpstream, media_root: Path
    ) -> None:
        upstream.faults.expire_after = 0
        video = upstream_video()
        render_video(video.pk)
        video.refresh_from_db()
        assert (video.status, video.error_code) == (Video.Status.FAILED, "upstream_assets_expired")
        assert stored_files(media_root) == []

    def test_a_wrong_key_fails_with_the_upstreams_code_and_never_shows_the_key(
        self, gateway: Provider, upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:  # fmt: skip
        wrong = "sk-wrong-key-should-not-leak-42"
        monkeypatch.setenv(KEY_ENV, wrong)
        video = upstream_video()
        with caplog.at_level(logging.DEBUG):
            render_video(video.pk)
        video.refresh_from_db()
        assert (video.status, video.error_code) == (Video.Status.FAILED, "invalid_api_key")
        assert wrong not in caplog.text and wrong not in video.error_message
        # The fake echoes the key in its message; the studio keeps the message, not the key.
        # It says the key is the studio's for this provider, not the user's own.
        assert video.error_message == (
            f"The provider {gateway.name} did not accept the studio's API key for it "
            "(an operator must fix it): Incorrect API key provided: [redacted]."
        )
        assert upstream.auth_seen == [f"Bearer {wrong}"]


class TestNeverTwice:
    def test_a_restart_with_a_saved_id_polls_without_creating(
        self, gateway: Provider, upstream: FakeUpstream, media_root: Path
    ) -> None:
        job_id = finished_upstream_job(upstream, prompt="a red kite over green hills")
        video = upstream_video(
            status=Video.Status.IN_PROGRESS, attempts=1, provider_job_id=job_id,
            create_sent_at=timezone.now(), heartbeat_at=timezone.now() - timedelta(hours=1),
        )  # fmt: skip
        render_video(video.pk)
        video.refresh_from_db()
        assert (video.status, video.attempts) == (Video.Status.COMPLETED, 2)
        assert upstream.creates() == 0 and upstream.calls["retrieve"] >= 1
        assert_one_set_of_assets(video, media_root)

    def test_a_restart_after_an_unanswered_create_adopts_the_upstream_job(
        self, gateway: Provider, upstream: FakeUpstream
    ) -> None:
        sent = timezone.now()
        other = upstream.new_job(
            {
                "prompt": "a red kite over green hills",
                "model": "up-model-1",
                "size": "1280x720",
                "seconds": "8",
            }
        )
        mine = upstream.new_job(
            {
                "prompt": "a red kite over green hills",
                "model": "up-model-1",
                "size": "1280x720",
                "seconds": "8",
            }
        )
        upstream.new_job({"prompt": "something else", "model": "up-model-1",
                          "size": "1280x720", "seconds": "8"})  # fmt: skip
        # ``other`` belongs to another row already (the same prompt sent twice on purpose).
        upstream_video(status=Video.Status.COMPLETED, provider_job_id=other.id)
        video = upstream_video(
            status=Video.Status.IN_PROGRESS, attempts=1, create_sent_at=sent,
            heartbeat_at=timezone.now() - timedelta(hours=1),
        )  # fmt: skip
        render_video(video.pk)
        video.refresh_from_db()
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert video.provider_job_id == mine.id
        assert upstream.creates() == 0

    def test_a_restart_after_an_unanswered_create_with_no_match_fails_without_sending(
        self, gateway: Provider, upstream: FakeUpstream
    ) -> None:
        video = upstream_video(
            status=Video.Status.IN_PROGRESS, attempts=1, create_sent_at=timezone.now(),
            heartbeat_at=timezone.now() - timedelta(hours=1), cost_estimate=Decimal("0.8000"),
        )  # fmt: skip
        render_video(video.pk)
        video.refresh_from_db()
        assert (video.status, video.error_code) == (
            Video.Status.FAILED, "upstream_outcome_unknown",
        )  # fmt: skip
        assert video.cost_estimate == Decimal("0.8000")  # it may have run: still counted
        assert upstream.creates() == 0

    def test_running_the_task_again_after_completion_changes_nothing(
        self, gateway: Provider, upstream: FakeUpstream, media_root: Path
    ) -> None:
        video = upstream_video()
        render_video(video.pk)
        before = {p: (media_root / p).stat().st_mtime_ns for p in stored_files(media_root)}
        render_video(video.pk)
        assert {p: (media_root / p).stat().st_mtime_ns for p in stored_files(media_root)} == before
        assert upstream.creates() == 1


class TestScheduling:
    def test_a_job_over_the_providers_limit_stays_queued_without_spending_an_attempt(
        self, gateway: Provider, upstream: FakeUpstream, enqueued: list[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:  # fmt: skip
        monkeypatch.setattr(remote, "BUSY_RETRY_SECONDS", 0)
        Provider.objects.filter(pk=gateway.pk).update(max_concurrency=1)
        upstream_video(status=Video.Status.IN_PROGRESS, heartbeat_at=timezone.now())
        upstream_video(status=Video.Status.IN_PROGRESS,  # a dead one does not count
                       heartbeat_at=timezone.now() - timedelta(hours=1))  # fmt: skip
        waiting = upstream_video()
        render_video(waiting.pk)
        waiting.refresh_from_db()
        assert (waiting.status, waiting.attempts) == (Video.Status.QUEUED, 0)
        assert enqueued == [waiting.pk] and upstream.creates() == 0
        # Another provider's jobs do not count against it.
        Provider.objects.filter(pk=gateway.pk).update(max_concurrency=2)
        render_video(waiting.pk)
        waiting.refresh_from_db()
        assert waiting.status == Video.Status.COMPLETED, waiting.error_message

    def test_a_long_upstream_job_is_handed_over_before_the_task_timeout(
        self, gateway: Provider, upstream: FakeUpstream, enqueued: list[str], settings: Any
    ) -> None:
        upstream.render_seconds = 2.0
        settings.UPSTREAM_TASK_BUDGET = 0.5
        video = upstream_video()
        render_video(video.pk)
        video.refresh_from_db()
        assert video.status == Video.Status.QUEUED and video.provider_job_id
        assert enqueued == [video.pk]
        settings.UPSTREAM_TASK_BUDGET = 60
        render_video(video.pk)  # the queued task
        video.refresh_from_db()
        assert (video.status, video.attempts) == (Video.Status.COMPLETED, 2)
        assert upstream.creates() == 1

    def test_polling_backs_off_without_a_poll_after_header(
        self, gateway: Provider, upstream: FakeUpstream
    ) -> None:
        upstream.faults.poll_after_ms = None
        upstream.render_seconds = 36.0
        job = upstream.new_job({"prompt": "p", "size": "1280x720", "seconds": "8"})
        job.started -= 30  # 30 s old, done in 6 s
        video = upstream_video(
            provider_job_id=job.id, create_sent_at=timezone.now() - timedelta(seconds=30)
        )
        start = time.monotonic()
        render_video(video.pk)
        video.refresh_from_db()
        assert video.status == Video.Status.COMPLETED, video.error_message
        # A tenth of the job's age: polls at 0, 3 and 6.3 s, where 1 s polls make 7.
        assert upstream.calls["retrieve"] == 3
        assert time.monotonic() - start < 6 + 0.1 * 36 + 1

    def test_a_wake_polls_at_once(
        self, gateway: Provider, upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(remote, "FIRST_POLL_DELAY", 1.0)
        upstream.faults.poll_after_ms = 30_000
        upstream.render_seconds = 1.5
        video = upstream_video()
        # Polled once at 1 s (not done; "come back in 30 s"), woken at 2 s: polls at once.
        timer = threading.Timer(2.0, wake.wake, args=[video.pk])
        timer.start()
        start = time.monotonic()
        render_video(video.pk)
        timer.join()
        video.refresh_from_db()
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert time.monotonic() - start < 6
        assert upstream.calls["retrieve"] == 2


class TestClient:
    def test_the_key_is_read_per_call_and_in_no_repr(
        self, gateway: Provider, monkeypatch: pytest.MonkeyPatch, upstream: FakeUpstream
    ) -> None:
        provider = get_provider("gateway")
        assert KEY not in repr(provider) and KEY not in str(vars(provider))
        monkeypatch.setenv(KEY_ENV, "rotated")
        upstream.api_key = "rotated"
        assert provider.list_recent(since=0) == []  # type: ignore[union-attr]

    def test_a_key_file_is_read(
        self, gateway: Provider, upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:  # fmt: skip
        monkeypatch.delenv(KEY_ENV)
        key_file = tmp_path_factory.mktemp("keys") / "key"  # outside the data directory
        key_file.write_text(KEY + "\n")
        Provider.objects.filter(pk=gateway.pk).update(api_key_env="", api_key_file=str(key_file))
        provider = get_provider("gateway")
        assert provider.list_recent(since=0) == []  # type: ignore[union-attr]

    def test_a_base_url_without_v1_says_to_check_the_base_url(self) -> None:
        def site(request: httpx.Request) -> httpx.Response:  # a web site, not the API
            return httpx.Response(404, html="<h1>Not Found</h1>")

        provider = OpenAICompatibleProvider(
            name="site", base_url="http://upstream.test", api_key=lambda: KEY,
            client=httpx.Client(transport=httpx.MockTransport(site)),
        )  # fmt: skip
        with pytest.raises(UpstreamHTTPError) as info:
            provider.create(prompt="p", model="m", size="720x1280", seconds=4)
        assert info.value.status == 404 and info.value.code == "not_found"
        assert "check the provider's base URL (http://upstream.test)" in info.value.message
        assert "usually ends in /v1" in info.value.message

    def test_a_post_that_times_out_is_not_resent(self, upstream: FakeUpstream) -> None:
        upstream.faults.latency = 1.0
        provider = OpenAICompatibleProvider(
            name="slow", base_url=upstream.base_url, api_key=lambda: KEY, timeout=0.3
        )
        with pytest.raises(OutcomeUnknown):
            provider.create(prompt="p", model="m", size="720x1280", seconds=4)
        time.sleep(1.0)
        assert upstream.calls["create"] == 1

    def test_a_read_that_times_out_is_retried(self, upstream: FakeUpstream) -> None:
        job_id = finished_upstream_job(upstream)
        sleeps: list[float] = []
        provider = OpenAICompatibleProvider(
            name="slow", base_url=upstream.base_url, api_key=lambda: KEY, timeout=0.3,
            sleep=sleeps.append,
        )  # fmt: skip
        upstream.faults.latency = 0.5
        timer = threading.Timer(0.7, setattr, args=[upstream.faults, "latency", 0.0])
        timer.start()
        assert provider.retrieve(job_id).status == "completed"
        timer.join()
        assert upstream.calls["retrieve"] >= 2 and sleeps

    def test_backoff_is_capped_jittered_and_honours_retry_after(self) -> None:
        backoff = Backoff(base=0.5, cap=8.0)
        for attempt in range(10):
            top = min(8.0, 0.5 * 2**attempt)
            assert top / 2 <= backoff.delay(attempt) <= top
        assert backoff.delay(0, retry_after=3.0) == 3.0
        assert backoff.delay(0, retry_after=10_000) == 120.0
        response = httpx.Response(429, headers={"retry-after-ms": "250", "retry-after": "9"})
        assert retry_after_seconds(response) == 0.25
        assert retry_after_seconds(httpx.Response(429, headers={"retry-after": "2"})) == 2.0
        assert retry_after_seconds(httpx.Response(429)) is None


def test_the_local_path_is_unchanged(settings: Any, media_root: Path) -> None:
    """A video on the local provider never touches the upstream pipeline."""
    video = make_video(owner=make_user(), size="1280x720", seconds=4)
    render_video(video.pk)
    video.refresh_from_db()
    assert video.status == Video.Status.COMPLETED, video.error_message
    assert video.provider_job_id == "" and video.create_sent_at is None


def test_providers_check_reaches_the_upstream_with_the_studios_key(
    gateway: Provider, upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    from videos_app.providers.probe import provider_check

    result = provider_check(gateway)
    assert result.ok, result.message
    assert "answered; it has no videos yet" in result.message
    assert upstream.calls["list"] == 1
    monkeypatch.setenv(KEY_ENV, "sk-wrong-key-for-the-check")
    result = provider_check(gateway)
    assert not result.ok and "did not accept the studio's API key" in result.message
    assert "sk-wrong-key-for-the-check" not in result.message
