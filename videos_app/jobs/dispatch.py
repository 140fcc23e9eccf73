"""Running a video job: decide its engine once, then hand it to that engine's runner."""

from __future__ import annotations

import logging

from videos_app.models import Video
from videos_app.providers.base import RemoteEngine
from videos_app.providers.catalog import get_provider

from .attempt import job_attempt, video_job_claim
from .local import local_job_run
from .remote import remote_job_run

logger = logging.getLogger(__name__)


def video_job_run(*, video_id: str) -> None:
    """Run one video job to the end. Safe to call any number of times for the same id."""
    name = Video.objects.filter(pk=video_id).values_list("provider", flat=True).first()
    if name is None:
        return  # deleted before its task ran
    try:
        engine = get_provider(name)
    except LookupError as exc:
        _fail_unrunnable(video_id, exc)
        return
    if isinstance(engine, RemoteEngine):
        try:
            remote_job_run(video_id=video_id, engine=engine)
        finally:
            engine.close()
    else:
        local_job_run(video_id=video_id, engine=engine)


def _fail_unrunnable(video_id: str, exc: LookupError) -> None:
    """A provider that is gone (or of a kind no longer registered) fails the job, if the
    job is still this worker's to run, as an internal error (the operator's to fix)."""
    attempt = video_job_claim(video_id=video_id)
    if attempt is None:
        return
    with job_attempt(video_id, attempt, what="renderer"):
        raise exc
