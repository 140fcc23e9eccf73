"""The housekeeping schedules: on their own queue, and out of the task history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import Failure, Schedule, Success
from django_q.scheduler import scheduler

from videos_app.apps import HOUSEKEEPING_TASKS

pytestmark = pytest.mark.django_db


def test_housekeeping_runs_leave_no_success_rows_in_the_task_history(
    sync_queue: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Conf, "CLUSTER_NAME", settings.HOUSEKEEPING_QUEUE)  # as its cluster
    schedules = Schedule.objects.filter(func__in=HOUSEKEEPING_TASKS)
    assert {s.cluster for s in schedules} == {settings.HOUSEKEEPING_QUEUE}
    schedules.update(next_run=timezone.now() - timedelta(minutes=1))
    scheduler(broker=get_broker())  # sync: each task runs inline, its result saved or not
    ran = Schedule.objects.filter(func__in=HOUSEKEEPING_TASKS, next_run__gt=timezone.now())
    assert ran.count() == len(HOUSEKEEPING_TASKS)  # both ran and were rescheduled
    assert Failure.objects.count() == 0
    assert Success.objects.count() == 0


def test_a_lost_schedule_is_made_again_at_the_next_migrate() -> None:
    """A flush (or an operator's slip) that loses a schedule must not stop the sweep."""
    from django.core.management.sql import emit_post_migrate_signal

    Schedule.objects.filter(func="videos_app.tasks.recover_stale_jobs").delete()
    Schedule.objects.filter(func="videos_app.inbox.tasks.inbox_tick").update(minutes=5)
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")  # as migrate ends
    sweep = Schedule.objects.get(func="videos_app.tasks.recover_stale_jobs")
    assert (sweep.schedule_type, sweep.minutes, sweep.repeats) == ("I", 1, -1)
    assert sweep.cluster == settings.HOUSEKEEPING_QUEUE
    assert sweep.kwargs == "q_options={'save': False}"
    assert Schedule.objects.get(func="videos_app.inbox.tasks.inbox_tick").minutes == 5  # kept
