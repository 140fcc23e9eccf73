"""Running a job on an in-process engine (the embedded renderer)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from studio import storage
from videos_app.models import Video
from videos_app.providers.base import CharacterSpec, InProcessEngine, JobSpec, ProviderError

from .attempt import ProgressWriter, complete, job_attempt, video_job_claim

logger = logging.getLogger(__name__)


def local_job_run(*, video_id: str, engine: InProcessEngine) -> None:
    """Run one job on ``engine`` to the end. Safe to call any number of times."""
    attempt = video_job_claim(video_id=video_id)
    if attempt is None:
        logger.info("video %s is not runnable (finished or running elsewhere)", video_id)
        return
    video = Video.objects.select_related("source").get(pk=video_id)
    # A ProviderError while staging the inputs fails the job with its code.
    with job_attempt(video.pk, attempt, what="renderer") as workdir:
        spec = job_spec(video, workdir)
        ran = time.monotonic()
        assets = engine.run(spec, workdir=workdir, on_progress=ProgressWriter(video.pk, attempt))
        stored = time.monotonic()
        complete(video, attempt, assets)
        # Where the time went (bench/bench_time_to_video.py reads this line).
        logger.info(
            "video %s job: run=%.3fs store=%.3fs",
            video.pk,
            stored - ran,
            time.monotonic() - stored,
        )


def job_spec(video: Video, workdir: Path) -> JobSpec:
    """The engine's job, its stored inputs staged as local files (``storage.stage``)."""
    source_video: Path | None = None
    if video.operation in (Video.Operation.EXTEND, Video.Operation.EDIT):
        source = video.source_upload.name or (video.source.video_file.name if video.source else "")
        try:
            source_video = storage.stage(source, workdir)
        except FileNotFoundError:
            raise ProviderError("source_missing", "The source video no longer exists.") from None
    return JobSpec(
        video_id=video.pk,
        prompt=video.prompt,
        model=video.model,
        width=video.width,
        height=video.height,
        seconds=video.seconds,
        seed=video.seed,
        reference_image=(
            storage.stage(video.reference_image.name, workdir) if video.reference_image else None
        ),
        operation=video.operation,
        source_video=source_video,
        source_prompt=video.source.prompt if video.source else "",
        segment_seconds=video.segment_seconds,
        characters=tuple(
            CharacterSpec(name=c.name, poster=storage.stage(c.poster.name, workdir))
            for c in video.characters.all()
            if c.poster
        ),
    )
