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

from videos_app.models import Provider, Video
from videos_app.providers import registry

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


# --- GPU workers ------------------------------------------------------------------------

NO_GPU_WORKER = "no GPU worker is running"


def gpu_stat_key() -> str:
    """Where GPU clusters report (``manage.py worker --gpu``), apart from the renders'."""
    return f"django_q:{settings.QUEUE_NAME}:gpu"


def gpu_clusters() -> int | None:
    """How many GPU clusters report now (None: the broker cannot tell)."""
    try:
        from django_q.brokers import Broker, get_broker

        broker = get_broker()
        key = gpu_stat_key()
        if type(broker).get_stats is not Broker.get_stats:  # Redis: the stats' keys by pattern
            return len(broker.get_stats(f"{key}:*") or [])
        # The ORM broker keeps a list of stats keys in the cache; each expires on its own.
        cache = broker.cache
        if cache is None:
            return None
        return sum(1 for stat in cache.get(key) or [] if cache.get(stat) is not None)
    except Exception:
        logger.warning("could not read the GPU cluster stats", exc_info=True)
        return None


def waiting_reason(*, status: str, provider: str) -> str:
    """Why a queued job may wait for good ("" when it is just in line): its engine runs
    on a GPU and no GPU worker reports."""
    if status != Video.Status.QUEUED:
        return ""
    kind = Provider.objects.filter(name=provider).values_list("kind", flat=True).first()
    if not kind or not registry.runs_on_gpu(kind):
        return ""
    return NO_GPU_WORKER if gpu_clusters() == 0 else ""
