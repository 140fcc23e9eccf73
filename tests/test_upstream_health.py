"""Queue health: ``manage.py queuehealth`` and ``/healthz/queue``."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from tests.factories import make_video
from videos_app.jobs import health
from videos_app.models import Video

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_broker() -> None:
    """Start from an empty task queue. The ORM broker's rows go with each test's
    transaction, but on the Redis broker (the suite's second pass) tasks that earlier
    tests queued without running them are still there."""
    from django_q.brokers import get_broker

    get_broker().purge_queue()


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many django-q2 clusters report (the live test reads real cluster stats)."""
    running = [1]
    monkeypatch.setattr(health, "_clusters", lambda: running[0])
    return running


def old(minutes: int) -> Any:
    return timezone.now() - timedelta(minutes=minutes)


def test_an_idle_queue_is_ok(cluster: list[int]) -> None:
    response = Client().get("/healthz/queue")
    assert response.status_code == 200
    body = response.json()
    assert body["queue"] == "ok" and body["reasons"] == [] and body["clusters"] == 1
    assert response["Cache-Control"].startswith("max-age=0")
    out = StringIO()
    call_command("queuehealth", stdout=out)
    assert out.getvalue().startswith("queue: ok")
    assert "queued: 0, running: 0" in out.getvalue()  # no "oldest unknown s" when none waits


def test_jobs_waiting_with_no_worker_progress_are_a_stall(cluster: list[int]) -> None:
    waiting = make_video()
    Video.objects.filter(pk=waiting.pk).update(created_at=old(30))
    response = Client().get("/healthz/queue")
    assert response.status_code == 503
    body = response.json()
    assert body["queue"] == "stalled" and body["queued"] == 1
    assert body["oldest_queued_seconds"] >= 30 * 60
    assert "1 job(s) queued for more than 10 min" in body["reasons"][0]
    with pytest.raises(CommandError, match="stalled: 1 job"):
        call_command("queuehealth", stdout=StringIO())
    # A longer allowance in the command: not stalled yet.
    call_command("queuehealth", "--minutes", "60", stdout=StringIO())


def test_a_worker_making_progress_is_not_a_stall(cluster: list[int]) -> None:
    waiting = make_video()
    Video.objects.filter(pk=waiting.pk).update(created_at=old(30))
    make_video(status=Video.Status.IN_PROGRESS, heartbeat_at=timezone.now())
    out = StringIO()
    call_command("queuehealth", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert (report["queue"], report["running"], report["queued"]) == ("ok", 1, 1)


def test_no_cluster_while_work_waits_is_a_stall(cluster: list[int]) -> None:
    cluster[0] = 0
    assert Client().get("/healthz/queue").status_code == 200  # nothing waits
    make_video()
    response = Client().get("/healthz/queue")
    assert response.status_code == 503
    assert response.json()["reasons"] == ["work is waiting and no worker cluster is running"]


def test_dead_jobs_left_unrecovered_are_a_stall(cluster: list[int]) -> None:
    make_video(
        status=Video.Status.IN_PROGRESS, heartbeat_at=timezone.now() - timedelta(seconds=100)
    )
    assert Client().get("/healthz/queue").json()["stale_running"] == 1
    assert Client().get("/healthz/queue").status_code == 200  # the sweeper has time yet
    make_video(status=Video.Status.IN_PROGRESS, heartbeat_at=old(60))
    response = Client().get("/healthz/queue")
    assert response.status_code == 503 and "not recovered" in response.json()["reasons"][0]


def test_the_broker_and_cluster_stats_are_read_for_real() -> None:
    """No cluster runs in this process: the stats say so, and the ORM broker counts tasks."""
    make_video()
    from django_q.tasks import async_task

    async_task("videos_app.tasks.recover_stale_jobs")
    report = health.queue_health()
    assert report.clusters == 0 and report.waiting_tasks == 1
    assert report.stalled


def test_healthz_stays_cheap(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        assert Client().get("/healthz").status_code == 200
