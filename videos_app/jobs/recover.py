"""The stale-job sweep (the ``recover stale jobs`` schedule, ``manage.py recoverjobs``)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from videos_app.models import Provider, Video
from videos_app.providers import registry

from .attempt import heartbeat_stale

logger = logging.getLogger(__name__)

# A queued job is presumed lost (and queued again) after this long without news.
QUEUED_RETRY = timedelta(minutes=10)
# ... or after this long when the broker holds no task at all: then its task cannot be
# waiting in line (it was lost with a restarted Redis, acknowledged as failed during a
# database outage, or locked by a cluster that died), so it is queued again at the next
# sweep instead of ten minutes later. At worst a task still sitting in a live cluster's
# small prefetch buffer gets a twin, which finds the row taken and ends. Ten seconds is
# ample for a task just taken from the broker to claim its row (milliseconds).
QUEUED_RETRY_WHEN_EMPTY = timedelta(seconds=10)


def orphaned_tasks_release() -> int:
    """Make the ORM broker's taken tasks of this queue available again (at worker start).

    A task the broker handed out is locked until its retry time; a cluster that died
    holding it cannot run it, and nothing else would for that long. The Redis broker
    keeps no such lock (a task taken is simply gone: the sweep finds those).
    """
    from django_q.brokers import get_broker
    from django_q.conf import Conf
    from django_q.models import OrmQ

    if not Conf.ORM:
        return 0
    now = timezone.now()
    return (
        OrmQ.objects.using(Conf.ORM)
        .filter(key=get_broker().list_key, lock__gt=now)
        .update(lock=now)
    )


def broker_is_empty(queue: str | None = None) -> bool:
    """Whether the broker's queue (default: this cluster's) holds no task that a worker
    could take now."""
    from django_q.brokers import get_broker

    return get_broker(queue).queue_size() == 0


def video_jobs_recover() -> list[str]:
    """Queue again every job whose worker died, and every queued job whose task was lost.

    A running job is lost when its heartbeat goes stale. A queued job's task can be lost
    too (the Redis broker drops a task whose worker was killed), but a queued job may
    also just be waiting its turn behind a long queue: it is queued again only after
    ``QUEUED_RETRY`` without news (``QUEUED_RETRY_WHEN_EMPTY`` when the broker holds no
    task, so nothing can be ahead of it), and at most once per that window
    (``heartbeat_at`` of a queued row records when it was last queued). Claiming is
    conditional, so a job queued twice still runs once.
    """
    from videos_app.services import video_enqueue

    now = timezone.now()
    # Each queue's own broker says whether a queued job can be waiting in line: a GPU
    # job behind a long GPU render is, whatever the render queue holds.
    gpu = Q(provider__in=Provider.objects.filter(kind__in=registry.gpu_kinds()).values("name"))
    lost_queued = (_queued_lost(now, settings.QUEUE_NAME) & ~gpu) | (
        _queued_lost(now, settings.GPU_QUEUE) & gpu
    )
    stale = Video.objects.filter(
        Q(status=Video.Status.IN_PROGRESS, heartbeat_at__lt=now - heartbeat_stale()) | lost_queued
    ).values_list("pk", flat=True)
    ids = list(stale[:500])
    for video_id in ids:
        logger.warning("requeueing video %s: its worker or task was lost", video_id)
        Video.objects.filter(pk=video_id, status=Video.Status.QUEUED).update(heartbeat_at=now)
        video_enqueue(video_id=video_id)
    return ids


def _queued_lost(now: datetime, queue: str) -> Q:
    """Queued jobs of ``queue`` whose task is presumed lost (see video_jobs_recover)."""
    empty = broker_is_empty(queue)
    waited = now - (QUEUED_RETRY_WHEN_EMPTY if empty else max(QUEUED_RETRY, heartbeat_stale()))
    return Q(status=Video.Status.QUEUED, heartbeat_at__lt=waited) | Q(
        status=Video.Status.QUEUED, heartbeat_at__isnull=True, created_at__lt=waited
    )
