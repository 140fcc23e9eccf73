from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class VideosConfig(AppConfig):
    name = "videos_app"
    verbose_name = "Videos"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .accounts import auth  # noqa: F401  (connects the user cache's signal receivers)
        from .providers.catalog import seed_routes

        post_migrate.connect(_repair_search_index, sender=self)
        post_migrate.connect(seed_routes, sender=self, dispatch_uid="seed_routes")
        post_migrate.connect(_housekeeping_schedules, sender=self, dispatch_uid="housekeeping")
        from .jobs.signals import video_finished
        from .webhooks.outbound import on_video_finished

        video_finished.connect(on_video_finished, dispatch_uid="webhooks_out")
        from django.db.models.signals import post_delete

        from .api.cursors import remember_deleted
        from .models import Video

        post_delete.connect(remember_deleted, sender=Video, dispatch_uid="list_cursor")
        _connect_stacks()
        _connect_inbox()


def _connect_stacks() -> None:
    """Every saved video joins a stack; a deleted latest version hands the card on."""
    from django.db.models.signals import post_delete, pre_save

    from .models import Video
    from .stacks import receivers

    pre_save.connect(receivers.on_video_saving, sender=Video, dispatch_uid="stack_place")
    post_delete.connect(receivers.on_video_deleted, sender=Video, dispatch_uid="stack_mend")


def _connect_inbox() -> None:
    """The inbox hears comments, mentions, review events and finished jobs."""
    from django.db.models.signals import m2m_changed, post_save

    from .inbox import receivers
    from .jobs.signals import video_finished
    from .models import Comment, ReviewEvent

    post_save.connect(receivers.on_comment_saved, sender=Comment, dispatch_uid="inbox_comment")
    m2m_changed.connect(
        receivers.on_mentions_added, sender=Comment.mentions.through, dispatch_uid="inbox_mention"
    )
    post_save.connect(receivers.on_review_event, sender=ReviewEvent, dispatch_uid="inbox_review")
    video_finished.connect(receivers.on_video_finished, dispatch_uid="inbox_job")


def _repair_search_index(using: str = "default", **kwargs: object) -> None:
    """A later migration that alters the video table on SQLite drops the search triggers."""
    from django.db import connections

    from .search import ensure_sqlite_index
    from .usage.totals import ensure_sqlite_triggers

    ensure_sqlite_index(connections[using])
    ensure_sqlite_triggers(connections[using])  # the usage line's totals: the same fate


# Each housekeeping task and its schedule's name (the migrations that added them used it).
HOUSEKEEPING_SCHEDULES = {
    "videos_app.tasks.recover_stale_jobs": "studio: recover stale jobs",
    "videos_app.webhooks.tasks.webhooks_tick": "studio: webhook retries",
    "videos_app.inbox.tasks.inbox_tick": "studio: inbox emails",
}
HOUSEKEEPING_TASKS = tuple(HOUSEKEEPING_SCHEDULES)


# Their runs succeed every minute: kept, they would bury the renders in the admin's task
# history (a failed run is still kept).
HOUSEKEEPING_SCHEDULE_KWARGS = "q_options={'save': False}"


def _housekeeping_schedules(using: str = "default", **kwargs: object) -> None:
    """Each housekeeping task has its schedule (one lost from the database, e.g. by a
    flush, is made again: without the sweep a dead worker's jobs would wait forever), on
    the housekeeping queue (this studio's name), its successful runs kept out of the task
    history. An operator's own interval is left as it is."""
    from django.conf import settings
    from django.db.models import Q
    from django_q.models import Schedule

    schedules = Schedule.objects.using(using)
    for func, name in HOUSEKEEPING_SCHEDULES.items():
        if not schedules.filter(func=func).exists():
            schedules.create(
                name=name,
                func=func,
                schedule_type=Schedule.MINUTES,
                minutes=1,
                repeats=-1,
                cluster=settings.HOUSEKEEPING_QUEUE,
                kwargs=HOUSEKEEPING_SCHEDULE_KWARGS,
            )
    schedules.filter(func__in=HOUSEKEEPING_TASKS).filter(
        ~Q(cluster=settings.HOUSEKEEPING_QUEUE) | ~Q(kwargs=HOUSEKEEPING_SCHEDULE_KWARGS)
    ).update(cluster=settings.HOUSEKEEPING_QUEUE, kwargs=HOUSEKEEPING_SCHEDULE_KWARGS)
