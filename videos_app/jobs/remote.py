"""Running a video job on any remote engine (``base.RemoteEngine``), never paying twice.

The engine only translates; this runner owns the row, which records every step that
costs money before the step is taken:

1. Claim the row (as the local path does), within the provider's concurrency limit: the
   ``Provider`` row is locked while running jobs are counted, so two workers cannot both
   take the last slot. A job over the limit stays queued (no attempt spent) and its task
   is queued again a little later.
2. ``provider_job_id`` set: the upstream has the job; poll it (resume).
   ``create_sent_at`` set but no id: an earlier attempt may have sent the create and died
   before hearing back. Reconcile: the engine lists what that create may have started
   (``find_lost``: made since then, matching the request); adopt the one match no other
   row has, or fail with ``upstream_outcome_unknown``. A second create is never sent.
   Neither: ask the engine to check the request, commit ``create_sent_at`` (only while
   this attempt owns the row), submit, commit the upstream id, poll.
3. Poll: the engine's advice (``poll_after``) when it gives one, else a tenth of the
   job's age (1 to 12 s);
   the sleep is ``wake.wait`` (an inbound webhook wakes it) in heartbeat-sized slices.
   Before the django-q2 task timeout the job is handed over: the row goes back to queued
   with its upstream id and a new task is queued; the new task claims it like any other,
   so two pollers never run at once.
4. Completed: the three variants are fetched at once, verified by decoding, stored.
   An upstream ``failed`` fails the job with the upstream's own code and message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import av
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from PIL import Image

from studio import storage
from videos_app.models import CANCELLED, Video
from videos_app.models import Provider as ProviderRow
from videos_app.providers.base import (
    Assets,
    OutcomeUnknown,
    ProviderError,
    RemoteEngine,
    RemoteGone,
    RemoteRequest,
    Unavailable,
    can_cancel,
    remote_variants,
)
from videos_app.providers.catalog import get_provider, parse_size

from . import wake
from .attempt import ProgressWriter, complete, heartbeat_interval, heartbeat_stale, job_attempt
from .finish import extension_assets, last_frame_png, previews_from_video

logger = logging.getLogger(__name__)

BUSY = -1  # the claim's answer when the provider is at its concurrency limit
BUSY_RETRY_SECONDS = 3.0
# A create whose answer was lost is looked for in the upstream's list this many times.
RECONCILE_TRIES = (0.0, 1.0, 3.0)
FIRST_POLL_DELAY = 1.0  # after a create, before the first poll
# Without the upstream's advice, poll every POLL_FRACTION of the job's age (1 s at first,
# at most POLL_MAX): noticing the end late costs at most about a tenth of the job's time,
# in about 10 + 25 polls for a two-minute job, then one per POLL_MAX.
POLL_FIRST = 1.0
POLL_FRACTION = 0.1
POLL_GROWTH = 1.5  # between failed reads
POLL_MAX = 12.0
# Reads failing for this long (after the client's own retries) fail the job.
UNAVAILABLE_GRACE_SECONDS = 600.0
OUTCOME_UNKNOWN_MESSAGE = (
    "The upstream may have started this job but did not confirm it; check the provider "
    "before retrying."
)


def task_budget() -> float:
    """Seconds one task may poll before handing the job over (under the task timeout)."""
    configured = getattr(settings, "UPSTREAM_TASK_BUDGET", None)
    if configured is not None:
        return float(configured)
    return max(30.0, float(settings.RENDER_TIMEOUT) - 300.0)


def remote_job_claim(*, video_id: str, provider: str, limit: int) -> int | None:
    """The attempt number; ``BUSY`` if the provider is full; None if not ours to run."""
    now = timezone.now()
    runnable = Q(status=Video.Status.QUEUED) | Q(
        status=Video.Status.IN_PROGRESS, heartbeat_at__lt=now - heartbeat_stale()
    )
    with transaction.atomic():
        # The lock serialises claims per provider (PostgreSQL row lock; on SQLite the
        # IMMEDIATE transaction already holds the database's write lock).
        list(ProviderRow.objects.select_for_update().filter(name=provider).values_list("pk"))
        running = (
            Video.objects.filter(
                provider=provider,
                status=Video.Status.IN_PROGRESS,
                heartbeat_at__gte=now - heartbeat_stale(),
            )
            .exclude(pk=video_id)
            .count()
        )
        if running >= limit:
            return BUSY if Video.objects.filter(runnable, pk=video_id).exists() else None
        claimed = Video.objects.filter(runnable, pk=video_id).update(
            status=Video.Status.IN_PROGRESS,
            attempts=F("attempts") + 1,
            heartbeat_at=now,
            started_at=Coalesce(F("started_at"), Value(now)),
        )
    if not claimed:
        return None
    return Video.objects.values_list("attempts", flat=True).get(pk=video_id)


def remote_job_run(*, video_id: str, engine: RemoteEngine) -> None:
    """Run one job on ``engine`` to the end (or hand it over). Safe to call any number of
    times for the same id; the caller closes the engine."""
    from videos_app.services import video_enqueue

    video = Video.objects.select_related("source").get(pk=video_id)
    row = ProviderRow.objects.filter(name=video.provider).first()
    if row is None:
        return
    attempt = remote_job_claim(video_id=video_id, provider=row.name, limit=row.max_concurrency)
    if attempt is None:
        logger.info("video %s is not runnable (finished or running elsewhere)", video_id)
        return
    if attempt == BUSY:
        # Stays queued, attempts untouched; heartbeat_at on a queued row tells the sweeper
        # it has had news, so it does not queue extra copies.
        logger.info("provider %s is at its limit; video %s waits", row.name, video_id)
        Video.objects.filter(pk=video_id, status=Video.Status.QUEUED).update(
            heartbeat_at=timezone.now()
        )
        time.sleep(BUSY_RETRY_SECONDS)
        video_enqueue(video_id=video_id)
        return
    with job_attempt(video.pk, attempt, what="upstream job") as workdir:
        RemoteJob(video, attempt, engine, workdir).run(workdir)


def cancelled(video_id: str) -> bool:
    """Whether someone cancelled the job (``services.video_cancel``)."""
    return Video.objects.filter(
        pk=video_id, status=Video.Status.FAILED, error_code=CANCELLED
    ).exists()


def cancel_upstream(engine: RemoteEngine, provider: str, upstream_id: str) -> bool:
    """Stop a cancelled job at the vendor where the vendor can (True when it stopped or
    had already ended); elsewhere it is abandoned: its result is never fetched."""
    if not can_cancel(engine):
        logger.info("provider %s cannot cancel; job %s is abandoned", provider, upstream_id)
        return False
    try:
        stopped = bool(engine.cancel(upstream_id))  # type: ignore[attr-defined]
    except ProviderError as exc:
        logger.warning("could not cancel %s's job %s: %s %s", provider, upstream_id, exc.code, exc)
        return False
    logger.info("cancelled %s's job %s at the provider", provider, upstream_id)
    return stopped


def remote_job_cancel(*, video_id: str) -> bool:
    """Stop a cancelled video's job at its vendor (the task ``cancel_remote_job``)."""
    video = Video.objects.filter(pk=video_id).only("provider", "provider_job_id").first()
    if video is None or not video.provider_job_id:
        return False  # no job yet: the runner cancels it once the create answers
    try:
        engine = get_provider(video.provider)
    except LookupError:
        return False
    if not isinstance(engine, RemoteEngine):
        return False
    try:
        return cancel_upstream(engine, video.provider, video.provider_job_id)
    finally:
        engine.close()


