"""Running a video job: claim the row, drive the provider, store the assets.

The row is the truth. A job may be delivered twice (the ORM broker is at-least-once)
or be picked up again after its worker died, so every step checks the row first and
every write is conditional on still owning the attempt.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from .models import Provider as ProviderRow
from .models import Video, asset_path
from .providers import get_provider
from .providers.base import Assets, CharacterSpec, JobSpec, ProviderError
from .signals import video_finished

logger = logging.getLogger(__name__)


def heartbeat_stale() -> timedelta:
    """A job whose heartbeat is this old belongs to a worker that died."""
    return timedelta(seconds=settings.HEARTBEAT_STALE_SECONDS)


# A queued job is presumed lost (and queued again) after this long without news.
QUEUED_RETRY = timedelta(minutes=10)


def heartbeat_interval() -> float:
    """A running job writes its heartbeat at least this often (seconds)."""
    return max(0.5, settings.HEARTBEAT_STALE_SECONDS / 4)


# Progress writes are rate-limited: a poller reads the row, not every frame.
PROGRESS_MIN_INTERVAL = 0.5

ASSET_NAMES = {
    "video_file": "video.mp4",
    "thumbnail_file": "thumbnail.webp",
    "spritesheet_file": "spritesheet.jpg",
}


def video_job_claim(*, video_id: str) -> int | None:
    """Take the job for this worker; return the attempt number, or None if not ours to run."""
    now = timezone.now()
    runnable = Q(status=Video.Status.QUEUED) | Q(
        status=Video.Status.IN_PROGRESS, heartbeat_at__lt=now - heartbeat_stale()
    )
    claimed = Video.objects.filter(runnable, pk=video_id).update(
        status=Video.Status.IN_PROGRESS,
        attempts=F("attempts") + 1,
        heartbeat_at=now,
        started_at=now,
        progress=0,
    )
    if not claimed:
        return None
    return Video.objects.values_list("attempts", flat=True).get(pk=video_id)


class ProgressWriter:
    """Writes progress to the row at a bounded rate, as long as the attempt is still ours."""

    def __init__(self, video_id: str, attempt: int) -> None:
        self.video_id = video_id
        self.attempt = attempt
        self.last_written = -1
        self.last_time = 0.0
        self.owned = True  # False once a write finds the attempt is no longer ours

    def __call__(self, percent: int) -> None:
        percent = max(0, min(99, int(percent)))  # 100 is written with the assets
        now = time.monotonic()
        due = now - self.last_time >= PROGRESS_MIN_INTERVAL and percent != self.last_written
        beat = now - self.last_time >= heartbeat_interval()
        if not (due or beat):
            return
        self.last_time = now
        self.last_written = percent
        updated = Video.objects.filter(
            pk=self.video_id, attempts=self.attempt, status=Video.Status.IN_PROGRESS
        ).update(progress=percent, heartbeat_at=timezone.now())
        self.owned = bool(updated)


def video_job_run(*, video_id: str) -> None:
    """Run one video job to the end. Safe to call any number of times for the same id."""
    provider_name = Video.objects.filter(pk=video_id).values_list("provider", flat=True).first()
    if provider_name and provider_kind(provider_name) == ProviderRow.Kind.OPENAI_COMPATIBLE:
        from .jobs_upstream import upstream_job_run

        upstream_job_run(video_id=video_id)
        return
    attempt = video_job_claim(video_id=video_id)
    if attempt is None:
        logger.info("video %s is not runnable (finished or running elsewhere)", video_id)
        return
    video = Video.objects.select_related("source").get(pk=video_id)
    try:
        spec = _job_spec(video)
    except ProviderError as exc:
        _fail(video.pk, attempt, exc.code, exc.message)
        return
    with job_attempt(video.pk, attempt, what="renderer") as workdir:
        provider = get_provider(video.provider)
        if not hasattr(provider, "run"):  # its kind changed since the job was dispatched
            raise ProviderError("provider_changed", "The video's provider changed; retry it.")
        assets = provider.run(spec, workdir=workdir, on_progress=ProgressWriter(video.pk, attempt))
        _complete(video, attempt, assets)


@contextlib.contextmanager
def job_attempt(video_id: str, attempt: int, *, what: str) -> Iterator[Path]:
    """A fresh working folder for one attempt at a job, removed afterwards.

    A ``ProviderError`` raised inside fails the job with its code and message; anything
    else fails it as ``internal_error`` and propagates (the task is marked failed too).
    """
    tmp_root = settings.DATA_DIR / "tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    # What an earlier attempt left when its worker was killed: the job is ours now.
    for stale in tmp_root.glob(f"{video_id}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    workdir = Path(tempfile.mkdtemp(prefix=f"{video_id}-", dir=tmp_root))
    try:
        yield workdir
    except ProviderError as exc:
        # The operator's trace of a failure (a missing key, an unreachable provider):
        # messages carry no key (the provider redacts an echoed one).
        logger.warning("video %s failed: %s: %s", video_id, exc.code, exc.message)
        _fail(video_id, attempt, exc.code, exc.message)
    except Exception:
        logger.exception("video %s failed", video_id)
        _fail(video_id, attempt, "internal_error", f"The {what} stopped unexpectedly.")
        raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def provider_kind(name: str) -> str:
    """The kind of a provider by name (``local`` when it has no row: the default)."""
    kind = ProviderRow.objects.filter(name=name).values_list("kind", flat=True).first()
    return kind or ProviderRow.Kind.LOCAL


def _job_spec(video: Video) -> JobSpec:
    source_video: Path | None = None
    if video.operation in (Video.Operation.EXTEND, Video.Operation.EDIT):
        if video.source_upload:
            source_video = Path(video.source_upload.path)
        elif video.source is not None and video.source.video_file:
            source_video = Path(video.source.video_file.path)
        else:
            raise ProviderError("source_missing", "The source video no longer exists.")
    return JobSpec(
        video_id=video.pk,
        prompt=video.prompt,
        model=video.model,
        width=video.width,
        height=video.height,
        seconds=video.seconds,
        seed=video.seed,
        reference_image=Path(video.reference_image.path) if video.reference_image else None,
        operation=video.operation,
        source_video=source_video,
        source_prompt=video.source.prompt if video.source else "",
        segment_seconds=video.segment_seconds,
        characters=tuple(
            CharacterSpec(name=c.name, poster=Path(c.poster.path))
            for c in video.characters.all()
            if c.poster
        ),
    )


def _complete(video: Video, attempt: int, assets: Assets) -> None:
    files = {
        "video_file": assets.video,
        "thumbnail_file": assets.thumbnail,
        "spritesheet_file": assets.spritesheet,
    }
    names: dict[str, str] = {}
    for field, path in files.items():
        name = asset_path(video, ASSET_NAMES[field])
        # Same name on every attempt, overwritten (STORAGES allow_overwrite): a second run
        # leaves one set of assets.
        with path.open("rb") as fh:
            names[field] = default_storage.save(name, File(fh, name=ASSET_NAMES[field]))
    updated = Video.objects.filter(
        pk=video.pk, attempts=attempt, status=Video.Status.IN_PROGRESS
    ).update(
        status=Video.Status.COMPLETED,
        progress=100,
        completed_at=timezone.now(),
        heartbeat_at=None,
        file_size=assets.video.stat().st_size,
        error_code="",
        error_message="",
        **names,
    )
    if not updated:
        logger.warning("video %s attempt %s lost its claim before completing", video.pk, attempt)
        return
    video_finished.send(sender=Video, video_id=video.pk, status=Video.Status.COMPLETED)


def _fail(video_id: str, attempt: int, code: str, message: str) -> None:
    # A job no provider took on (no job id, and not a create whose answer was lost) made
    # nothing that can be billed: its estimate drops to zero, so a user who retries once
    # an operator fixed the provider is not counted twice for one video.
    never_taken = Q(provider_job_id="", cost_estimate__isnull=False)
    cost: Any = F("cost_estimate")
    if code != "upstream_outcome_unknown":
        cost = Case(When(never_taken, then=Value(Decimal(0))), default=F("cost_estimate"))
    updated = Video.objects.filter(
        pk=video_id, attempts=attempt, status=Video.Status.IN_PROGRESS
    ).update(
        status=Video.Status.FAILED,
        error_code=code,
        error_message=message[:2000],
        completed_at=timezone.now(),
        heartbeat_at=None,
        cost_estimate=cost,
    )
    if updated:
        video_finished.send(sender=Video, video_id=video_id, status=Video.Status.FAILED)


def video_jobs_recover() -> list[str]:
    """Queue again every job whose worker died, and every queued job whose task was lost.

    A running job is lost when its heartbeat goes stale. A queued job's task can be lost
    too (the Redis broker drops a task whose worker was killed), but a queued job may
    also just be waiting its turn behind a long queue: it is queued again only after
    ``QUEUED_RETRY`` without news, and at most once per that window (``heartbeat_at``
    of a queued row records when it was last queued). Claiming is conditional, so a job
    queued twice still runs once.
    """
    from .services import video_enqueue

    now = timezone.now()
    waited = now - max(QUEUED_RETRY, heartbeat_stale())
    stale = Video.objects.filter(
        Q(status=Video.Status.IN_PROGRESS, heartbeat_at__lt=now - heartbeat_stale())
        | Q(status=Video.Status.QUEUED, heartbeat_at__lt=waited)
        | Q(status=Video.Status.QUEUED, heartbeat_at__isnull=True, created_at__lt=waited)
    ).values_list("pk", flat=True)
    ids = list(stale[:500])
    for video_id in ids:
        logger.warning("requeueing video %s: its worker or task was lost", video_id)
        Video.objects.filter(pk=video_id, status=Video.Status.QUEUED).update(heartbeat_at=now)
        video_enqueue(video_id=video_id)
    return ids
