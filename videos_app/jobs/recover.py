"""The stale-job sweep (the ``recover stale jobs`` schedule, ``manage.py recoverjobs``)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from videos_app.models import Video

from .attempt import heartbeat_stale

logger = logging.getLogger(__name__)

# A queued job is presumed lost (and queued again) after this long without news.
QUEUED_RETRY = timedelta(minutes=10)


def video_jobs_recover() -> list[str]:
    """Queue again every job whose worker died, and every queued job whose task was lost.

    A running job is lost when its heartbeat goes stale. A queued job's task can be lost
    too (the Redis broker drops a task whose worker was killed), but a queued job may
    also just be waiting its turn behind a long queue: it is queued again only after
    ``QUEUED_RETRY`` without news, and at most once per that window (``heartbeat_at``
    of a queued row records when it was last queued). Claiming is conditional, so a job
    queued twice still runs once.
    """
    from videos_app.services import video_enqueue

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