def remote_copy_delete(*, provider_name: str, upstream_id: str) -> bool:
    """Delete the upstream's copy of a video deleted here (best effort: a failure is
    logged, the video is gone here either way). True once the copy is gone."""
    try:
        provider = get_provider(provider_name)
    except LookupError:
        logger.warning(
            "provider %s is gone; its copy %s stays upstream", provider_name, upstream_id
        )
        return False
    if not isinstance(provider, RemoteEngine):
        return False
    try:
        return provider.delete(upstream_id)
    except ProviderError as exc:
        logger.warning(
            "could not delete %s's copy %s: %s %s", provider_name, upstream_id, exc.code, exc
        )
        return False
    finally:
        provider.close()


class RemoteJob:
    """One attempt at a job on a remote engine (see the module's docstring)."""

    def __init__(self, video: Video, attempt: int, engine: RemoteEngine, workdir: Path) -> None:
        self.video = video
        self.attempt = attempt
        self.engine = engine
        row = ProviderRow.objects.filter(name=video.provider).first()
        self.request = remote_request(video, workdir, provider_webhook_url(row))
        self.progress = ProgressWriter(video.pk, attempt)
        # An extension on an engine that cannot extend: a create from the source's last
        # frame, then the source and the new segment stitched here.
        self.stitches = self.request.operation == "extend" and not extends_natively(
            engine, self.request
        )
        self.deadline = time.monotonic() + task_budget()

    def run(self, workdir: Path) -> None:
        video = self.video
        if self.stitches:
            self.request = self.segment_request(workdir)
        upstream_id = video.provider_job_id
        first_wait = 0.0
        if not upstream_id:
            # A create may already have gone out: never send another.
            if video.create_sent_at is not None:
                upstream_id = self.reconcile()
            else:
                upstream_id = self.start()
                first_wait = FIRST_POLL_DELAY  # a job just created is not done yet
            if not upstream_id:
                return
        if not self.poll(upstream_id, first_wait=first_wait):
            return
        assets = self.download(upstream_id, workdir)
        complete(video, self.attempt, assets)

    # --- create, exactly once ------------------------------------------------------

    def start(self) -> str:
        """Send the create (or remix, edit, extend) once; return the upstream id."""
        video = self.video
        self.engine.check(self.request)  # refuses what it cannot do before anything is sent
        sent_at = timezone.now()
        marked = Video.objects.filter(
            pk=video.pk,
            attempts=self.attempt,
            status=Video.Status.IN_PROGRESS,
            create_sent_at__isnull=True,
            provider_job_id="",
        ).update(create_sent_at=sent_at)
        if not marked:
            logger.info("video %s: lost the claim before sending the create", video.pk)
            return ""
        video.create_sent_at = sent_at
        try:
            upstream_id = self.engine.submit(self.request)
        except OutcomeUnknown as exc:
            logger.warning("video %s: %s; reconciling", video.pk, exc.message)
            return self.reconcile(tries=RECONCILE_TRIES)
        self.save_id(upstream_id)
        if cancelled(video.pk):
            # Cancelled while the create was on its way: stop what it started.
            cancel_upstream(self.engine, video.provider, upstream_id)
            return ""
        return upstream_id

    def save_id(self, upstream_id: str) -> bool:
        """Commit the upstream id, whoever owns the attempt now: it must not be lost."""
        with transaction.atomic():
            taken = (
                Video.objects.filter(provider=self.video.provider, provider_job_id=upstream_id)
                .exclude(pk=self.video.pk)
                .exists()
            )
            if taken:
                return False
            saved = Video.objects.filter(pk=self.video.pk, provider_job_id="").update(
                provider_job_id=upstream_id
            )
        self.video.provider_job_id = upstream_id
        return bool(saved)

    def reconcile(self, tries: tuple[float, ...] = (0.0,)) -> str:
        """Find the job a create whose answer was lost may have started; adopt it or fail.

        Only a job made after the create was sent (on the upstream's clock) and not
        already another video's can be ours; when more than one such job matches, the
        studio cannot tell which, and fails for attention rather than take someone
        else's (an upstream account may be shared with other clients)."""
        video = self.video
        assert video.create_sent_at is not None
        sent = video.create_sent_at.timestamp()
        for delay in tries:
            if delay:
                time.sleep(delay)
            matching = self.engine.find_lost(self.request, since=sent)
            taken = set(
                Video.objects.filter(provider=video.provider, provider_job_id__in=matching)
                .exclude(pk=video.pk)
                .values_list("provider_job_id", flat=True)
            )
            candidates = [job_id for job_id in matching if job_id not in taken]
            if len(candidates) > 1:
                logger.warning("video %s: %d upstream jobs match a lost create (%s)", video.pk,
                               len(candidates), ", ".join(candidates))  # fmt: skip
                raise ProviderError(
                    "upstream_outcome_unknown",
                    f"{OUTCOME_UNKNOWN_MESSAGE} {len(candidates)} upstream jobs match it "
                    f"({', '.join(candidates[:5])}).",
                )
            if candidates and self.save_id(candidates[0]):
                logger.warning("video %s: adopted upstream job %s", video.pk, candidates[0])
                return candidates[0]
        raise ProviderError("upstream_outcome_unknown", OUTCOME_UNKNOWN_MESSAGE)

    # --- poll ----------------------------------------------------------------------

    def poll(self, upstream_id: str, *, first_wait: float = 0.0) -> bool:
        """Wait for the upstream job to complete; False if this task stops (handed over,
        claim lost). Raises ProviderError when the upstream job failed."""
        interval = POLL_FIRST
        failing_since: float | None = None
        percent = self.video.progress
        born = self.video.create_sent_at or timezone.now()
        if first_wait and not self.sleep(first_wait, percent):
            return False
        while True:
            if time.monotonic() >= self.deadline:
                self.hand_over()
                return False
            wait = interval
            try:
                upstream = self.engine.status(upstream_id)
            except Unavailable as exc:
                failing_since = failing_since or time.monotonic()
                if time.monotonic() - failing_since > UNAVAILABLE_GRACE_SECONDS:
                    raise ProviderError(
                        "upstream_unavailable",
                        f"{exc.message} The upstream job is {upstream_id}.",
                    ) from None
                interval = min(interval * POLL_GROWTH, POLL_MAX)
            except RemoteGone:
                raise ProviderError(
                    "upstream_job_missing",
                    f"The upstream no longer knows job {upstream_id}.",
                ) from None
            else:
                failing_since = None
                if upstream.status == "completed":
                    return True
                if upstream.status == "failed":
                    raise ProviderError(
                        upstream.error_code or "upstream_failed",
                        upstream.error_message or "The upstream job failed.",
                    )
                percent = max(percent, min(95, upstream.progress * 95 // 100))
                if upstream.poll_after is not None:
                    wait = min(max(upstream.poll_after, 0.05), 60.0)
                else:
                    age = (timezone.now() - born).total_seconds()
                    wait = interval = min(POLL_MAX, max(POLL_FIRST, POLL_FRACTION * age))
            self.progress(percent)
            if not self.progress.owned or not self.sleep(wait, percent):
                if cancelled(self.video.pk):
                    cancel_upstream(self.engine, self.video.provider, upstream_id)
                return False

    def sleep(self, seconds: float, percent: int) -> bool:
        """Sleep (a webhook's or a cancel's wake cuts it short), beating the heartbeat;
        False if the attempt stopped being ours."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if wake.wait(self.video.pk, min(left, heartbeat_interval())):
                # A webhook, or a cancel: a cancelled job polls no more.
                return not cancelled(self.video.pk)
            self.progress(percent)
            if not self.progress.owned:
                return False
        return True

    def hand_over(self) -> None:
        """Give the job back to the queue before the task timeout kills this task."""
        from videos_app.services import video_enqueue

        released = Video.objects.filter(
            pk=self.video.pk, attempts=self.attempt, status=Video.Status.IN_PROGRESS
        ).update(status=Video.Status.QUEUED, heartbeat_at=timezone.now())
        if released:
            logger.info("video %s: handing the upstream poll over to a new task", self.video.pk)
            video_enqueue(video_id=self.video.pk)

    # --- assets --------------------------------------------------------------------

    def source_video(self) -> Path:
        source = self.request.source_upload or self.request.source_file
        if source is None or not source.exists():
            raise ProviderError("source_missing", "The source video no longer exists.")
        return source

    def segment_request(self, workdir: Path) -> RemoteRequest:
        """What the engine is asked for instead of an extension it cannot make: a video
        of the new segment's length that starts on the source's last frame."""
        first = workdir / "last-frame.png"
        last_frame_png(self.source_video(), first, size=parse_size(self.request.size))
        return replace(
            self.request, operation="create", seconds=self.request.segment_seconds,
            reference_image=first, source_id="", source_upload=None,
        )  # fmt: skip

    def download(self, upstream_id: str, workdir: Path) -> Assets:
        """Copy the result home (vendor links expire) and make the previews the engine
        does not give; everything is decoded before the job completes."""
        assets = Assets.in_dir(workdir)
        given = remote_variants(self.engine)
        targets = {v: p for v, p in assets.by_variant().items() if v in given}
        if self.stitches:
            # Only the segment comes from the engine; its previews would show only it.
            given, targets = ("video",), {"video": workdir / "segment.mp4"}
        self.progress(96)
        try:
            with ThreadPoolExecutor(max_workers=len(targets)) as pool:
                futures = [
                    pool.submit(self.engine.fetch, upstream_id, variant, path)
                    for variant, path in targets.items()
                ]
                for future in futures:
                    future.result()
        except RemoteGone:
            raise ProviderError(
                "upstream_assets_expired",
                f"The upstream no longer has the files of job {upstream_id} (finished "
                "assets expire upstream).",
            ) from None
        made_here = {"thumbnail", "spritesheet"} - set(given)
        if self.stitches:
            extension_assets(
                self.source_video(), targets["video"], assets, size=parse_size(self.request.size)
            )
        elif made_here:
            # Decodes the video: the previews prove its frames decode.
            previews_from_video(
                assets.video,
                thumbnail=assets.thumbnail if "thumbnail" in made_here else None,
                spritesheet=assets.spritesheet if "spritesheet" in made_here else None,
            )
        verify_assets(assets, decoded=made_here | ({"video"} if made_here else set()))
        self.progress(99)
        return assets


def extends_natively(engine: RemoteEngine, request: RemoteRequest) -> bool:
    """The engine's ``native_extend``: a flag, or a method of the request where it depends
    on the model (base.py)."""
    native = getattr(engine, "native_extend", False)
    return bool(native(request) if callable(native) else native)


def verify_assets(assets: Assets, decoded: Collection[str] = ()) -> None:
    """Decode what came back: an H.264 (+ AAC) MP4, a WebP and a JPEG (``decoded``: the
    variants already decoded here, or written here, which are not decoded again)."""
    try:
        with av.open(str(assets.video)) as container:
            if not container.streams.video:
                raise ValueError("no video stream")
            stream = container.streams.video[0]
            if stream.codec_context.name != "h264":
                raise ValueError(f"video codec {stream.codec_context.name}")
            if any(a.codec_context.name != "aac" for a in container.streams.audio):
                raise ValueError("audio not AAC")
            if "video" not in decoded and next(container.decode(stream), None) is None:
                raise ValueError("no frame decodes")
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise ProviderError(
            "upstream_invalid_asset", f"The upstream's video is not a playable MP4 ({exc})."
        ) from None
    for variant, path, fmt in (
        ("thumbnail", assets.thumbnail, "WEBP"),
        ("spritesheet", assets.spritesheet, "JPEG"),
    ):
        if variant in decoded:
            continue
        try:
            with Image.open(path) as image:
                if image.format != fmt:
                    raise ValueError(f"{image.format} instead of {fmt}")
                image.load()
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise ProviderError(
                "upstream_invalid_asset", f"The upstream's {path.name} does not decode ({exc})."
            ) from None


def remote_request(video: Video, workdir: Path, webhook_url: str = "") -> RemoteRequest:
    """What the engine is asked for, read from the row (and its source's), its stored
    inputs staged as local files in ``workdir`` (``storage.stage``)."""
    source = video.source
    source_id = ""
    if source is not None and source.provider == video.provider:
        source_id = source.provider_job_id
    return RemoteRequest(
        video_id=video.pk,
        operation=video.operation,
        prompt=video.prompt,
        model=video.provider_model or video.model,
        size=video.size,
        seconds=video.seconds,
        segment_seconds=video.segment_seconds,
        reference_image=(
            storage.stage(video.reference_image.name, workdir) if video.reference_image else None
        ),
        with_characters=video.characters.exists(),
        source_id=source_id,
        # A source gone from storage is None here: source_missing when it is needed.
        source_upload=storage.stage_if_present(video.source_upload.name, workdir),
        source_file=storage.stage_if_present(source.video_file.name if source else "", workdir),
        source_prompt=source.prompt if source is not None else "",
        seed=video.seed,
        last_frame=storage.stage(video.last_frame.name, workdir) if video.last_frame else None,
        reference_images=tuple(storage.stage(name, workdir) for name in video.reference_images),
        negative_prompt=video.negative_prompt,
        audio=video.audio,
        webhook_url=webhook_url,
    )


def provider_webhook_url(row: ProviderRow | None) -> str:
    """Where this provider's webhooks reach the studio ("" when it takes none: the studio
    has no public address, or the provider row sets no way to verify them)."""
    site = (getattr(settings, "SITE_URL", "") or "").rstrip("/")
    if row is None or not site:
        return ""
    if not (row.webhook_secret_env or (row.options or {}).get("webhook_jwks_url")):
        return ""
    from django.urls import reverse

    return site + reverse("provider_webhook", args=[row.name])
