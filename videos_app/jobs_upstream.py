"""Running a video job on an upstream ``/v1/videos`` service, without ever paying twice.

The row records every step that costs money before the step is taken:

1. Claim the row (as the local path does), within the provider's concurrency limit: the
   ``Provider`` row is locked while running jobs are counted, so two workers cannot both
   take the last slot. A job over the limit stays queued (no attempt spent) and its task
   is queued again a little later.
2. ``provider_job_id`` set: the upstream has the job; poll it (resume).
   ``create_sent_at`` set but no id: an earlier attempt may have sent the create and died
   before hearing back. Reconcile against the upstream's list (same prompt, model, size
   and duration, created since then, not adopted by another row) and adopt what matches,
   or fail with ``upstream_outcome_unknown``. A second create is never sent.
   Neither: commit ``create_sent_at`` (only while this attempt owns the row), send the
   create, commit the upstream id, poll.
3. Poll: ``openai-poll-after-ms`` when the upstream gives it, else a tenth of the job's
   age (1 to 12 s);
   the sleep is ``wake.wait`` (an inbound webhook wakes it) in heartbeat-sized slices.
   Before the django-q2 task timeout the job is handed over: the row goes back to queued
   with its upstream id and a new task is queued; the new task claims it like any other,
   so two pollers never run at once.
4. Completed: the three variants are downloaded at once, verified by decoding, stored.
   An upstream ``failed`` fails the job with the upstream's own code and message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from PIL import Image

from . import wake
from .jobs import (
    ProgressWriter,
    _complete,
    heartbeat_interval,
    heartbeat_stale,
    job_attempt,
)
from .models import Provider as ProviderRow
from .models import Video
from .providers import get_provider
from .providers.base import Assets, ProviderError
from .providers.openai_compatible import (
    OpenAICompatibleProvider,
    OutcomeUnknown,
    UpstreamHTTPError,
    UpstreamUnavailable,
    UpstreamVideo,
)

logger = logging.getLogger(__name__)

BUSY = -1  # the claim's answer when the provider is at its concurrency limit
BUSY_RETRY_SECONDS = 3.0
# Reconciliation takes only upstream jobs made after our create was sent, read on the
# upstream's clock (its Date header): this much earlier covers the header's and the
# created_at's whole seconds. Without a Date header it looks RECONCILE_SKEW_SECONDS back.
RECONCILE_MARGIN_SECONDS = 2
RECONCILE_SKEW_SECONDS = 120
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


def upstream_job_claim(*, video_id: str, provider: str, limit: int) -> int | None:
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


def upstream_job_run(*, video_id: str) -> None:
    from .services import video_enqueue

    video = Video.objects.select_related("source").get(pk=video_id)
    row = ProviderRow.objects.filter(name=video.provider).first()
    if row is None:
        return
    attempt = upstream_job_claim(video_id=video_id, provider=row.name, limit=row.max_concurrency)
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
    provider = get_provider(video.provider)
    assert isinstance(provider, OpenAICompatibleProvider)
    try:
        with job_attempt(video.pk, attempt, what="upstream job") as workdir:
            UpstreamJob(video, attempt, provider).run(workdir)
    finally:
        provider.close()


def upstream_copy_delete(*, provider_name: str, upstream_id: str) -> bool:
    """Delete the upstream's copy of a video deleted here (best effort: a failure is
    logged, the video is gone here either way). True once the copy is gone."""
    try:
        provider = get_provider(provider_name)
    except LookupError:
        logger.warning(
            "provider %s is gone; its copy %s stays upstream", provider_name, upstream_id
        )
        return False
    if not isinstance(provider, OpenAICompatibleProvider):
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


def source_gone_upstream(
    by_id: Callable[[], UpstreamVideo],
    by_file: Callable[[], UpstreamVideo] | None,
    provider_name: str,
) -> Callable[[], UpstreamVideo]:
    """Send by the source's upstream id; if the upstream no longer has it (404), send our
    stored file instead, or fail saying so (a remix needs the upstream's copy)."""

    def send() -> UpstreamVideo:
        try:
            return by_id()
        except UpstreamHTTPError as exc:
            if exc.status != 404:
                raise
            if by_file is None:
                raise ProviderError(
                    "source_gone_upstream",
                    f"The source's copy on {provider_name} is gone (expired or deleted), so "
                    "it cannot be remixed there; Edit and Extend still work (they send the "
                    "file).",
                ) from None
            logger.info("the source is gone on %s; sending the stored file", provider_name)
            return by_file()

    return send


class UpstreamJob:
    def __init__(self, video: Video, attempt: int, provider: OpenAICompatibleProvider) -> None:
        self.video = video
        self.attempt = attempt
        self.provider = provider
        self.progress = ProgressWriter(video.pk, attempt)
        self.deadline = time.monotonic() + task_budget()

    def run(self, workdir: Path) -> None:
        video = self.video
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
        _complete(video, self.attempt, assets)

    # --- create, exactly once ------------------------------------------------------

    def start(self) -> str:
        """Send the create (or remix, edit, extend) once; return the upstream id."""
        video = self.video
        send = self.request()  # refuses what the upstream cannot do before anything is sent
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
            upstream = send()
        except OutcomeUnknown as exc:
            logger.warning("video %s: %s; reconciling", video.pk, exc.message)
            return self.reconcile(tries=RECONCILE_TRIES)
        self.save_id(upstream.id)
        return upstream.id

    def request(self) -> Callable[[], UpstreamVideo]:
        video, provider = self.video, self.provider
        if video.characters.exists():
            raise ProviderError(
                "characters_unsupported",
                f"The provider {provider.name} does not take characters; remove them or pick "
                "a model that runs on the local renderer.",
            )
        model = video.provider_model or video.model
        source = video.source
        source_id = ""
        if source is not None and source.provider == video.provider:
            source_id = source.provider_job_id
        upload: Path | None = None
        if video.source_upload:
            upload = Path(video.source_upload.path)
        elif source is not None and source.video_file and not source_id:
            upload = Path(source.video_file.path)
        op = video.operation
        if op == Video.Operation.REMIX:
            if not source_id:
                raise ProviderError(
                    "remix_unsupported",
                    f"Only a video made on {provider.name} can be remixed there.",
                )
            return source_gone_upstream(
                lambda: provider.remix(source_id, prompt=video.prompt), None, provider.name
            )
        if op in (Video.Operation.EDIT, Video.Operation.EXTEND) and not (source_id or upload):
            raise ProviderError("source_missing", "The source video no longer exists.")
        # Upstream copies expire: an edit or extension whose source is gone there sends
        # our own copy of the file instead (a 404 created nothing, so this is no resend).
        stored = (
            Path(source.video_file.path)
            if source_id and source is not None and source.video_file
            else None
        )
        if op == Video.Operation.EDIT:

            def edit(upload: Path | None, video_id: str = "") -> UpstreamVideo:
                return provider.edit(
                    prompt=video.prompt, video_id=video_id, upload=upload, model=model
                )

            return source_gone_upstream(
                lambda: edit(upload, source_id),
                (lambda: edit(stored)) if stored else None,
                provider.name,
            )
        if op == Video.Operation.EXTEND:

            def extend(upload: Path | None, video_id: str = "") -> UpstreamVideo:
                return provider.extend(
                    prompt=video.prompt, seconds=video.segment_seconds, video_id=video_id,
                    upload=upload,
                )  # fmt: skip

            return source_gone_upstream(
                lambda: extend(upload, source_id),
                (lambda: extend(stored)) if stored else None,
                provider.name,
            )
        reference = None
        if video.reference_image:
            with video.reference_image.open("rb") as fh:
                data = fh.read()
            reference = ("reference" + _image_suffix(data), data, _image_type(data))
        return lambda: provider.create(
            prompt=video.prompt, model=model, size=video.size, seconds=video.seconds,
            reference=reference,
        )  # fmt: skip

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
            listed = self.provider.list_recent(
                since=sent - RECONCILE_MARGIN_SECONDS,
                our_clock=True,
                skew_if_unknown=RECONCILE_SKEW_SECONDS,
            )
            matching = [v for v in listed if self.matches(v)]
            taken = set(
                Video.objects.filter(
                    provider=video.provider, provider_job_id__in=[v.id for v in matching]
                )
                .exclude(pk=video.pk)
                .values_list("provider_job_id", flat=True)
            )
            candidates = [v for v in matching if v.id not in taken]
            if len(candidates) > 1:
                logger.warning("video %s: %d upstream jobs match a lost create (%s)", video.pk,
                               len(candidates), ", ".join(v.id for v in candidates))  # fmt: skip
                raise ProviderError(
                    "upstream_outcome_unknown",
                    f"{OUTCOME_UNKNOWN_MESSAGE} {len(candidates)} upstream jobs match it "
                    f"({', '.join(v.id for v in candidates[:5])}).",
                )
            if candidates and self.save_id(candidates[0].id):
                logger.warning("video %s: adopted upstream job %s", video.pk, candidates[0].id)
                return candidates[0].id
        raise ProviderError("upstream_outcome_unknown", OUTCOME_UNKNOWN_MESSAGE)

    def matches(self, upstream: UpstreamVideo) -> bool:
        video = self.video
        model = video.provider_model or video.model
        same = (
            upstream.prompt == video.prompt
            and upstream.size == video.size
            and upstream.seconds == str(video.seconds)
        )
        if video.operation == Video.Operation.REMIX:
            source_id = video.source.provider_job_id if video.source else ""
            return same and upstream.remixed_from_video_id == source_id
        if video.operation == Video.Operation.CREATE:
            return same and upstream.model == model
        return same

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
                upstream = self.provider.retrieve(upstream_id)
            except UpstreamUnavailable as exc:
                failing_since = failing_since or time.monotonic()
                if time.monotonic() - failing_since > UNAVAILABLE_GRACE_SECONDS:
                    raise ProviderError(
                        "upstream_unavailable",
                        f"{exc.message} The upstream job is {upstream_id}.",
                    ) from None
                interval = min(interval * POLL_GROWTH, POLL_MAX)
            except UpstreamHTTPError as exc:
                if exc.status == 404:
                    raise ProviderError(
                        "upstream_job_missing",
                        f"The upstream no longer knows job {upstream_id}.",
                    ) from None
                raise
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
            if not self.progress.owned:
                return False
            if not self.sleep(wait, percent):
                return False

    def sleep(self, seconds: float, percent: int) -> bool:
        """Sleep (a webhook's wake cuts it short), beating the heartbeat; False if the
        attempt stopped being ours."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if wake.wait(self.video.pk, min(left, heartbeat_interval())):
                break
            self.progress(percent)
            if not self.progress.owned:
                return False
        return True

    def hand_over(self) -> None:
        """Give the job back to the queue before the task timeout kills this task."""
        from .services import video_enqueue

        released = Video.objects.filter(
            pk=self.video.pk, attempts=self.attempt, status=Video.Status.IN_PROGRESS
        ).update(status=Video.Status.QUEUED, heartbeat_at=timezone.now())
        if released:
            logger.info("video %s: handing the upstream poll over to a new task", self.video.pk)
            video_enqueue(video_id=self.video.pk)

    # --- assets --------------------------------------------------------------------

    def download(self, upstream_id: str, workdir: Path) -> Assets:
        assets = Assets(
            video=workdir / "video.mp4",
            thumbnail=workdir / "thumbnail.webp",
            spritesheet=workdir / "spritesheet.jpg",
        )
        targets = {"video": assets.video, "thumbnail": assets.thumbnail,
                   "spritesheet": assets.spritesheet}  # fmt: skip
        self.progress(96)
        try:
            with ThreadPoolExecutor(max_workers=3) as pool:
                futures = [
                    pool.submit(self.provider.download, upstream_id, variant, path)
                    for variant, path in targets.items()
                ]
                for future in futures:
                    future.result()
        except UpstreamHTTPError as exc:
            if exc.status == 404:
                raise ProviderError(
                    "upstream_assets_expired",
                    f"The upstream no longer has the files of job {upstream_id} (finished "
                    "assets expire upstream).",
                ) from None
            raise
        verify_assets(assets)
        self.progress(99)
        return assets


def verify_assets(assets: Assets) -> None:
    """Decode what came back: an H.264 (+ AAC) MP4, a WebP and a JPEG."""
    try:
        with av.open(str(assets.video)) as container:
            if not container.streams.video:
                raise ValueError("no video stream")
            stream = container.streams.video[0]
            if stream.codec_context.name != "h264":
                raise ValueError(f"video codec {stream.codec_context.name}")
            if any(a.codec_context.name != "aac" for a in container.streams.audio):
                raise ValueError("audio not AAC")
            if next(container.decode(stream), None) is None:
                raise ValueError("no frame decodes")
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise ProviderError(
            "upstream_invalid_asset", f"The upstream's video is not a playable MP4 ({exc})."
        ) from None
    for path, fmt in ((assets.thumbnail, "WEBP"), (assets.spritesheet, "JPEG")):
        try:
            with Image.open(path) as image:
                if image.format != fmt:
                    raise ValueError(f"{image.format} instead of {fmt}")
                image.load()
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise ProviderError(
                "upstream_invalid_asset", f"The upstream's {path.name} does not decode ({exc})."
            ) from None


def _image_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def _image_suffix(data: bytes) -> str:
    return {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp"}.get(
        _image_type(data), ""
    )
