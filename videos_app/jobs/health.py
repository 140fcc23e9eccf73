"""Is the job queue moving? Read by ``manage.py queuehealth`` and ``/healthz/queue``.

The queue is **stalled** when

- jobs have waited (queued) longer than ``stall_after`` while no worker made progress
  in that time (no running job with a fresh heartbeat, nothing finished), or
- work is waiting (queued jobs or broker tasks) and no django-q2 cluster has reported
  (its cluster stats expire seconds after the cluster stops), or
- running jobs' heartbeats have been stale for longer than ``stall_after``: their worker
  died and the sweeper (the ``recover stale jobs`` schedule) is not recovering them.

``/healthz`` stays a cheap liveness check for load balancers; this one runs a few
counting queries.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Min, Q
from django.utils import timezone

from videos_app.models import Video

from .attempt import heartbeat_stale

logger = logging.getLogger(__name__)


def default_stall_after() -> timedelta:
    return timedelta(minutes=getattr(settings, "QUEUE_STALL_MINUTES", 10))


@dataclass
class QueueHealth:
    queue: str  # "ok" | "stalled"
    clusters: int | None  # django-q2 clusters reporting (None: the broker cannot tell)
    queued: int
    oldest_queued_seconds: int | None
    running: int
    stale_running: int
    finished_recently: int
    waiting_tasks: int | None  # tasks in the broker not yet picked up
    stall_after_seconds: int
    reasons: list[str] = field(default_factory=list)

    @property
    def stalled(self) -> bool:
        return self.queue == "stalled"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def queue_health(*, stall_after: timedelta | None = None) -> QueueHealth:
    stall_after = stall_after or default_stall_after()
    now = timezone.now()
    fresh = now - heartbeat_stale()
    counts = Video.objects.aggregate(
        oldest=Min("created_at", filter=Q(status=Video.Status.QUEUED)),
    )
    queued = Video.objects.filter(status=Video.Status.QUEUED)
    old_queued = queued.filter(created_at__lt=now - stall_after).count()
    running = Video.objects.filter(status=Video.Status.IN_PROGRESS, heartbeat_at__gte=fresh)
    stale = Video.objects.filter(status=Video.Status.IN_PROGRESS).filter(
        Q(heartbeat_at__lt=fresh) | Q(heartbeat_at__isnull=True)
    )
    long_stale = stale.filter(
        Q(heartbeat_at__lt=now - heartbeat_stale() - stall_after) | Q(heartbeat_at__isnull=True)
    ).count()
    finished = Video.objects.filter(completed_at__gte=now - stall_after).count()
    oldest = counts["oldest"]
    health = QueueHealth(
        queue="ok",
        clusters=_clusters(),
        queued=queued.count(),
        oldest_queued_seconds=int((now - oldest).total_seconds()) if oldest else None,
        running=running.count(),
        stale_running=stale.count(),
        finished_recently=finished,
        waiting_tasks=_waiting_tasks(),
        stall_after_seconds=int(stall_after.total_seconds()),
    )
    minutes = f"{stall_after.total_seconds() / 60:g} min"
    if old_queued and not health.running and not finished:
        health.reasons.append(
            f"{old_queued} job(s) queued for more than {minutes} and no worker made progress"
        )
    waiting = health.queued + (health.waiting_tasks or 0)
    if health.clusters == 0 and waiting:
        health.reasons.append("work is waiting and no worker cluster is running")
    if long_stale:
        health.reasons.append(
            f"{long_stale} running job(s) lost their worker more than {minutes} ago and were "
            "not recovered (is the 'recover stale jobs' schedule running?)"
        )
    if health.reasons:
        health.queue = "stalled"
    return health


def _clusters() -> int | None:
    try:
        from django_q.status import Stat

        return len(Stat.get_all())
    except Exception:  # the broker is down or cannot say
        logger.warning("could not read the cluster stats", exc_info=True)
        return None


def _waiting_tasks() -> int | None:
    try:
        from django_q.brokers import get_broker

        return int(get_broker().queue_size() or 0)
    except Exception:
        logger.warning("could not read the broker's queue size", exc_info=True)
        return None
