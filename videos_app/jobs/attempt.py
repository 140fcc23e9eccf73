"""One attempt at a job, for every engine: claim, heartbeat, progress, complete, fail.

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

from studio import storage
from videos_app.models import Video, asset_path
from videos_app.providers.base import ASSET_VARIANTS, Assets, ProviderError

from .signals import video_finished

logger = logging.getLogger(__name__)


def heartbeat_stale() -> timedelta:
    """A job whose heartbeat is this old belongs to a worker that died."""
    return timedelta(seconds=settings.HEARTBEAT_STALE_SECONDS)


def heartbeat_interval() -> float:
    """A running job writes its heartbeat at least this often (seconds)."""
    return max(0.5, settings.HEARTBEAT_STALE_SECONDS / 4)


# Progress writes are rate-limited: a poller reads the row, not every frame.
PROGRESS_MIN_INTERVAL = 0.5


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
        fail(video_id, attempt, exc.code, exc.message)
    except Exception:
        logger.exception("video %s failed", video_id)
        fail(video_id, attempt, "internal_error", f"The {what} stopped unexpectedly.")
        raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def complete(video: Video, attempt: int, assets: Assets) -> None:
    """Store the assets and mark the job completed, if the attempt is still ours."""
    names: dict[str, str] = {}
    try:
        for variant, path in assets.by_variant().items():
            asset = ASSET_VARIANTS[variant]
            name = asset_path(video, asset.filename)
            # Same name on every attempt, overwritten (STORAGES allow_overwrite): a second
            # run leaves one set of assets. A bucket takes a big file in parts, and shows
            # the object only once every part is in.
            with path.open("rb") as fh:
                names[asset.field] = default_storage.save(name, File(fh, name=asset.filename))
    except BaseException:
        storage.delete(names.values())  # the row never names them: none is left behind
        raise
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
        _drop_orphans(video.pk, attempt, list(names.values()))
        return
    video_finished.send(sender=Video, video_id=video.pk, status=Video.Status.COMPLETED)


def _drop_orphans(video_id: str, attempt: int, names: list[str]) -> None:
    """Delete what a late attempt stored for a video deleted or cancelled meanwhile; a
    later attempt stores the same names, so its files are left alone."""
    row = Video.objects.filter(pk=video_id).values("status", "attempts").first()
    if row is None or (row["status"] == Video.Status.FAILED and row["attempts"] == attempt):
        storage.delete(names)


def fail(video_id: str, attempt: int, code: str, message: str) -> None:
    """Mark the job failed with ``code`` and ``message``, if the attempt is still ours."""
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
