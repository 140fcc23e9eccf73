"""The job pipeline: claim, render with the real local renderer, store, fail, recover."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import av
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.conf import Conf

from tests.conftest import stored_files
from tests.factories import image_bytes, make_user, make_video
from videos_app import services
from videos_app.jobs import attempt as attempts
from videos_app.jobs import dispatch
from videos_app.models import Video
from videos_app.providers.base import Assets, JobSpec, ProgressCallback, ProviderError
from videos_app.tasks import recover_stale_jobs, render_video

pytestmark = pytest.mark.django_db


def create(capture: Any, **kwargs: Any) -> Video:
    """Create through the service, with on-commit hooks run (the task runs inline)."""
    kwargs.setdefault("owner", make_user())
    kwargs.setdefault("prompt", "a calm ocean at sunset, slow drift")
    with capture(execute=True):
        video = services.video_create(**kwargs)
    video.refresh_from_db()
    return video


class FailingProvider:
    name = "local"

    def __init__(self, exc: Exception) -> None:
        self.exc = exc
        self.calls = 0

    def run(self, spec: JobSpec, *, workdir: Path, on_progress: ProgressCallback) -> Assets:
        self.calls += 1
        (workdir / "partial.mp4").write_bytes(b"half a video")
        on_progress(30)
        raise self.exc


@pytest.mark.usefixtures("sync_queue")
class TestRender:
    def test_a_created_video_is_rendered_and_its_three_assets_stored(
        self, django_capture_on_commit_callbacks: Any, media_root: Path
    ) -> None:
        video = create(django_capture_on_commit_callbacks, size="1280x720", seconds=4)
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert video.progress == 100 and video.completed_at and video.heartbeat_at is None
        assert video.attempts == 1
        assert sorted(stored_files(media_root)) == [
            f"videos/{video.pk}/spritesheet.jpg",
            f"videos/{video.pk}/thumbnail.webp",
            f"videos/{video.pk}/video.mp4",
        ]
        with av.open(video.video_file.path) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264"
            assert (stream.codec_context.width, stream.codec_context.height) == (1280, 720)
            assert container.streams.audio
            assert abs(float(container.duration or 0) / 1_000_000 - 4) < 0.2
        assert video.file_size == Path(video.video_file.path).stat().st_size

    def test_a_reference_image_is_the_first_frame(
        self, django_capture_on_commit_callbacks: Any
    ) -> None:
        png = image_bytes(720, 1280, color=(250, 20, 200))
        video = create(django_capture_on_commit_callbacks, reference_png=png)
        assert video.status == Video.Status.COMPLETED, video.error_message
        with av.open(video.video_file.path) as container:
            frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
        center = frame[600:680, 320:400].reshape(-1, 3).mean(axis=0)
        assert abs(center[0] - 250) < 25 and abs(center[1] - 20) < 25 and abs(center[2] - 200) < 25

    def test_running_the_task_again_changes_nothing(
        self, django_capture_on_commit_callbacks: Any, media_root: Path
    ) -> None:
        video = create(django_capture_on_commit_callbacks)
        before = {p: (media_root / p).stat().st_mtime_ns for p in stored_files(media_root)}
        render_video(video.pk)
        render_video(video.pk)
        after = {p: (media_root / p).stat().st_mtime_ns for p in stored_files(media_root)}
        assert after == before
        video.refresh_from_db()
        assert (video.status, video.attempts) == (Video.Status.COMPLETED, 1)

    def test_a_job_whose_worker_died_is_run_again_with_one_set_of_assets(
        self, media_root: Path
    ) -> None:
        video = make_video(
            status=Video.Status.IN_PROGRESS,
            progress=40,
            attempts=1,
            heartbeat_at=timezone.now() - timedelta(minutes=10),
        )
        # What the dead attempt had already written stays only if it is the same set.
        (media_root / "videos" / video.pk).mkdir(parents=True)
        (media_root / "videos" / video.pk / "video.mp4").write_bytes(b"stale partial")
        render_video(video.pk)
        video.refresh_from_db()
        assert (video.status, video.attempts) == (Video.Status.COMPLETED, 2)
        assert len(stored_files(media_root)) == 3
        assert Path(video.video_file.path).read_bytes()[4:8] == b"ftyp"

    def test_a_job_running_elsewhere_is_left_alone(self, monkeypatch: pytest.MonkeyPatch) -> None:
        video = make_video(status=Video.Status.IN_PROGRESS, attempts=1, heartbeat_at=timezone.now())
        provider = FailingProvider(RuntimeError("must not run"))
        monkeypatch.setattr(dispatch, "get_provider", lambda name: provider)
        render_video(video.pk)
        assert provider.calls == 0
        video.refresh_from_db()
        assert (video.status, video.attempts) == (Video.Status.IN_PROGRESS, 1)


class TestFailure:
    def test_a_provider_error_fails_the_job_with_its_code_and_leaves_no_files(
        self, monkeypatch: pytest.MonkeyPatch, media_root: Path, settings: Any, tmp_path: Path
    ) -> None:
        settings.DATA_DIR = tmp_path
        monkeypatch.setattr(
            dispatch,
            "get_provider",
            lambda name: FailingProvider(ProviderError("render_timeout", "Took too long.")),
        )
        video = make_video()
        render_video(video.pk)
        video.refresh_from_db()
        assert video.status == Video.Status.FAILED
        assert (video.error_code, video.error_message) == ("render_timeout", "Took too long.")
        assert video.completed_at is not None
        assert stored_files(media_root) == []
        assert list((tmp_path / "tmp").iterdir()) == []

    def test_an_unexpected_error_fails_the_job_as_an_internal_error(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        failing = FailingProvider(ValueError("boom"))
        monkeypatch.setattr(dispatch, "get_provider", lambda name: failing)
        video = make_video()
        with pytest.raises(ValueError, match="boom"):
            render_video(video.pk)
        video.refresh_from_db()
        assert (video.status, video.error_code) == (Video.Status.FAILED, "internal_error")

    def test_a_finished_attempt_that_lost_its_claim_writes_nothing(self) -> None:
        video = make_video()
        first = attempts.video_job_claim(video_id=video.pk)
        Video.objects.filter(pk=video.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
        second = attempts.video_job_claim(video_id=video.pk)
        assert (first, second) == (1, 2)
        attempts.fail(video.pk, 1, "late", "the first attempt finished late")
        video.refresh_from_db()
        assert (video.status, video.error_code) == (Video.Status.IN_PROGRESS, "")


class TestProgress:
    def test_progress_writes_are_rate_limited(self) -> None:
        video = make_video()
        attempt = attempts.video_job_claim(video_id=video.pk)
        assert attempt is not None
        writer = attempts.ProgressWriter(video.pk, attempt)
        with CaptureQueriesContext(connection) as ctx:
            for percent in range(100):
                writer(percent)
        assert 1 <= len(ctx) <= 2
        video.refresh_from_db()
        assert video.progress == 0  # the first call wrote; the rest came too fast

    def test_progress_never_reports_100_before_the_assets_are_stored(self) -> None:
        video = make_video()
        attempt = attempts.video_job_claim(video_id=video.pk)
        assert attempt is not None
        attempts.ProgressWriter(video.pk, attempt)(100)
        video.refresh_from_db()
        assert video.progress == 99


class TestRecovery:
    def test_it_requeues_jobs_with_a_stale_heartbeat_and_old_queued_ones(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        queued: list[str] = []
        monkeypatch.setattr(services, "video_enqueue", lambda *, video_id: queued.append(video_id))
        old = timezone.now() - timedelta(hours=1)
        dead = make_video(status=Video.Status.IN_PROGRESS, heartbeat_at=old)
        lost = make_video()
        Video.objects.filter(pk=lost.pk).update(created_at=old)
        make_video(status=Video.Status.IN_PROGRESS, heartbeat_at=timezone.now())
        make_video()  # freshly queued
        make_video(status=Video.Status.COMPLETED)
        assert recover_stale_jobs() == 2
        assert sorted(queued) == sorted([dead.pk, lost.pk])

    def test_a_queued_job_is_queued_again_at_most_once_per_window(
        self, monkeypatch: pytest.MonkeyPatch, broker_with_a_task_ahead: None
    ) -> None:
        queued: list[str] = []
        monkeypatch.setattr(services, "video_enqueue", lambda *, video_id: queued.append(video_id))
        waiting = make_video()
        Video.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(minutes=5))
        assert recover_stale_jobs() == 0  # just waiting its turn behind the broker's task
        Video.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(hours=1))
        assert recover_stale_jobs() == 1
        assert recover_stale_jobs() == 0  # not again within the window
        assert queued == [waiting.pk]

    def test_with_nothing_in_the_broker_a_queued_job_is_queued_again_at_the_next_sweep(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Its task was lost (a restarted Redis) or failed during a database outage:
        # nothing can be ahead of it, so it does not wait ten minutes.
        queued: list[str] = []
        monkeypatch.setattr(services, "video_enqueue", lambda *, video_id: queued.append(video_id))
        from django_q.brokers import get_broker

        assert get_broker().queue_size() == 0
        fresh = make_video()
        lost = make_video()
        Video.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(seconds=40))
        assert recover_stale_jobs() == 1
        assert queued == [lost.pk]
        assert fresh.pk not in queued  # just made: its task may still be on its way

    @pytest.mark.skipif(not Conf.ORM, reason="the ORM broker's locks (Redis keeps none)")
    def test_a_worker_starting_releases_tasks_a_dead_one_had_taken(self) -> None:
        from django_q.brokers import get_broker

        from videos_app.jobs.recover import orphaned_tasks_release

        broker = get_broker()
        broker.enqueue("a task")
        assert broker.dequeue()  # taken (locked for its retry time) by a cluster that died
        assert broker.queue_size() == 0
        assert orphaned_tasks_release() == 1
        assert broker.queue_size() == 1
        assert orphaned_tasks_release() == 0


@pytest.fixture
def broker_with_a_task_ahead() -> Any:
    """A task in the real broker's queue, ahead of the test's job."""
    from django_q.brokers import get_broker

    broker = get_broker()
    task_id = broker.enqueue("a task ahead")
    yield
    if Conf.ORM:
        broker.delete(task_id)
    else:
        broker.purge_queue()


class TestDatabaseOutage:
    def test_a_task_that_meets_an_outage_waits_and_then_runs(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from django.db import OperationalError

        from videos_app.jobs import outage

        answers = iter([False, False, False, True])
        monkeypatch.setattr(outage, "database_answers", lambda: next(answers))
        runs: list[int] = []

        def run() -> None:
            runs.append(1)
            if len(runs) == 1:
                raise OperationalError("the database system is shutting down")

        outage.through_database_outages(run, check_every=0)
        assert len(runs) == 2  # ran again once the database answered

    def test_an_error_while_the_database_answers_is_raised_at_once(self) -> None:
        from django.db import OperationalError

        from videos_app.jobs import outage

        def run() -> None:
            raise OperationalError("no such column")

        with pytest.raises(OperationalError, match="no such column"):
            outage.through_database_outages(run, check_every=0)

    def test_it_gives_up_when_the_database_stays_away(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from django.db import OperationalError

        from videos_app.jobs import outage

        monkeypatch.setattr(outage, "database_answers", lambda: False)

        def run() -> None:
            raise OperationalError("connection refused")

        with pytest.raises(OperationalError):
            outage.through_database_outages(run, give_up_after=0, check_every=0)


class TestProgressRead:
    def test_the_poll_read_matches_the_orm(self) -> None:
        from videos_app.selectors import video_progress

        video = make_video(status=Video.Status.IN_PROGRESS, progress=37, size="1280x720")
        Video.objects.filter(pk=video.pk).update(started_at=timezone.now() - timedelta(seconds=30))
        video.refresh_from_db()
        read = video_progress(video_id=video.pk)
        assert (read.pk, read.status, read.progress, read.size) == (
            video.pk,
            "in_progress",
            37,
            "1280x720",
        )
        assert read.started_at == video.started_at
        assert read.seconds_left(timezone.now()) == video.seconds_left(timezone.now())

    def test_the_poll_read_of_an_unknown_video_raises_does_not_exist(self) -> None:
        from videos_app.selectors import video_progress

        with pytest.raises(Video.DoesNotExist):
            video_progress(video_id="video_nope")
